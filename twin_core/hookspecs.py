"""Every hook a plugin can implement, in the order a run calls them.

A plugin is a module (or object) with functions decorated by ``twin_core.hookimpl`` and
named like the specifications below. It may accept fewer arguments than a specification
lists (pluggy passes only the ones it asks for), so hooks only ever grow by new arguments
and old plugins keep working. A function named ``orbitwin_*`` that matches no
specification here is an error when the plugin is loaded.

Calling rules: unless a hook says *first result*, every plugin's implementation is called
and the core collects the non-``None`` results in a list. A hook that raises stops the run
with a message naming the plugin and the hook.

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
        CommonSeries,
        MassItem,
        Metric,
        PowerItem,
        SatelliteTable,
        Stage,
        ValidRange,
        Variable,
    )
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

    Args:
        scenario: the loaded scenario.

    Returns:
        The number of satellites, or ``None`` if this plugin does not define the
        constellation.
    """


@hookspec(firstresult=True)
def orbitwin_satellites(scenario: Scenario) -> SatelliteTable | None:
    """Say how many satellites the constellation has and which orbital plane each is in.

    Called once per run, before variables are allocated. First result: the first plugin
    returning a table decides (the built-in ``orbit`` plugin does).

    Args:
        scenario: the loaded scenario.

    Returns:
        A `SatelliteTable`, or ``None`` if this plugin does not define the constellation.
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
        A list of `Variable`, or ``None``/``[]`` when the scenario does not use this plugin.
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


# --------------------------------------------------------------------------------------
# Starting a run: fields are allocated
# --------------------------------------------------------------------------------------


@hookspec
def orbitwin_initial_state(scenario: Scenario, state: State) -> None:
    """Fill this plugin's parameters and the initial values of its states.

    Called once per run after the fields are allocated and before the first kernel launch,
    in plugin registration order. Use ``state.set(name, array)`` with arrays of the full
    constellation's length (``state.n_total``); the state keeps the rows of its own shard.
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

    Args:
        scenario: the loaded scenario.
        state: the run's `State`.

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
