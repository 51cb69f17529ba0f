"""The full default physics as plain vectorized numpy: the benchmark's yardstick.

Issue 4 asks how the fused taichi kernel compares with what a competent numpy programmer
would write for the same model. This module is that program: every satellite as one
array, one step at a time, each subsystem a handful of whole-array operations. It is
composed from the plugins' own numpy references, imported, never copied, so the
yardstick cannot drift from the plugins' physics:

=================  ==========================================================
stage              reference
=================  ==========================================================
payload.policy     `orbitwin_plugins.payload_stages.caps_numpy`
combine.*          `NumpyTwin._combine` (the contributions in the plan's order)
payload.demand     `orbitwin_plugins.payload_stages.demand_numpy`
orbit.propagate    `orbitwin_plugins.orbit.propagate_numpy` (exact Kepler path)
(Sun)              `orbitwin_plugins.ephemeris.sun_position_eci`
environment.step   `orbitwin_plugins.environment.environment_numpy`
solar.generate     `orbitwin_plugins.solar.generated_numpy`
battery.limits     `orbitwin_plugins.battery.limits_numpy`
power.shed         `orbitwin_plugins.power.shed_numpy`
battery.step       `orbitwin_plugins.battery.step_numpy`
payload.deliver    `orbitwin_plugins.payload_stages.deliver_numpy`
thermal.step       `orbitwin_plugins.thermal.step_numpy`
totals             `twin_core.metrics.reduce_numpy`
=================  ==========================================================

What is written out here is only the glue the engine provides to the stages:

- the stage order of the engine's fused kernel (the policy and the demand come first
  because they read the *previous* step's state of charge and temperature, as their
  ``reads_previous`` declares);
- storage: every value is stored in its variable's declared dtype (float32 outputs are
  rounded as the kernel's ``ti.cast`` rounds them, int8 codes), and read back in float64,
  as the stages do, so that a float32 rounding seen by the engine is seen here too;
- the step convention (`twin_core.declarations.Stage`): a step labelled ``t`` covers
  ``(t - dt, t]``, outputs are evaluated at ``t``, states advanced with rates at ``t``;
  a run starts with one evaluation at ``t = 0`` with ``dt = 0`` (no state changes), and
  the times of a launch are ``t0 + k dt`` exactly as the kernel forms them;
- the initial state: what the plugins' ``orbitwin_initial_state`` hooks set, every other
  variable zero (taichi fields start at zero), `initial_state_numpy`.

Differences from the engine, all below the agreement test's tolerances
(``tests/test_bench_numpy.py``): the orbit uses the exact Kepler path with trigonometry
at every step where the engine's kernel uses the trig-free rotation recurrence of
`orbitwin_plugins.orbit_fast` (agreement < 1 mm; its cos/sin cache variables are not
computed here); taichi may contract or reorder float64 arithmetic, and may use
polynomial inverse trigonometry (`orbitwin_plugins.fastmath`), against numpy's libm; the
thermal Newton iteration stops when every satellite has converged, the kernel's per
satellite (both to 1e-9 K); totals are summed in numpy's pairwise order, the engine's in
satellite order per block (float64 either way).

Only the default plugin set is supported (orbit, environment, solar, battery, power,
payload with the default policy, thermal); a scenario without one of their tables is
refused with the name of the missing table.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np

from orbitwin_plugins import battery as battery_plugin
from orbitwin_plugins import orbit as orbit_plugin
from orbitwin_plugins import power as power_plugin
from orbitwin_plugins import thermal as thermal_plugin
from orbitwin_plugins.environment import EnvironmentConfig, environment_numpy
from orbitwin_plugins.ephemeris import sun_position_eci
from orbitwin_plugins.payload_stages import PayloadModel, caps_numpy, deliver_numpy, demand_numpy
from orbitwin_plugins.solar import generated_numpy
from twin_core.declarations import Metric, Variable
from twin_core.metrics import reduce_numpy

#: Tables the numpy physics needs, with the plugin each configures.
REQUIRED_TABLES = ("orbit", "solar", "battery", "power", "payload", "thermal")


class _InitialState:
    """What ``orbitwin_initial_state`` hooks are given instead of the engine's `State`:
    the same ``set``/``has`` calls, stored in numpy arrays of the declared dtypes."""

    def __init__(self, variables: Mapping[str, Variable], n_total: int, sat_range: tuple[int, int]):
        self.variables = dict(variables)
        self.n_total = n_total
        self.sat_start, self.sat_stop = sat_range
        self.n = self.sat_stop - self.sat_start
        self.values = {name: np.zeros((self.n,) + tuple(v.shape), v.numpy_dtype) for name, v in variables.items()}

    def has(self, name: str) -> bool:
        return name in self.variables

    def set(self, name: str, values: Any) -> None:
        var = self.variables[name]
        arr = np.broadcast_to(np.asarray(values, dtype=var.numpy_dtype), (self.n_total,) + tuple(var.shape))
        self.values[name] = np.array(arr[self.sat_start:self.sat_stop])

    def get(self, name: str) -> np.ndarray:
        return self.values[name].copy()


def initial_state_numpy(plan: Any, pm: Any, sat_range: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """The state at the epoch, as the engine holds it after construction, without taichi.

    Calls every plugin's ``orbitwin_initial_state`` on a numpy stand-in for the engine's
    `State`; variables no hook sets are zero, as taichi fields start. ``sat_range`` keeps
    satellites ``[start, stop)`` of the constellation (the benchmark's numpy slice).
    """
    rng = sat_range if sat_range is not None else (0, plan.n_total)
    state = _InitialState({v.name: v for _p, v in plan.variables}, plan.n_total, rng)
    pm.call("orbitwin_initial_state", scenario=plan.scenario, state=state)
    return state.values


class NumpyTwin:
    """The default plugin set stepped in numpy over all satellites of ``initial``.

    Args:
        scenario: the loaded scenario (its plugin tables configure the physics).
        variables: every declared variable by name (for the storage dtypes).
        metrics: the constellation totals to evaluate at every step.
        initial: the state at the epoch, ``{name: (n,) or (n, 3) array}``
            (`initial_state_numpy`, or ``Engine.snapshot()`` right after construction).

    Attributes:
        values: every variable's current value, in its declared dtype (the engine's
            fields); outputs hold the last evaluated step.
    """

    def __init__(self, scenario: Any, variables: Mapping[str, Variable], metrics: Iterable[Metric],
                 initial: Mapping[str, np.ndarray], combined: Iterable[Any] = ()):
        missing = [t for t in REQUIRED_TABLES if scenario.section(t) is None]
        if missing:
            raise ValueError("the numpy physics models the full default plugin set; the scenario lacks "
                             + ", ".join(f"[{t}]" for t in missing))
        self.scenario = scenario
        self.variables = dict(variables)
        self.combined = {rc.combined.name: rc for rc in combined}  # `twin_core.contributions.ResolvedCombined`
        self.metrics = tuple(metrics)
        self.values: dict[str, np.ndarray] = {
            name: np.array(initial[name], dtype=var.numpy_dtype) for name, var in self.variables.items()
            if name in initial}
        absent = [n for n in self.variables if n not in self.values and not n.startswith("orbit.")]
        if absent:
            raise ValueError("the initial state lacks " + ", ".join(absent))
        self.n = int(self.values["battery.energy_j"].shape[0])
        self.epoch = scenario.run.epoch

        orbit_cfg = scenario.section("orbit")
        self.orbit_params = {name: self.values[name] for name in orbit_plugin.PARAMETERS}
        # the kernel's iteration count is fixed by the whole constellation's largest e
        self.n_iter = orbit_plugin.newton_iterations(max(s.max_eccentricity for s in orbit_cfg.shell))
        self.environment = scenario.section("environment") or EnvironmentConfig()
        self.solar = scenario.section("solar")
        self.battery = scenario.section("battery")
        self.power = scenario.section("power")
        payload_cfg = scenario.section("payload")
        if payload_cfg.policy != "default":
            raise ValueError("the numpy physics models the payload's default policy only")
        self.payload = PayloadModel.from_config(payload_cfg, float(self.battery.min_soc))
        self.thermal = scenario.section("thermal")
        self.capacitance_j_k = self.thermal.capacitance_j_k(float(payload_cfg.server_mass_kg))

    @classmethod
    def from_plan(cls, plan: Any, initial: Mapping[str, np.ndarray]) -> "NumpyTwin":
        """Build from a `twin_core.plan.RunPlan` (its scenario, variables and metrics)."""
        return cls(plan.scenario, {v.name: v for _p, v in plan.variables}, plan.metrics, initial,
                   plan.sizing.combined)

    # -- one step ---------------------------------------------------------------------

    def _store(self, name: str, value: Any) -> None:
        """Write a stage's result into the variable's storage dtype (the kernel's cast)."""
        self.values[name] = np.asarray(value).astype(self.variables[name].numpy_dtype, copy=False)

    def _read(self, name: str) -> np.ndarray:
        """A stored value as the stages read it: widened to float64."""
        return self.values[name].astype(np.float64, copy=False)

    def _combine(self, name: str) -> None:
        """The engine's ``combine.<name>`` stage: the contributions folded in the plan's
        order (`twin_core.contributions`), float64, the first kept on a tie."""
        rc = self.combined[name]
        v = np.full(self.n, float(rc.combined.start))
        why = np.zeros(self.n, np.int64)
        for _p, c, code in rc.parts:
            x = self._read(c.variable)
            if rc.combined.op == "sum":
                v = v + x
            else:
                lower = x < v
                v, why = np.where(lower, x, v), np.where(lower, code, why)
        self._store(name, v)
        if rc.combined.reason:
            self._store(rc.combined.reason, why)

    def evaluate(self, t_s: float, dt_s: float) -> None:
        """Run every stage once for the step labelled ``t_s`` of length ``dt_s``
        (``dt_s = 0``: the evaluation at the epoch, no state changes)."""
        v, m = self.values, self.payload
        # payload.policy: the two caps from the previous step's state of charge and temperature
        soc_prev, temp_prev = self._read("battery.soc"), self._read("thermal.temperature_k")
        soc_cap, thermal_cap = caps_numpy(m, soc_prev, temp_prev)
        self._store("payload.soc_cap", soc_cap)
        self._store("payload.thermal_cap", thermal_cap)
        self._combine("payload.requested_state")
        self._combine("payload.available_fraction")
        # payload.demand
        avail = self._read("payload.available_fraction")
        self._store("payload.demand_w", demand_numpy(m, v["payload.requested_state"], temp_prev, avail))
        self._store("payload.min_power_w", m.power_w[1] * np.clip(avail, 0.0, 1.0))
        # orbit.propagate
        r, vel = orbit_plugin.propagate_numpy(self.orbit_params, t_s, self.n_iter)
        self._store("orbit.r_eci_m", r)
        self._store("orbit.v_eci_m_s", vel)
        # the Sun (a common series in the engine, the same for every satellite)
        sun_dir, sun_dist = sun_position_eci(np.array([t_s]), self.epoch)
        s, d = sun_dir[0], float(sun_dist[0])
        # environment.step
        for name, value in environment_numpy(r, vel, s, d, self.environment).items():
            self._store(name, value)
        illum = self._read("environment.illumination")
        # solar.generate
        self._store("power.generated_w", generated_numpy(self.solar, t_s, illum, s, d, r, vel))
        # battery.limits (the energy at the start of the step), the bus demand, power.shed
        for name, value in battery_plugin.limits_numpy(self.battery, v["battery.energy_j"], dt_s).items():
            self._store(name, value)
        self._combine("power.bus_demand_w")
        out = power_plugin.shed_numpy(self.power, self._read("power.generated_w"),
                                      self._read("battery.max_discharge_w"), self._read("battery.max_charge_w"),
                                      self._read("payload.demand_w"), self._read("payload.min_power_w"),
                                      self._read("power.bus_demand_w"))
        for name, value in out.items():
            self._store(name, value)
        # battery.step: what the bus puts into the battery after shedding
        out = battery_plugin.step_numpy(self.battery, v["battery.energy_j"], self._read("power.net_w"), dt_s)
        for name, value in out.items():
            self._store(name, value)
        # payload.deliver (previous step's temperature: thermal.step has not run yet)
        out = deliver_numpy(m, self._read("power.payload_supply_w"), v["payload.requested_state"], temp_prev,
                            v["payload.limit_reason"], avail, v["payload.availability_reason"])
        for name, value in out.items():
            self._store(name, value)
        # thermal.step: the heat contributed to the node, then the environment's
        self._combine("thermal.heat_in_w")
        out = thermal_plugin.step_numpy(
            self.thermal, v["thermal.temperature_k"], dt_s, self.capacitance_j_k,
            heat_w=self._read("thermal.heat_in_w"),
            illumination=illum, earth_ir_w_m2=self._read("environment.earth_ir_w_m2"),
            albedo_w_m2=self._read("environment.albedo_w_m2"), sun_distance_m=d)
        for name, value in out.items():
            self._store(name, value)

    def metric_values(self) -> dict[str, float]:
        """Every constellation total over this object's satellites at the last step."""
        v = self.values
        return {mt.name: reduce_numpy(mt, v[mt.variable], v[mt.where_variable] if mt.where_variable else None)
                for mt in self.metrics}

    # -- a run ------------------------------------------------------------------------

    def run(self, n_records: int, steps_per_record: int, step_s: float,
            on_record: Callable[[int, "NumpyTwin"], None] | None = None,
            on_step: Callable[[int, "NumpyTwin"], None] | None = None, metrics: bool = True) -> None:
        """Step through a run as the engine does: the evaluation at the epoch, then
        ``n_records - 1`` groups of ``steps_per_record`` steps.

        ``on_step(step, self)`` is called after every step (0 for the epoch) with the
        metrics in ``self.last_metrics`` when ``metrics`` is set; ``on_record(index,
        self)`` after every record's last step."""
        self.evaluate(0.0, 0.0)
        self._after_step(0, metrics, on_step)
        if on_record:
            on_record(0, self)
        for rec in range(1, n_records):
            first = (rec - 1) * steps_per_record + 1
            t0 = first * step_s  # the launch's start, then t0 + k dt, as the kernel forms it
            for k in range(steps_per_record):
                self.evaluate(t0 + float(k) * step_s, step_s)
                self._after_step(first + k, metrics, on_step)
            if on_record:
                on_record(rec, self)

    def _after_step(self, step: int, metrics: bool, on_step: Callable[[int, "NumpyTwin"], None] | None) -> None:
        if metrics:
            self.last_metrics = self.metric_values()
        if on_step:
            on_step(step, self)
