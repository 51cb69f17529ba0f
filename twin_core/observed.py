"""Starting a run from telemetry (``orbitwin run --from-telemetry TEL``): the twin
predicts forward from what the satellites last reported, not from the scenario's
initial values.

What happens:

1. The telemetry is read as ``orbitwin compare`` reads it (`twin_core.telemetry`: the
   long format, satellites by name, catalog number or ``#index``, units converted), but
   against the run about to start: its satellites and per-satellite variables. Rows after
   the scenario's epoch, and rows more than `MAX_AGE_S` before it, are skipped and
   counted.
2. For each satellite and variable the *latest* row at or before the epoch is the
   observation (the later row in the file when two share a time).
3. Each observed variable is offered to the plugins (``orbitwin_observed_state``, first
   result): a plugin answers with an `Anchor` (which of its states the value sets, how,
   and the values it accepts) or with the reason it does not use it. A variable no plugin
   answers is used as it is when it is a scalar per-satellite *state* (a temperature,
   say); any other is left out with the reason. The battery anchors
   ``battery.energy_j`` to ``battery.soc``; the orbit leaves positions out: a satellite's
   orbit comes from its element sets, so fresh ones (``kind = "tle"``) re-anchor it.
4. A value an anchor does not accept is an error naming the file, the line and the
   range; two variables setting one state is an error too.
5. The engine sets the observed satellites' rows of those states after every plugin's
   ``orbitwin_initial_state`` and before the first step; the others keep the scenario's
   values.

The store records the file's path and SHA-256 and what was set
(`Observed.identity`, root attribute ``from_telemetry``); ``--resume`` of such a run
needs the same file again, unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import attrs
import numpy as np

from twin_core.errors import BuildError, PluginError, UserError

if TYPE_CHECKING:  # pragma: no cover
    from twin_core.pluginmanager import OrbitwinPluginManager
    from twin_core.plan import RunPlan
    from twin_core.state import State

#: Rows older than this before the epoch are skipped [s]: a state a year old says little
#: about today's.
MAX_AGE_S = 366 * 86400.0
#: An observation older than this is used, with a warning [s].
STALE_S = 86400.0


@attrs.frozen
class Anchor:
    """How a plugin sets its states from an observed variable (``orbitwin_observed_state``).

    Example (the battery's)::

        from twin_core import Anchor

        @hookimpl
        def orbitwin_observed_state(scenario, variable):
            cap = scenario.section("battery").capacity_j
            if variable == "battery.soc":
                return Anchor({"battery.energy_j": lambda soc: soc * cap,
                               "battery.soc": lambda soc: soc},
                              valid=(0.6, 1.0), expected="a state of charge from 0.6 to 1")
            return None

    Attributes:
        states: variable name -> function. The function takes the observed values (a
            float64 numpy array, one per satellite that reported, in the observed
            variable's units after any ``units`` column's conversion) and returns that
            variable's values for the same satellites (an array of the same shape). The
            variables must be per-satellite variables this plugin declares, at least one
            of them a state; an output set beside it is the value stages see as its
            previous one at the epoch (the battery sets ``battery.soc``, which the
            payload's policy reads).
        valid: ``(low, high)``, inclusive, in the observed variable's units: observed
            values outside are refused, naming the file and line; ``None`` accepts any
            finite value. Answer for your own state with a range (``Anchor({"x.mass_kg":
            lambda m: m}, valid=(0, cap))``) to bound what the default, which sets a
            scalar state as observed, would accept.
        expected: what a valid value is, in words, for that error (``"a state of charge
            from [battery] min_soc = 0.2 to 1"``); without it, ``"a value from low to high"``.
    """

    states: dict[str, Callable[[np.ndarray], np.ndarray]]
    valid: tuple[float, float] | None = None
    expected: str = ""


@attrs.frozen(eq=False)
class StateUpdate:
    """Rows of one state to set before the first step: satellites (global index) and
    values."""

    name: str
    sat: np.ndarray
    value: np.ndarray


@attrs.frozen(eq=False)
class Observed:
    """What a telemetry file sets in a run (`read_observed`).

    Attributes:
        path: the telemetry file.
        sha256: its SHA-256 (hex).
        updates: the states to set (`StateUpdate`), in the order of the variables.
        used: observed variable -> ``{"states": [...], "satellites": n, "plugin": name,
            "oldest_s": age, "newest_s": age}`` (ages before the epoch [s]).
        ignored: observed variable -> why it sets nothing.
        skipped_after, skipped_old: rows after the epoch, and older than `MAX_AGE_S`.
        n_rows: data rows in the file.
    """

    path: str
    sha256: str
    updates: tuple[StateUpdate, ...]
    used: dict[str, dict[str, Any]]
    ignored: dict[str, str]
    skipped_after: int
    skipped_old: int
    n_rows: int

    def identity(self) -> dict[str, Any]:
        """The store's ``from_telemetry`` attribute: what a resume must match, and what
        was set."""
        return {"path": self.path, "sha256": self.sha256, "used": self.used, "ignored": self.ignored}

    def summary(self, n_sats: int) -> list[str]:
        """Lines for the user: what was set, what was left out and why, what was skipped."""
        out = []
        for name, u in self.used.items():
            age = _age(u["oldest_s"]) if u["oldest_s"] == u["newest_s"] else \
                f"{_age(u['newest_s'])} to {_age(u['oldest_s'])}"
            out.append(f"{name} sets {', '.join(u['states'])} of {u['satellites']} of {n_sats} satellites "
                       f"(values {age} before the epoch)")
        for name, why in self.ignored.items():
            out.append(f"{name} is not used: {why}")
        if self.skipped_after:
            out.append(f"{self.skipped_after} of {self.n_rows} rows are after the epoch and are not used")
        if self.skipped_old:
            out.append(f"{self.skipped_old} of {self.n_rows} rows are more than {MAX_AGE_S / 86400:g} days before "
                       "the epoch and are not used")
        return out

    def stale(self) -> list[str]:
        """Warnings for observations older than `STALE_S`."""
        return [f"{name}: the oldest value used is {_age(u['oldest_s'])} before the epoch"
                for name, u in self.used.items() if u["oldest_s"] > STALE_S]


def _age(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def run_view_of_plan(plan: RunPlan) -> Any:
    """The `twin_core.telemetry.RunView` of a run about to start: its satellites, its
    per-satellite floating-point variables, and the span from `MAX_AGE_S` before the
    epoch to the epoch."""
    from twin_core.telemetry import RunView, StoreVariable

    sc = plan.scenario
    sats = plan.satellites
    names = None if sats.name is None else tuple(" ".join(str(s).split()) for s in sats.name)
    catalog = None if sats.catalog_number is None else np.asarray(sats.catalog_number, dtype=np.int64)
    variables = {v.name: StoreVariable(v.name, v.shape[0] if v.shape else 0, v.units, v.dtype in ("f32", "f64"))
                 for _p, v in plan.variables if v.axis == "sat"}
    orbit = sc.section("orbit")
    return RunView(path=sc.path, epoch=sc.run.epoch.isoformat(), times_s=np.array([-MAX_AGE_S, 0.0]),
                   n_sats=int(sats.count), names=names, catalog_numbers=catalog, variables=variables,
                   sat_group=None, propagator=str(getattr(orbit, "propagator", "j2")),
                   span="the year before the scenario's epoch", known="the run's plugins declare")


def _default_anchor(variable: Any) -> Anchor | str:
    """A scalar per-satellite state is set as observed; anything else is left out."""
    if variable.role == "state" and not variable.shape:
        if variable.units == "K":
            return Anchor({variable.name: lambda x: x}, valid=(5e-324, np.inf), expected="a temperature above 0 K")
        return Anchor({variable.name: lambda x: x})
    return (f"it is {'a parameter' if variable.role == 'parameter' else 'an output'}, not a state the run "
            "integrates, and no loaded plugin sets a state from it")


def _check_anchor(answer: Any, name: str, plugin: str, variables: dict[str, Any], owners: dict[str, str]) -> None:
    """A plugin's answer is an `Anchor` that sets per-satellite variables of its own, at
    least one of them a state (an output alone would be recomputed at the epoch and the
    observation lost), with an ordered range; else a `BuildError` naming the plugin."""
    who = f"plugin '{plugin}': orbitwin_observed_state for {name}"
    if not isinstance(answer, Anchor):
        raise BuildError(f"{who} returned {type(answer).__name__}; expected an Anchor, a reason (str) or None")
    for target in answer.states:
        var = variables.get(target)
        if var is None or var.axis != "sat":
            raise BuildError(f"{who} sets '{target}', which no loaded plugin declares as a per-satellite variable")
        if plugin != "orbitwin (core)" and owners[target] != plugin:
            raise BuildError(f"{who} sets '{target}', which plugin '{owners[target]}' declares; an Anchor sets "
                             "only its own plugin's variables")
    if not any(variables[t].role == "state" for t in answer.states):
        raise BuildError(f"{who} sets no state ({', '.join(answer.states) or 'nothing'}); an output is recomputed "
                         "at the epoch, so the observation would be lost")
    if answer.valid is not None and not answer.valid[0] <= answer.valid[1]:
        raise BuildError(f"{who}: Anchor.valid = {answer.valid} is not (low, high) with low <= high")


def read_observed(path: str | Path, plan: RunPlan, pm: OrbitwinPluginManager) -> Observed:
    """Read the telemetry at ``path`` for the run of ``plan`` and work out what it sets
    (module docstring). Raises a `UserError` naming the file and line for bad rows and
    values, and when it sets nothing."""
    from twin_core.telemetry import TelemetryError, read_telemetry

    view = run_view_of_plan(plan)
    tel = read_telemetry(path, view)
    after, old = tel.skipped_after, tel.skipped_outside - tel.skipped_after  # outside the span, each side
    variables = {v.name: v for _p, v in plan.variables}
    owners = {v.name: p for p, v in plan.variables}
    updates: list[StateUpdate] = []
    used: dict[str, dict[str, Any]] = {}
    ignored: dict[str, str] = {}
    set_by: dict[str, str] = {}
    for j, name in enumerate(tel.var_names):
        rows = np.flatnonzero(tel.var == j)
        # the latest row per satellite (stable: the later line wins a tie)
        order = rows[np.lexsort((tel.line[rows], tel.time_s[rows], tel.sat[rows]))]
        last = np.r_[tel.sat[order][1:] != tel.sat[order][:-1], True]
        pick = order[last]
        sat, value, line = tel.sat[pick].astype(np.int64), tel.value[pick], tel.line[pick]
        age = np.maximum(-tel.time_s[pick], 0.0)  # at the epoch: 0, not -0
        answers = pm.call("orbitwin_observed_state", scenario=plan.scenario, variable=name)
        if len(answers) > 1:  # the one-answer rule: two answers are an error unless the first is tryfirst
            pm.call_first("orbitwin_observed_state", scenario=plan.scenario, variable=name)
        plugin, answer = answers[0] if answers else ("orbitwin (core)", None)
        if answer is None:
            base = name.split("[")[0]
            answer = _default_anchor(variables[base])
            plugin = owners[base]
        if isinstance(answer, str):
            ignored[name] = answer
            continue
        _check_anchor(answer, name, plugin, variables, owners)
        if answer.valid is not None:
            lo, hi = answer.valid
            bad = (value < lo) | (value > hi)
            if bad.any():
                i = int(np.argmax(bad))
                raise TelemetryError(tel.path, f"is outside what {name} may start the run from",
                                     where=f"{tel.where_word} {int(line[i])}", column="value", value=float(value[i]),
                                     expected=answer.expected or f"a value from {lo:g} to {hi:g}",
                                     more=int(bad.sum()) - 1)
        for state_name, func in answer.states.items():
            if state_name in set_by:
                raise UserError(f"{tel.path}: {name} and {set_by[state_name]} would both set {state_name}; give "
                                "only one of them")
            set_by[state_name] = name
            try:
                values = np.asarray(func(value.astype(np.float64)), dtype=np.float64)
            except Exception as exc:  # noqa: BLE001 - the plugin's function failed: name the plugin
                raise PluginError(plugin, f"orbitwin_observed_state (the Anchor's function for {state_name})",
                                  exc) from exc
            if values.shape != sat.shape:
                raise BuildError(f"plugin '{plugin}': the Anchor's function for {state_name} (from {name}) returned "
                                 f"shape {values.shape}; expected one value per observed satellite, shape "
                                 f"{sat.shape}")
            if not np.isfinite(values).all():
                raise BuildError(f"plugin '{plugin}': the Anchor's function for {state_name} (from {name}) returned "
                                 "NaN or infinity for finite observed values")
            updates.append(StateUpdate(state_name, sat, values))
        used[name] = {"states": list(answer.states), "satellites": int(sat.size), "plugin": plugin,
                      "oldest_s": float(age.max()), "newest_s": float(age.min())}
    if not updates:
        why = "; ".join(f"{k}: {v}" for k, v in ignored.items())
        states = sorted(n for n, v in variables.items() if v.role == "state" and not v.shape and v.axis == "sat")
        raise UserError(f"{tel.path}: no variable in it sets a state of the run ({why}); --from-telemetry needs a "
                        f"state or a variable a plugin anchors, e.g. {', '.join(states[:4]) or 'none in this run'}")
    return Observed(path=str(path), sha256=tel.sha256, updates=tuple(updates), used=used, ignored=ignored,
                    skipped_after=after, skipped_old=old, n_rows=tel.n_rows)


def apply_observed(observed: Observed, state: State) -> None:
    """Set the observed satellites' rows of each updated state that this process holds
    (its own satellites and its halo); the others keep their initial values."""
    for u in observed.updates:
        current = state.get(u.name)
        order = np.argsort(u.sat, kind="stable")
        sats, values = u.sat[order], u.value[order]
        pos = np.searchsorted(sats, state.rows[:current.shape[0]])
        pos = np.minimum(pos, max(sats.size - 1, 0))
        hit = sats[pos] == state.rows[:current.shape[0]]
        if hit.any():
            current[hit] = values[pos[hit]]
            state.load(u.name, current)


def check_resume(attrs_: dict[str, Any], observed: Observed | None, output: str | Path) -> None:
    """Refuse a resume whose telemetry differs from the one the store started from."""
    recorded = attrs_.get("from_telemetry")
    if recorded is None and observed is None:
        return
    if recorded is None:
        raise UserError(f"--resume: {output} was not started from telemetry; resume it without --from-telemetry")
    if observed is None:
        raise UserError(f"--resume: {output} was started from the telemetry {recorded['path']}: resume with "
                        f"--from-telemetry {recorded['path']}")
    if observed.sha256 != recorded["sha256"]:
        raise UserError(f"--resume: {output} was started from telemetry with SHA-256 {recorded['sha256'][:12]}..., "
                        f"and {observed.path} now has {observed.sha256[:12]}...: the run would not be one run; "
                        "start it again with --overwrite")


__all__ = ["MAX_AGE_S", "STALE_S", "Anchor", "Observed", "StateUpdate", "apply_observed", "check_resume",
           "read_observed", "run_view_of_plan"]
