"""Payload plugin: AI accelerators with power states, a scheduling policy, and the compute
they deliver from the power the bus gives them.

Scenario table ``[payload]`` (`PayloadConfig`; only ``count`` is required)::

    [payload]
    count = 8                    # accelerators per satellite
    accelerator = "H100-SXM"     # catalog name (orbitwin_plugins.accelerators) or the
                                 # name of [payload.custom_accelerator]
    policy = "default"           # or "external": another plugin's limit replaces the default policy

Power states ``s`` (code: off 0, idle 1, inference 2, training 3), per satellite, with
``N`` accelerators of board power ``TDP`` and host overhead fraction ``h``::

    P_s = N (1 + h) p_s,   p_off = 0, p_idle = idle_power_fraction TDP,
                           p_inf = inference_power_fraction TDP, p_train = training_power_fraction TDP
    F_s = N peak f_s,      f_off = f_idle = 0, f_inf = inference_throughput, f_train = training_throughput

Defaults and sources: idle power, host overhead (DGX H100 0.82, DGX B200 0.79) and server
mass come from the catalog (`orbitwin_plugins.accelerators`, each figure sourced).
Training runs at TDP with throughput 1, so ``payload.flops`` is the hardware rate in
dense-bf16-peak equivalents, not model FLOP/s: multiply by a workload's MFU (0.38-0.43 for
Llama 3 405B on H100, Dubey et al. 2024) or set ``training_throughput``. TDP is
conservative: 8 x H100 nodes measured while training drew ~76 % of their 10.2 kW rating
(Brookhaven National Laboratory, arXiv:2506.14551, 2025). Inference at 0.6 TDP and 0.4 of
peak is an ASSUMPTION between memory-bound decode (137-300 W on a 700 W H200, Ma et al.,
arXiv:2605.11999, 2026) and batch-128 serving (~600 W on H100, ML.ENERGY benchmark v3.0).

Stages (equations in `orbitwin_plugins.payload_stages`): ``payload.policy`` (with
``policy = "default"``) asks for the ``workload`` state, stepped down without hysteresis
when the previous step's battery state of charge or temperature nears its limit;
``payload.demand`` asks the bus for that state's power; ``payload.deliver`` runs on the
power the bus gives (``payload.power_w = payload.heat_w = supply`` exactly; under a
shortfall, the POWER-CAPPING APPROXIMATION: throughput interpolated linearly in power
between states) and says why compute was lost (``payload.loss_reason``: 0 none,
1 power-limited, 2 thermal-limited, 3 shed, 4 off).

Validated in ``tests/test_payload.py``: the numpy references of
`orbitwin_plugins.payload_stages` against hand-computed cases and the taichi stages,
step-down before the battery floor and the thermal limit, power = supply, loss reasons,
metrics, the summary's integral, configuration errors.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins import payload_stages as _stages
from orbitwin_plugins.accelerators import Accelerator, lookup
from twin_core import Combined, Contribution, MassItem, Metric, PowerItem, ScenarioError, Variable, hookimpl
from twin_core.validators import SpecValueError, in_range, int_range, non_negative, one_of, positive

STATES = {0: "off", 1: "idle", 2: "inference", 3: "training"}
REASONS = {0: "none", 1: "power-limited", 2: "thermal-limited", 3: "shed", 4: "off"}
OFF, IDLE, INFERENCE, TRAINING = 0, 1, 2, 3
NONE, POWER_LIMITED, THERMAL_LIMITED, SHED, REASON_OFF = 0, 1, 2, 3, 4
_opt = attrs.validators.optional
_SOC_KEYS = ("min_soc_idle", "min_soc_inference", "min_soc_training")


@attrs.frozen
class PayloadConfig:
    """Table ``[payload]`` (module docstring for the model; units in the key names).

    Attributes:
        count: accelerators per satellite.
        accelerator: catalog name; default the custom one if given, else ``"H100-SXM"``.
        custom_accelerator: a user-defined `Accelerator` (``[payload.custom_accelerator]``).
        policy: ``"default"`` (stage ``payload.policy``) or ``"external"``.
        workload: state the default policy runs when nothing limits it.
        idle_power_fraction: idle power [fraction of TDP]; default the catalog's.
        host_overhead_fraction: host power [fraction of accelerator power]; default the catalog's.
        server_mass_kg_per_accelerator: [kg]; default the catalog's.
        inference_power_fraction, training_power_fraction: state power [fraction of TDP].
        inference_throughput, training_throughput: state throughput [fraction of dense peak].
        max_temperature_k: thermal-node limit [K]: held at idle at or above it. Default
            333.15 K (60 C), an ASSUMPTION: a coolant/radiator node ~25-30 K below the
            ~85-90 C at which data-centre GPUs start to slow down.
        training_margin_k: the default policy trains only at or below the limit minus this [K].
        inference_margin_k: the default policy infers only at or below the limit minus this
            [K]; above it, idle. Margins 10 K and 5 K: ASSUMPTIONS, minutes of heating at
            full load for a node of a few hundred kJ/K.
        min_soc_training: lowest battery state of charge for training [1]; default the
            battery's floor (``[battery] min_soc``, 0 without one) + 0.2 (ASSUMPTION).
        min_soc_inference: lowest state of charge for inference [1]; default floor + 0.1.
        min_soc_idle: lowest state of charge for idle; below it the payload is off [1];
            default floor + 0.02: off at the floor, one step before the battery must refuse.
    """

    count: int = attrs.field(validator=int_range(1, 10**6))
    accelerator: str | None = None
    custom_accelerator: Accelerator | None = None
    policy: str = attrs.field(default="default", validator=one_of(("default", "external")))
    workload: str = attrs.field(default="training", validator=one_of(("training", "inference")))
    idle_power_fraction: float | None = attrs.field(default=None, validator=_opt(in_range(0.0, 1.0)))
    inference_power_fraction: float = attrs.field(default=0.6, validator=in_range(0.0, 1.0))
    inference_throughput: float = attrs.field(default=0.4, validator=in_range(0.0, 1.0))
    training_power_fraction: float = attrs.field(default=1.0, validator=in_range(0.0, 1.0))
    training_throughput: float = attrs.field(default=1.0, validator=in_range(0.0, 1.0))
    host_overhead_fraction: float | None = attrs.field(default=None, validator=_opt(in_range(0.0, 10.0)))
    server_mass_kg_per_accelerator: float | None = attrs.field(default=None, validator=_opt(positive))
    max_temperature_k: float = attrs.field(default=333.15, validator=positive)
    training_margin_k: float = attrs.field(default=10.0, validator=non_negative)
    inference_margin_k: float = attrs.field(default=5.0, validator=non_negative)
    min_soc_training: float | None = attrs.field(default=None, validator=_opt(in_range(0.0, 1.0)))
    min_soc_inference: float | None = attrs.field(default=None, validator=_opt(in_range(0.0, 1.0)))
    min_soc_idle: float | None = attrs.field(default=None, validator=_opt(in_range(0.0, 1.0)))

    def __attrs_post_init__(self) -> None:
        custom = self.custom_accelerator
        if custom is not None and self.accelerator not in (None, custom.name):
            raise SpecValueError("accelerator", self.accelerator,
                                 f"the custom accelerator's name {custom.name!r} (or leave it out)")
        if custom is None:
            lookup(self.accelerator or "H100-SXM")
        for low, high in (("inference_margin_k", "training_margin_k"), ("inference_throughput", "training_throughput"),
                          ("inference_power_fraction", "training_power_fraction")):
            if getattr(self, high) < getattr(self, low):
                raise SpecValueError(high, getattr(self, high), f">= {low} = {getattr(self, low):g}")
        given = [(k, getattr(self, k)) for k in _SOC_KEYS if getattr(self, k) is not None]
        for (k_lo, lo), (k_hi, hi) in zip(given, given[1:]):
            if hi < lo:
                raise SpecValueError(k_hi, hi, f">= {k_lo} = {lo:g}")
        if self.inference_power_fraction <= self.idle_fraction:
            raise SpecValueError("inference_power_fraction", self.inference_power_fraction,
                                 f"> idle_power_fraction = {self.idle_fraction:g}")

    @property
    def hardware(self) -> Accelerator:
        return self.custom_accelerator or lookup(self.accelerator or "H100-SXM")

    @property
    def idle_fraction(self) -> float:
        hw = self.hardware
        return self.idle_power_fraction if self.idle_power_fraction is not None else hw.idle_w / hw.tdp_w

    @property
    def overhead(self) -> float:
        o = self.host_overhead_fraction
        return o if o is not None else self.hardware.host_overhead_fraction

    @property
    def server_mass_kg(self) -> float:
        """Server mass per satellite [kg] (the ``thermal`` plugin's default capacitance uses it)."""
        m = self.server_mass_kg_per_accelerator
        return self.count * (m if m is not None else self.hardware.server_mass_kg)


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------

_OUT = (("payload.demand_w", "W", "f32", "power the payload asks for this step, before load shedding", {}),
        ("payload.min_power_w", "W", "f32", "idle power of the available accelerators: below it the bus "
         "disconnects the payload", {}),
        ("payload.state", "1", "i8", "power state the payload ran in", STATES),
        ("payload.power_w", "W", "f32", "electrical power drawn by the payload (= supply)", {}),
        ("payload.heat_w", "W", "f32", "heat the payload dissipates into its thermal node (= power)", {}),
        ("payload.flops", "FLOP s-1", "f32", "compute delivered, dense bf16 peak equivalents", {}),
        ("payload.lost_flops", "FLOP s-1", "f32", "installed dense bf16 peak minus delivered compute", {}),
        ("payload.loss_reason", "1", "i8", "why compute was lost", REASONS),
        ("payload.limit_reason", "1", "i8", "which limit bound the requested state (0: none)", REASONS),
        ("payload.availability_reason", "1", "i8", "which limit bound the available fraction (0: none)", REASONS))
_POLICY_OUT = (("payload.soc_cap", "1", "i8", "highest state the default policy allows for the battery's state "
                "of charge (previous step)", STATES),
               ("payload.thermal_cap", "1", "i8", "highest state the default policy allows for the node's "
                "temperature (previous step)", STATES))
_UNRECORDED = {"payload.min_power_w", "payload.limit_reason", "payload.availability_reason", "payload.soc_cap",
               "payload.thermal_cap"}
#: How a policy plugin takes over with ``policy = "external"``.
EXTERNAL_HINT = ("[payload] policy = 'external' needs a plugin that contributes a limit to "
                 "'payload.requested_state' (codes 0 off, 1 idle, 2 inference, 3 training); none is loaded: "
                 "load the scheduler plugin, or use policy = 'default'")


def _config(scenario: Any) -> PayloadConfig | None:
    return scenario.section("payload") if scenario is not None else None


def _model(scenario: Any, cfg: PayloadConfig) -> _stages.PayloadModel:
    """The model for this scenario: the SOC thresholds follow ``[battery] min_soc`` (any
    battery section exposing ``min_soc``; 0 without one)."""
    floor = float(getattr(scenario.section("battery"), "min_soc", 0.0) or 0.0)
    try:
        return _stages.PayloadModel.from_config(cfg, floor)
    except SpecValueError as exc:
        raise ScenarioError(scenario.path, f"payload.{exc.key}", "bad value", exc.value, exc.expected) from None


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"payload": PayloadConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable | Combined] | None:
    cfg = _config(scenario)
    if scenario is not None and cfg is None:
        return None
    top = TRAINING
    if cfg is not None:
        top = _model(scenario, cfg).top_state  # also checks the SOC thresholds against the battery's floor
    rows = _OUT + (_POLICY_OUT if cfg is None or cfg.policy == "default" else ())
    out: list[Variable | Combined] = [
        Variable(n, u, d, "output", dt, flags=dict(fl), record=n not in _UNRECORDED,
                 flags_like=None if n == "payload.limit_reason" or not n.endswith("_reason") else "payload.limit_reason")
        for n, u, dt, d, fl in rows]
    external = cfg is not None and cfg.policy == "external"
    out += [Combined("payload.requested_state", "1", "power state asked of the accelerators: the workload's, "
                     "capped by every limit plugins contribute", "min", start=float(top), dtype="i8",
                     reason="payload.limit_reason", required=EXTERNAL_HINT if external else None),
            Combined("payload.available_fraction", "1", "share of the accelerators available (not failed or "
                     "held back): the least any plugin allows", "min", start=1.0, dtype="f32",
                     reason="payload.availability_reason", record=False)]
    return out


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    """The default policy's caps limit the requested state; the payload's heat goes into
    the thermal node."""
    cfg = _config(scenario)
    if cfg is None:
        return None
    out = [Contribution("thermal.heat_in_w", "payload.heat_w")]
    if cfg.policy == "default":
        out += [Contribution("payload.requested_state", "payload.soc_cap", reason=REASONS[POWER_LIMITED]),
                Contribution("payload.requested_state", "payload.thermal_cap", reason=REASONS[THERMAL_LIMITED])]
    return out


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if _config(scenario) is None:
        return None
    return [Metric("constellation.delivered_pflops", "payload.flops", "sum", "PFLOP s-1",
                   "compute delivered by the constellation (dense bf16 peak equivalents)", scale=1e-15),
            Metric("constellation.lost_pflops", "payload.lost_flops", "sum", "PFLOP s-1",
                   "installed peak minus delivered compute, all reasons", scale=1e-15),
            Metric("constellation.payload_power_w", "payload.power_w", "sum", "W", "power drawn by all payloads"),
            Metric("constellation.training_fraction", "payload.state", "fraction_equal", "1",
                   "share of satellites training", threshold=TRAINING),
            Metric("constellation.{flag}_fraction", "payload.loss_reason", "fraction_equal", "1",
                   "share of satellites whose loss reason is {flag}", per_flag=True),
            Metric("constellation.lost_pflops_{flag}", "payload.lost_flops", "sum", "PFLOP s-1",
                   "compute lost by satellites whose loss reason is {flag}", scale=1e-15,
                   where_variable="payload.loss_reason", per_flag=True)]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    return _stages.make_stages(_model(scenario, cfg), state, default_policy=cfg.policy == "default")


@hookimpl
def orbitwin_mass_budget(scenario: Any) -> list[MassItem] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    hw = cfg.hardware
    return [MassItem(f"servers: {cfg.count} x {hw.name}", cfg.server_mass_kg,
                     "terrestrial server mass per accelerator: " + (
                         "[payload] server_mass_kg_per_accelerator" if cfg.server_mass_kg_per_accelerator
                         else hw.source))]


@hookimpl
def orbitwin_power_budget(scenario: Any) -> list[PowerItem] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    hw, n = cfg.hardware, cfg.count
    chips = n * hw.tdp_w * cfg.training_power_fraction
    return [PowerItem(f"accelerators, training: {n} x {hw.name}", -chips, hw.source),
            PowerItem("host overhead (CPU, memory, network, conversion)", -chips * cfg.overhead,
                      f"{cfg.overhead:.2f} x accelerator power: " + ("[payload] host_overhead_fraction"
                      if cfg.host_overhead_fraction is not None else f"catalog entry {hw.name} (vendor system)"))]


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    """Delivered PFLOP/s-days, the share of installed compute delivered and the split of
    lost compute by reason, from the ``constellation`` group.

    Integration: right-point rectangle rule over the group's own time coordinate,
    ``sum_j y_j (t_j - t_j-1)``: the engine's step convention (a step labelled t delivers
    at its rate at t over (t - dt, t]), exact when the metrics are kept every step (the
    default) and first-order when they are kept only at records. Without a time
    coordinate the samples are taken ``record_every_s`` apart; unwritten (NaN) samples of
    an incomplete run are left out.
    """
    if "constellation" not in store or "constellation.delivered_pflops" not in store["constellation"]:
        return None
    con = store["constellation"]
    delivered_y = np.asarray(con["constellation.delivered_pflops"][:], dtype=np.float64)
    if "time" in con:
        t = np.asarray(con["time"][:], dtype=np.float64) / 1000.0  # int64 ms since the epoch
    else:
        t = np.arange(delivered_y.size) * float(store.attrs["record_every_s"])
    ok = np.isfinite(delivered_y)
    ok[0] = False  # the epoch sample closes no step
    widths = np.diff(t, prepend=t[0])

    def integral(name: str) -> float:  # [PFLOP/s x s]
        if name not in con:
            return 0.0
        y = np.asarray(con[name][:], dtype=np.float64)
        return float(np.sum(np.where(ok & np.isfinite(y), y, 0.0) * widths))

    delivered, lost = integral("constellation.delivered_pflops"), integral("constellation.lost_pflops")
    of_active = " (of the active satellites)" if "constellation.active_satellites" in con else ""
    rows = [("delivered compute", f"{delivered / 86400.0:.4g} PFLOP/s-days (dense bf16 peak equivalents)"),
            ("share of installed compute delivered",
             f"{100.0 * delivered / (delivered + lost):.1f} %{of_active}" if delivered + lost > 0 else "n/a")]
    named = 0.0
    for code, meaning in _reason_table(store).items():  # the payload's reasons and those plugins added
        name = "constellation.lost_pflops_" + re.sub(r"[^a-z0-9]+", "_", meaning.lower()).strip("_")
        if code == NONE or (of_active and name not in con):  # a reason only inactive satellites have
            continue
        part = integral(name)
        named += part
        rows.append((f"lost compute: {meaning}", f"{100.0 * part / lost:.1f} % of lost" if lost > 0 else "0"))
    rows.append(("lost compute: none (idle by choice, throughput below peak)",
                 f"{100.0 * max(lost - named, 0.0) / lost:.1f} % of lost" if lost > 0 else "0"))
    return rows


def _reason_table(store: Any) -> dict[int, str]:
    """Loss-reason codes and meanings as the store records them (CF flag attributes of
    ``sat/payload.loss_reason``), plugins' reasons included; the payload's own without it."""
    try:
        attrs_ = store["sat"]["payload.loss_reason"].attrs
        values, meanings = list(attrs_["flag_values"]), str(attrs_["flag_meanings"]).split()
        return {int(v): m.replace("_", " ") for v, m in zip(values, meanings)}
    except (KeyError, TypeError):
        return dict(REASONS)


__all__ = ["PayloadConfig", "REASONS", "STATES"]
