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
refused with the name of the missing table. With ``[crosslinks]`` (issue 10's
benchmark), `NumpyTwin` folds the terminals' power into the bus demand as the engine
does, from ``values["link.terminal_power_w"]``, which `NumpyLinks` computes: the
crosslinks plugin's coupling pass (range, line of sight, acquisition, capacity, then per
satellite degree, total and smallest capacity, terminal power) over the whole link list,
in whole-array operations.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np

from orbitwin_plugins import battery as battery_plugin
from orbitwin_plugins import linkbudget
from orbitwin_plugins import orbit as orbit_plugin
from orbitwin_plugins import power as power_plugin
from orbitwin_plugins import thermal as thermal_plugin
from orbitwin_plugins.constants import R_EARTH_M
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

    def __init__(self, variables: Mapping[str, Variable], n_total: int, sat_range: tuple[int, int],
                 satellite_mass_kg: float = 0.0):
        self.variables = dict(variables)
        self.n_total = n_total
        self.satellite_mass_kg = satellite_mass_kg
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
    state = _InitialState({v.name: v for _p, v in plan.variables}, plan.n_total, rng, plan.satellite_mass_kg)
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
        self.orbit_rotation = orbit_plugin.eci_rotation(scenario)  # [orbit] j2_pole
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
        r, vel = orbit_plugin.propagate_numpy(self.orbit_params, t_s, self.n_iter, self.orbit_rotation)
        self._store("orbit.r_eci_m", r)
        self._store("orbit.v_eci_m_s", vel)
        # the Sun (a common series in the engine, the same for every satellite)
        sun_dir, sun_dist = sun_position_eci(np.array([t_s]), self.epoch)
        s, d = sun_dir[0], float(sun_dist[0])
        # environment.step
        for name, value in environment_numpy(r, vel, s, d, self.environment).items():
            self._store(name, value)
        illum = self._read("environment.illumination")
        # solar.generate (solar.cell_remaining_fraction: nobody contributes in the default
        # set, so the engine folds its start, 1, and the yearly degradation applies)
        self._combine("solar.cell_remaining_fraction")
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


# -- links (issue 10) -----------------------------------------------------------------------

#: `orbitwin_plugins.crosslinks`' link status codes.
UNUSED, UP, OUT_OF_RANGE, EARTH_BLOCKED, ACQUIRING = 0, 1, 2, 3, 4


class NumpyLinks:
    """The crosslinks plugin's coupling pass in plain numpy, over a fixed link list.

    Per link (``crosslinks.geometry``): range ``R = |r_b - r_a|``; line of sight, the
    segment's closest point to the centre outside the grazing sphere
    (`orbitwin_plugins.linkbudget.line_of_sight`'s closed form); ``R <= max_range``; the
    acquisition timer (the geometry's time held, up once it reaches ``acquisition_s``);
    capacity ``min(cap_bps, k_bps_m2 / R^2)`` while up (`linkbudget.capacity_coefficients`),
    range and capacity stored in float32 as the engine's fields are. Per satellite
    (``crosslinks.per_satellite``): links up (``np.bincount`` over both ends), their total
    capacity (the float32 capacities, in float64) and the smallest (``np.minimum.reduceat``
    over each satellite's links, listed once as the engine's incidence lists them), and
    the terminals' power ``degree x power_w + max(terminals - degree, 0) x standby_power_w``.

    The cluster bisection stages are not modelled: they do work only for formation-flying
    clusters, which a Walker shell has none of (the engine still tests each satellite's
    cluster row, a load and a compare).

    Args:
        a, b: (L,) global indices of each link's owner and far end (every entry a link:
            unused slots dropped, `orbitwin_plugins.topology.pairs`).
        n_sats: satellites in the constellation.
        config: the scenario's `orbitwin_plugins.crosslinks.CrosslinksConfig`.
        terminals: terminals per satellite (the plugin's default: the topology's largest
            degree).

    Attributes:
        values: the last pass's link values by variable name (``link.range_m`` ...) and
            per-satellite values (``link.degree`` ...), in the engine's dtypes.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, n_sats: int, config: Any, terminals: int):
        self.a, self.b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        self.n = int(n_sats)
        term = config.optical
        self.k_bps_m2, self.cap_bps, _r = linkbudget.capacity_coefficients(term)
        self.max_range_m = float(config.max_range_m)
        self.grazing2 = float((R_EARTH_M + config.grazing_altitude_km * 1e3) ** 2)
        self.acquisition_s = float(term.acquisition_s)
        self.p_on, self.p_standby, self.terminals = float(term.power_w), float(term.standby_power_w), int(terminals)
        n_links = self.a.shape[0]
        self.visible_s = np.full(n_links, self.acquisition_s)  # acquired at the epoch, as the plugin starts
        # each satellite's links in increasing link order (the engine's incidence lists)
        ends = np.concatenate([self.a, self.b])
        lid = np.tile(np.arange(n_links, dtype=np.int64), 2)
        order = np.lexsort((lid, ends))
        self.incident = lid[order]
        counts = np.bincount(ends, minlength=self.n)
        self.has_links = counts > 0
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[self.has_links]
        self.values: dict[str, np.ndarray] = {}

    @classmethod
    def from_scenario(cls, scenario: Any) -> "NumpyLinks":
        """The link list and terminal of a scenario with ``[crosslinks]``, as the plugin
        builds them at the epoch."""
        from orbitwin_plugins import crosslinks, topology

        slots = crosslinks.link_targets(scenario)
        a, b = topology.pairs(slots)
        cfg = scenario.section("crosslinks")
        return cls(a, b, slots.shape[0], cfg, crosslinks._terminals(cfg, scenario))

    @property
    def n_links(self) -> int:
        return int(self.a.shape[0])

    def couple(self, r_m: np.ndarray, dt_s: float) -> dict[str, np.ndarray]:
        """One coupling pass at positions ``r_m`` ((n_sats, 3) [m]), ``dt_s`` after the
        previous one (0 at the epoch). Returns and keeps `values`."""
        ra = r_m[self.a]
        d = r_m[self.b] - ra
        dd = np.einsum("ij,ij->i", d, d)
        rng = np.sqrt(dd)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.clip(np.where(dd > 0.0, -np.einsum("ij,ij->i", ra, d) / dd, 0.0), 0.0, 1.0)
        p = ra + s[:, None] * d
        in_range = rng <= self.max_range_m
        in_sight = np.einsum("ij,ij->i", p, p) >= self.grazing2
        held = in_range & in_sight
        self.visible_s = np.where(held, self.visible_s + dt_s, 0.0)
        up = held & (self.visible_s >= self.acquisition_s)
        cap32 = np.where(up, np.minimum(self.cap_bps, self.k_bps_m2 / np.maximum(dd, 1.0)), 0.0).astype(np.float32)
        status = np.where(~in_range, OUT_OF_RANGE, np.where(~in_sight, EARTH_BLOCKED, np.where(up, UP, ACQUIRING)))
        # per satellite: its links up, their capacities (float32, as stored) summed in float64
        cap = cap32.astype(np.float64)
        degree = np.bincount(self.a[up], minlength=self.n) + np.bincount(self.b[up], minlength=self.n)
        total = np.bincount(self.a, cap, minlength=self.n) + np.bincount(self.b, cap, minlength=self.n)
        lowest = np.zeros(self.n)
        if self.starts.size:
            by_sat = np.where(up, cap, np.inf)[self.incident]
            low = np.minimum.reduceat(by_sat, self.starts)
            lowest[self.has_links] = np.where(np.isinf(low), 0.0, low)
        power = degree * self.p_on + np.maximum(self.terminals - degree, 0) * self.p_standby
        self.values = {"link.range_m": rng.astype(np.float32), "link.capacity_bps": cap32,
                       "link.up": up.astype(np.uint8), "link.status": status.astype(np.int8),
                       "link.visible_s": self.visible_s, "link.degree": degree.astype(np.int32),
                       "link.capacity_total_bps": total, "link.capacity_min_bps": lowest,
                       "link.terminal_power_w": power.astype(np.float64)}
        return self.values
