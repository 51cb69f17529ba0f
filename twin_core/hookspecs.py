"""Every hook a plugin can implement, in the order a run calls them.

A plugin is a module (or object) with functions decorated by ``twin_core.hookimpl`` and
named like the specifications below. It may accept fewer arguments than a specification
lists (pluggy passes only the ones it asks for), so hooks only ever grow by new arguments
and old plugins keep working. Names starting with ``orbitwin_`` are kept for hooks: a
hook implementation whose name matches no specification, or a function named like a hook
(or spelt close to one) without ``@hookimpl``, which would otherwise never be called, is
reported when the plugin is loaded, with the closest hook name. An installed plugin with
such a problem (or one that fails to import) is left out with one warning, and listed as
broken by ``orbitwin plugins``; a module given with ``--plugin`` is an error instead.

Calling rules: unless a hook says *first result*, every plugin's implementation is called
and the core collects the non-``None`` results in a list. A hook that raises stops the run
with a message naming the plugin and the hook.

Calling order: plugins are called in registration order, which is fixed: the built-in
plugins first (orbit, environment, solar, battery, power, payload, thermal), then the
other installed plugins sorted by entry-point name, then the ``--plugin`` modules in the
order given on the command line. So a plugin's ``orbitwin_initial_state`` sees what the
built-ins set (the orbit's elements), and results (variables, stages, contributions)
come in that order, which also breaks ties between stages. A plugin that needs another
place marks its implementation ``@hookimpl(tryfirst=True)`` (called before every
unmarked implementation) or ``@hookimpl(trylast=True)`` (after them); within each group,
registration order holds.

A *first result* hook takes one answer: when two plugins answer it (a second plugin
defining the constellation beside the built-in orbit), the run stops naming both, unless
the first of them marked its implementation ``tryfirst`` and the other did not, which
takes the hook over on purpose.

The reference page ``docs/hooks.md`` is checked against this module by a test, so the
two never drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

hookspec = pluggy.HookspecMarker("orbitwin")

if TYPE_CHECKING:  # pragma: no cover
    import click

    from twin_core.declarations import (
        Axis,
        CaseResult,
        CommonSeries,
        Contribution,
        MassItem,
        Metric,
        PowerItem,
        SatelliteTable,
        Stage,
        ValidRange,
        Variable,
    )
    from twin_core.observed import Anchor
    from twin_core.scenario import Scenario
    from twin_core.state import State


# --------------------------------------------------------------------------------------
# Configuration: before any scenario is read
# --------------------------------------------------------------------------------------


@hookspec
def orbitwin_config_sections() -> dict[str, type]:
    """Declare the scenario sections this plugin reads.

    Called once when a scenario is loaded, before the file is parsed into objects.

    Returns:
        A mapping from a top-level TOML table name (``"orbit"``) to a frozen attrs class
        that cattrs structures the table into. Unknown keys in the table are errors; the
        class's validators (see ``twin_core.validators``) check ranges. If the table is
        absent from the scenario, the class is built from its defaults; a class with a
        required field is then left unconfigured and ``scenario.section(name)`` returns
        ``None``. Two plugins may not claim the same table.
    """


# --------------------------------------------------------------------------------------
# Building a run: after the scenario is loaded, before taichi fields exist
# --------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def orbitwin_satellite_count(scenario: Scenario) -> int | None:
    """Say how many satellites ``orbitwin_satellites`` would return, without building them.

    Called before anything per satellite exists, so that a run too large for the machine
    is refused in a moment from the scenario alone (`twin_core.plan.preflight`), not
    after minutes of building arrays. First result. Answer from the scenario's tables
    (a sum of shell sizes), allocating nothing per satellite; return the same count
    ``orbitwin_satellites`` will (the core checks). A plugin that defines the
    constellation but not this hook still works: its table is built before the check.
    Two plugins answering is an error, as for ``orbitwin_satellites``.

    Args:
        scenario: the loaded scenario.

    Returns:
        The number of satellites, or ``None`` if this plugin does not define the
        constellation.
    """


@hookspec(firstresult=True)
def orbitwin_satellites(scenario: Scenario) -> SatelliteTable | None:
    """Say how many satellites the constellation has and which orbital plane each is in.

    Called once per run, before variables are allocated. First result: one plugin
    answers (the built-in ``orbit`` plugin, from ``[orbit]``); a second plugin answering
    too is an error naming both, unless its implementation is marked
    ``@hookimpl(tryfirst=True)`` to replace the constellation on purpose (then mark its
    ``orbitwin_satellite_count`` too, so that the two hooks agree).

    Args:
        scenario: the loaded scenario.

    Returns:
        A `SatelliteTable`, or ``None`` if this plugin does not define the constellation.
    """


@hookspec
def orbitwin_axes(scenario: Scenario) -> list[Axis] | None:
    """Declare axes other than satellites: links between satellites, in slots.

    Called once per run, after the constellation is known (``orbitwin_satellites``) and
    before variables are allocated; the sharded run's coordinator and every shard call it
    and must get the same answer, so build the link list deterministically from the
    scenario (a topology, positions at the epoch). Each axis name is declared by one
    plugin. Variables on the axis (`Variable.axis`) and stages over it (`Stage.over`)
    may come from any plugin.

    Args:
        scenario: the loaded scenario.

    Returns:
        A list of `Axis`, or ``None``.
    """


@hookspec
def orbitwin_variables(scenario: Scenario) -> list[Variable] | None:
    """Declare the per-satellite variables this plugin owns.

    Called once per run, before the engine allocates one taichi field per variable.
    A plugin declares only the variables it writes (or, for parameters, fills in
    ``orbitwin_initial_state``). Two plugins declaring the same name is an error naming
    both.

    Also called with ``scenario=None`` by ``orbitwin plugins`` to list what the plugin
    can provide: return every variable you may declare.

    Args:
        scenario: the loaded scenario, or ``None`` for a listing.

    Returns:
        A list of `Variable` (and `Combined` for a quantity other plugins contribute
        to, which the engine writes), or ``None``/``[]`` when the scenario does not use
        this plugin.
    """


@hookspec
def orbitwin_contributions(scenario: Scenario) -> list[Contribution] | None:
    """Add this plugin's shares to quantities other plugins declare as `Combined`: a
    load on the bus (``power.bus_demand_w``), heat into the thermal node
    (``thermal.heat_in_w``), a limit on the accelerators' power state
    (``payload.requested_state``) or their availability (``payload.available_fraction``).

    Called once per run after ``orbitwin_variables``. The engine folds the
    contributions in plugin order, then list order, inside the fused kernel, after
    each contributing variable is written; a contribution to a quantity no loaded plugin
    declares is left out. Adding a constraint this way needs no change to the plugin
    that owns the quantity.

    Args:
        scenario: the loaded scenario.

    Returns:
        A list of `Contribution`, or ``None``/``[]``.
    """


@hookspec
def orbitwin_common_series(scenario: Scenario) -> list[CommonSeries] | None:
    """Declare quantities that depend on time only (the Sun's direction, say).

    Called once per run, with ``orbitwin_variables``. The engine evaluates each series on
    the host for the steps of every kernel launch; stages read it by step index.

    Also called with ``scenario=None`` by ``orbitwin plugins`` (as ``orbitwin_variables``).

    Args:
        scenario: the loaded scenario, or ``None`` for a listing.

    Returns:
        A list of `CommonSeries`, or ``None``.
    """


@hookspec
def orbitwin_metrics(scenario: Scenario) -> list[Metric] | None:
    """Declare constellation totals, kept at every step.

    Called once per run, after variables are declared; a metric may reduce any plugin's
    variable. The engine reduces each over the satellites and stores it in the group
    ``constellation`` at the epoch and after every step (``duration / step_s + 1``
    samples), or only at the record times with ``[output] metrics_every_step = false``.

    Args:
        scenario: the loaded scenario.

    Returns:
        A list of `Metric`, or ``None``.
    """


@hookspec
def orbitwin_validity(scenario: Scenario) -> list[ValidRange] | None:
    """State the dates over which this plugin's models hold what their documentation claims.

    Called by ``orbitwin validate`` and before a run, with the declarations. The core
    compares each range with the run's span (``scenario.epoch`` to its end) and warns,
    naming the key, when the run leaves it; a range with ``refuse=True`` stops the run
    instead. (The store's own range, what its time coordinate can encode, is checked by
    the core when the scenario is read.) Two plugins may state the same model: it is
    reported once. Allocate nothing per satellite.

    Args:
        scenario: the loaded scenario.

    Returns:
        A list of `ValidRange`, or ``None``.
    """


@hookspec(firstresult=True)
def orbitwin_observed_state(scenario: Scenario, variable: str) -> Anchor | str | None:
    """Say how an observed value of ``variable`` sets this plugin's states, for a run
    started from telemetry (``orbitwin run --from-telemetry``, `twin_core.observed`).

    First result. Called once per variable the telemetry file gives, before the run is
    built; the values themselves (the latest at or before the epoch of each satellite that
    reported) go to the functions of the `Anchor` returned, not to the hook. Answer for
    the variables whose meaning you know; return ``None`` for any other. A variable no
    plugin answers is used as it is when it is a scalar per-satellite state
    (``thermal.temperature_k``; any finite value, or above 0 K in K), and left out with
    a note otherwise. Telemetry may only name variables some loaded plugin declares: a
    quantity only ever observed (a tank's fill fraction) is declared as an output.

    Args:
        scenario: the loaded scenario.
        variable: the telemetry's variable: the name of a per-satellite variable a
            loaded plugin declares, with ``[i]`` for a vector's component
            (``orbit.r_eci_m[0]``).

    Returns:
        A `twin_core.Anchor` (`twin_core.observed.Anchor`: ``Anchor(states, valid=None,
        expected="")``; ``states`` maps each variable of this plugin to set, at least one
        of them a state, to a function from the observed values, a float64 array with
        one value per reporting satellite, to that variable's values; ``valid`` is the
        inclusive range of observed values accepted. The battery sets
        ``battery.energy_j`` from ``battery.soc`` and accepts ``[min_soc, 1]``); or a
        string saying why the variable sets nothing here (shown to the user: the orbit
        says that positions come from element sets); or ``None``. An Anchor that sets
        another plugin's variables, or only outputs, is a `BuildError`; a function that
        raises is the plugin's failure (exit 3).
    """


# --------------------------------------------------------------------------------------
# Starting a run: fields are allocated
# --------------------------------------------------------------------------------------


@hookspec
def orbitwin_initial_state(scenario: Scenario, state: State) -> None:
    """Fill this plugin's parameters and the initial values of its states.

    Called once per run after the fields are allocated and before the first kernel launch,
    in plugin registration order (the built-ins first: a third-party plugin may read the
    values they set, the orbit's elements say, with ``state.get``; see the calling order
    above). Use ``state.set(name, array)`` with arrays of the full constellation's length
    (``state.n_total``); the state keeps the rows of its own shard.
    Outputs need no initial value: the engine evaluates every stage once at the epoch with
    ``dt = 0`` before the first record.

    Args:
        scenario: the loaded scenario.
        state: the run's `State` (variables, fields, shard bounds).
    """


@hookspec
def orbitwin_stages(scenario: Scenario, state: State) -> list[Stage] | None:
    """Return this plugin's per-satellite stages for the fused kernel.

    Called once per run after the fields are allocated. Each `Stage` wraps a
    ``taichi.func`` built here, closing over the fields it needs
    (``state.field(name)``) and over scenario constants as Python numbers, which taichi
    compiles in as literals. The engine orders all stages by what they read and write
    and composes them into one kernel.

    Checked at build, before anything runs (`twin_core.stagecheck`; ``orbitwin validate``
    makes the same checks over placeholder fields): the function's signature is ``(i,
    k, t, dt)``; every field it assigns (``f[i] = ...``, also inside the ``ti.func`` helpers it
    calls) is in ``writes``; every other field it closes over is in ``reads``,
    ``reads_previous`` or ``writes`` (parameters and common series may be read
    undeclared, never written). Fetch a field only where a stage uses it. A stage taichi
    cannot compile is reported naming the plugin and stage (`StageError`, exit 3).

    Args:
        scenario: the loaded scenario.
        state: the run's `State` (``orbitwin validate`` passes a dry one whose fields
            are placeholders: build the stages, do not read values here).

    Returns:
        A list of `Stage`, or ``None``.
    """


# --------------------------------------------------------------------------------------
# Budgets: outside the time loop (``orbitwin budget``, launch and cost plugins)
# --------------------------------------------------------------------------------------


@hookspec
def orbitwin_mass_budget(scenario: Scenario) -> list[MassItem] | None:
    """Report the mass this plugin's hardware adds to one satellite.

    Called by ``orbitwin budget`` and by plugins that need the satellite's mass (launch,
    cost). Every item names the source of its figure.

    Args:
        scenario: the loaded scenario.

    Returns:
        A list of `MassItem`, or ``None``.
    """


@hookspec
def orbitwin_power_budget(scenario: Scenario) -> list[PowerItem] | None:
    """Report this plugin's nominal power sources and loads for one satellite.

    Called by ``orbitwin budget``. Sources are positive, loads negative, at the nominal
    operating point the plugin documents (array in full sun, payload training).

    Args:
        scenario: the loaded scenario.

    Returns:
        A list of `PowerItem`, or ``None``.
    """


# --------------------------------------------------------------------------------------
# After a run and on the command line
# --------------------------------------------------------------------------------------


@hookspec
def orbitwin_finish_store(scenario: Scenario, store: Any) -> None:
    """Add results that need the whole run's records, once every record is written.

    Called once per run, after the last record is in the store (for a sharded run, by
    the coordinator once every shard is done) and before the store is marked complete:
    quantities no step can fold satellite by satellite, such as the connected components
    of the link graph at each record. Write new arrays only (``store[group].create_array``,
    overwriting a previous attempt's, since a resumed run calls it again), computed from
    the store alone, so sharded and unsharded runs give the same bytes.

    Args:
        scenario: the loaded scenario.
        store: the run's ``zarr.Group``, writable.
    """


@hookspec
def orbitwin_case_results(scenario: Scenario, store: Any) -> list[CaseResult] | None:
    """Sum up a finished run in a few numbers: what a sweep (``orbitwin sweep``) keeps
    of each case, beside the varied inputs.

    Called once per finished, complete store (for a sweep, by the worker that ran the
    case, right after the run), with the scenario the run was made from. Compute from the
    store alone and the scenario, deterministically, so a case gives the same numbers
    whichever worker ran it. Raise `twin_core.UserError` for a scenario whose inputs
    make the numbers meaningless (the sweep records the error against the case).

    Args:
        scenario: the loaded scenario of the run (the case's, with its varied values).
        store: the run's ``zarr.Group`` (read-only).

    Returns:
        A list of `CaseResult`, or ``None`` when this plugin has nothing to add.
    """


@hookspec
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    """Add lines to the summary of a finished run (``orbitwin info``).

    Called by ``orbitwin info`` with the open zarr root group of a run; read it with
    zarr or xarray. Only the rows this plugin can compute from what the run recorded.

    Args:
        store: the run's ``zarr.Group`` (read-only).

    Returns:
        A list of ``(label, value_with_units)`` string pairs, or ``None``.
    """


@hookspec
def orbitwin_cli(group: click.Group) -> None:
    """Add commands to the ``orbitwin`` command line.

    Called once when the command line starts, before arguments are parsed.

    Args:
        group: the top-level click group; call ``group.add_command(...)``.
    """
