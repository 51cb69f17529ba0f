"""The payload's per-satellite arithmetic: numpy references and the taichi stages, both
built from one `PayloadModel` (no hooks; the configuration, the state powers ``P_s`` and
throughputs ``F_s`` and their sources are in `orbitwin_plugins.payload`).

Stages, in the engine's order:

``payload.policy`` (only with ``policy = "default"``) reads ``battery.soc`` and
``thermal.temperature_k`` of the previous step and asks for the ``workload`` state
(training by default) capped by the battery and the temperature, without hysteresis::

    battery cap:  top if soc >= min_soc_training, inference if >= min_soc_inference,
                  idle if >= min_soc_idle, else off
                  (defaults: the battery's floor + 0.2, + 0.1, + 0.02)
    thermal cap:  top if T <= T_max - training_margin_k, inference if T <= T_max - inference_margin_k,
                  else idle

It writes ``payload.requested_state`` and ``payload.policy_reason`` (why it asked for less:
thermal-limited when the thermal cap is the lower, power-limited otherwise).

``payload.demand`` writes ``payload.demand_w = P_r`` of the requested state ``r``, after
the hardware's own thermal protection: at ``T >= max_temperature_k`` (previous step) the
payload is held at idle whatever is requested.

``payload.deliver`` reads ``power.payload_supply_w = S`` (``S <= P_r``) and writes
``payload.power_w = payload.heat_w = S`` exactly (all electrical power ends as heat in
the payload's thermal node). If ``S`` covers ``P_r`` the state is ``r`` and
``flops = F_r``. Otherwise (POWER-CAPPING APPROXIMATION) the state is the highest whose
``P_s <= S`` and the throughput is interpolated linearly in power between that state and
the next, ``flops = F_s + (F_s+1 - F_s)(S - P_s)/(P_s+1 - P_s)``: throughput in
proportion to the power above the lower state (real DVFS loses less throughput than
power, so this is pessimistic). Below idle power the payload is off (shed) and the
residue ``S`` is counted as drawn, so energy balances. ``lost_flops = N peak - flops``.

``payload.loss_reason``: 4 off (requested off: battery at its floor, or the scheduler);
3 shed (supply below idle); 1 power-limited (supply below demand, or the policy stepped
down for the battery); 2 thermal-limited (the policy or the hardware stepped down for
temperature); 0 none (running as asked; lost compute is then idle time by choice or a
throughput below peak).

Without a ``power.payload_supply_w`` writer the supply equals the demand; without
``battery.soc`` or ``thermal.temperature_k`` the policy ignores that limit. The numpy
functions below specify the stages (tested against them) and serve the numpy benchmark.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from twin_core import BuildError, Stage
from twin_core.validators import SpecValueError

#: Default state-of-charge thresholds above the battery's floor for idle, inference and
#: training [1]: ASSUMPTIONS (the policy turns the payload off 2 points above the floor).
SOC_MARGINS = (0.02, 0.1, 0.2)
#: Supply counts as covering the demand within this relative and absolute slack, so that
#: float32 rounding in the power plugin does not read as power-limited [1], [W].
REL_SLACK, ABS_SLACK_W = 1e-5, 1e-3


@attrs.frozen
class PayloadModel:
    """Resolved per-satellite figures (`PayloadModel.from_config`).

    Attributes:
        power_w: ``P_s`` for s = off, idle, inference, training [W per satellite].
        throughput: ``f_s``, fraction of the dense peak delivered in each state [1].
        peak_flops: installed dense bf16 peak per satellite [FLOP/s].
        top_state: the state the default policy asks for when nothing limits it.
        max_temperature_k: at or above it the hardware holds the payload at idle [K].
        training_max_k, inference_max_k: hottest node at which the policy trains / infers [K].
        min_soc: lowest state of charge for idle, inference, training [1].
    """

    power_w: tuple[float, float, float, float]
    throughput: tuple[float, float, float, float]
    peak_flops: float
    top_state: int
    max_temperature_k: float
    training_max_k: float
    inference_max_k: float
    min_soc: tuple[float, float, float]

    @classmethod
    def from_config(cls, cfg: Any, battery_floor: float = 0.0) -> "PayloadModel":
        """Resolve a `PayloadConfig` (and the battery's floor, for the default SOC
        thresholds); a `SpecValueError` naming a key the scenario set if the thresholds
        do not rise idle <= inference <= training."""
        hw, n = cfg.hardware, cfg.count
        watts = n * (1.0 + cfg.overhead) * hw.tdp_w
        keys = ("min_soc_idle", "min_soc_inference", "min_soc_training")
        given = [getattr(cfg, k) for k in keys]
        soc = tuple(min(v if v is not None else battery_floor + m, 1.0) for v, m in zip(given, SOC_MARGINS))
        if not soc[0] <= soc[1] <= soc[2]:
            key = next((k for k, v in zip(keys, given) if v is not None), keys[0])
            raise SpecValueError(key, getattr(cfg, key), f"a threshold with min_soc_idle <= min_soc_inference <= "
                                 f"min_soc_training; with a battery floor of {battery_floor:g} they are "
                                 + " / ".join(f"{x:g}" for x in soc))
        return cls(power_w=(0.0, watts * cfg.idle_fraction, watts * cfg.inference_power_fraction,
                            watts * cfg.training_power_fraction),
                   throughput=(0.0, 0.0, cfg.inference_throughput, cfg.training_throughput),
                   peak_flops=n * hw.peak_bf16_flops, top_state=3 if cfg.workload == "training" else 2,
                   max_temperature_k=cfg.max_temperature_k,
                   training_max_k=cfg.max_temperature_k - cfg.training_margin_k,
                   inference_max_k=cfg.max_temperature_k - cfg.inference_margin_k, min_soc=soc)

    @property
    def flops(self) -> tuple[float, ...]:
        """``F_s = peak f_s`` [FLOP/s per satellite]."""
        return tuple(self.peak_flops * f for f in self.throughput)


# --------------------------------------------------------------------------------------
# numpy references
# --------------------------------------------------------------------------------------


def policy_numpy(m: PayloadModel, soc: Any = None, temp_k: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The default policy: ``(requested_state, policy_reason)`` from the previous step's
    state of charge and temperature (``None``: that limit is ignored)."""
    top = m.top_state
    soc = np.ones(np.shape(temp_k)) if soc is None else np.asarray(soc, dtype=np.float64)
    lo, mid, hi = m.min_soc
    b = np.where(soc >= hi, top, np.where(soc >= mid, min(top, 2), np.where(soc >= lo, 1, 0)))
    if temp_k is None:
        h = np.full(b.shape, top)
    else:
        t = np.asarray(temp_k, dtype=np.float64)
        h = np.where(t <= m.training_max_k, top, np.where(t <= m.inference_max_k, min(top, 2), 1))
    r = np.minimum(b, h)
    reason = np.where(r >= top, 0, np.where(h < b, 2, 1))
    return r.astype(np.int8), reason.astype(np.int8)


def effective_state_numpy(m: PayloadModel, requested: Any, temp_k: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(state after the hardware's thermal protection, whether it stepped down)``."""
    r = np.clip(np.asarray(requested, dtype=np.int64), 0, 3)
    if temp_k is None:
        return r, np.zeros(r.shape, bool)
    hot = np.asarray(temp_k) >= m.max_temperature_k
    return np.where(hot, np.minimum(r, 1), r), hot & (r > 1)


def demand_numpy(m: PayloadModel, requested: Any, temp_k: Any = None) -> np.ndarray:
    """``payload.demand_w``: the power of the requested state after thermal protection."""
    return np.asarray(m.power_w)[effective_state_numpy(m, requested, temp_k)[0]]


def deliver_numpy(m: PayloadModel, supply_w: Any, requested: Any, temp_k: Any = None,
                  policy_reason: Any = None) -> dict[str, np.ndarray]:
    """Every output of ``payload.deliver`` keyed by variable name (float64, int8 codes)."""
    r, throttled = effective_state_numpy(m, requested, temp_k)
    p, f = np.asarray(m.power_w), np.asarray(m.flops)
    d = p[r]
    s = d if supply_w is None else np.asarray(supply_w, dtype=np.float64)
    covered = s >= d - (REL_SLACK * d + ABS_SLACK_W)
    low = np.minimum(np.where(s >= p[2], 2, np.where(s >= p[1], 1, 0)), np.maximum(r - 1, 0))
    frac = (s - p[low]) / np.maximum(p[low + 1] - p[low], 1e-30)
    capped = np.where(low >= 1, f[low] + (f[low + 1] - f[low]) * np.clip(frac, 0.0, 1.0), 0.0)
    state = np.where(r == 0, 0, np.where(covered, r, low))
    flops = np.where(r == 0, 0.0, np.where(covered, f[r], capped))
    ok = np.where(throttled, 2, 0 if policy_reason is None else np.asarray(policy_reason))
    reason = np.where(r == 0, 4, np.where(covered, ok, np.where(low >= 1, 1, 3)))
    return {"payload.state": state.astype(np.int8), "payload.power_w": s * 1.0, "payload.heat_w": s * 1.0,
            "payload.flops": flops, "payload.lost_flops": m.peak_flops - flops,
            "payload.loss_reason": reason.astype(np.int8)}


# --------------------------------------------------------------------------------------
# taichi stages
# --------------------------------------------------------------------------------------


def make_stages(m: PayloadModel, state: Any, default_policy: bool) -> list[Stage]:
    """The payload's stages over ``state``'s fields: the arithmetic of the references
    above, with every figure of ``m`` compiled in as a literal."""
    import taichi as ti

    if not default_policy and not state.has("payload.requested_state"):
        raise BuildError("[payload] policy = 'external' needs a plugin that declares and writes "
                         "'payload.requested_state' (codes 0 off, 1 idle, 2 inference, 3 training); none is "
                         "loaded: load the scheduler plugin, or use policy = 'default'")
    p0, p1, p2, p3 = (float(x) for x in m.power_w)
    f0, f1, f2, f3 = (float(x) for x in m.flops)
    peak, top = float(m.peak_flops), int(m.top_state)
    t_max, t_train, t_inf = float(m.max_temperature_k), float(m.training_max_k), float(m.inference_max_k)
    soc_lo, soc_mid, soc_hi = (float(x) for x in m.min_soc)
    has_soc, has_t = state.has("battery.soc"), state.has("thermal.temperature_k")
    has_supply = state.has("power.payload_supply_w")
    req_f, dem_f, state_f, power_f, heat_f, flops_f, lost_f, reason_f = (state.field("payload." + n) for n in (
        "requested_state", "demand_w", "state", "power_w", "heat_w", "flops", "lost_flops", "loss_reason"))
    soc_f = state.field("battery.soc") if has_soc else None
    temp_f = state.field("thermal.temperature_k") if has_t else None
    sup_f = state.field("power.payload_supply_w") if has_supply else None
    why_f = state.field("payload.policy_reason") if default_policy else None
    prev_t = ["thermal.temperature_k"] if has_t else []

    @ti.func
    def level(s, v0, v1, v2, v3):  # value of state s from four literals
        out = v0
        if s == 1:
            out = v1
        elif s == 2:
            out = v2
        elif s == 3:
            out = v3
        return out

    @ti.func
    def effective(i):  # (requested state after thermal protection, whether it stepped down)
        r = ti.math.clamp(ti.cast(req_f[i], ti.i32), 0, 3)
        r_eff, throttled = r, 0
        if ti.static(has_t):
            if temp_f[i] >= t_max:
                r_eff = ti.min(r, 1)
                throttled = 1 if r > 1 else 0
        return r_eff, throttled

    @ti.func
    def payload_policy(i, k, t, dt):
        soc, temp = 1.0, -1.0
        if ti.static(has_soc):
            soc = ti.cast(soc_f[i], ti.f64)
        if ti.static(has_t):
            temp = ti.cast(temp_f[i], ti.f64)
        b = 0
        if soc >= soc_hi:
            b = top
        elif soc >= soc_mid:
            b = ti.min(top, 2)
        elif soc >= soc_lo:
            b = 1
        h = top
        if ti.static(has_t):
            if temp > t_inf:
                h = 1
            elif temp > t_train:
                h = ti.min(top, 2)
        r = ti.min(b, h)
        why = 0
        if r < top:
            why = 2 if h < b else 1
        req_f[i] = ti.cast(r, ti.i8)
        why_f[i] = ti.cast(why, ti.i8)

    @ti.func
    def payload_demand(i, k, t, dt):
        r_eff, _ = effective(i)
        dem_f[i] = ti.cast(level(r_eff, p0, p1, p2, p3), ti.f32)

    @ti.func
    def payload_deliver(i, k, t, dt):
        r, throttled = effective(i)
        d = level(r, p0, p1, p2, p3)
        s = d
        if ti.static(has_supply):
            s = ti.cast(sup_f[i], ti.f64)
        state_out, flops, reason = 0, 0.0, 4
        if r > 0:
            if s >= d - (REL_SLACK * d + ABS_SLACK_W):
                state_out, flops = r, level(r, f0, f1, f2, f3)
                reason = 2 if throttled == 1 else 0
                if ti.static(default_policy):
                    if throttled == 0:
                        reason = ti.cast(why_f[i], ti.i32)
            elif s >= p1:
                low = 2 if (s >= p2 and r == 3) else 1
                pl, ph = level(low, p0, p1, p2, p3), level(low + 1, p0, p1, p2, p3)
                fl, fh = level(low, f0, f1, f2, f3), level(low + 1, f0, f1, f2, f3)
                frac = ti.math.clamp((s - pl) / ti.max(ph - pl, 1e-30), 0.0, 1.0)
                state_out, flops, reason = low, fl + (fh - fl) * frac, 1
            else:
                reason = 3
        state_f[i] = ti.cast(state_out, ti.i8)
        power_f[i] = ti.cast(s, ti.f32)
        heat_f[i] = ti.cast(s, ti.f32)
        flops_f[i] = ti.cast(flops, ti.f32)
        lost_f[i] = ti.cast(peak - flops, ti.f32)
        reason_f[i] = ti.cast(reason, ti.i8)

    stages = [
        Stage("payload.demand", payload_demand, writes=["payload.demand_w"], reads=["payload.requested_state"],
              reads_previous=prev_t),
        Stage("payload.deliver", payload_deliver,
              writes=["payload.state", "payload.power_w", "payload.heat_w", "payload.flops",
                      "payload.lost_flops", "payload.loss_reason"],
              reads=["payload.requested_state"] + (["power.payload_supply_w"] if has_supply else [])
              + (["payload.policy_reason"] if default_policy else []),
              reads_previous=prev_t),
    ]
    if default_policy:
        stages.insert(0, Stage("payload.policy", payload_policy,
                               writes=["payload.requested_state", "payload.policy_reason"],
                               reads_previous=(["battery.soc"] if has_soc else []) + prev_t))
    return stages


__all__ = ["PayloadModel", "deliver_numpy", "demand_numpy", "effective_state_numpy", "make_stages", "policy_numpy"]
