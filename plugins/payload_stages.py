"""The payload's per-satellite arithmetic: numpy references and the taichi stages, both
built from one `PayloadModel` (no hooks; the configuration, the state powers ``P_s`` and
throughputs ``F_s`` and their sources are in `orbitwin_plugins.payload`).

Stages, in the engine's order:

``payload.policy`` (only with ``policy = "default"``) reads ``battery.soc`` and
``thermal.temperature_k`` of the previous step and writes two caps, contributed as limits
to ``payload.requested_state`` (reasons power-limited and thermal-limited), without
hysteresis::

    battery cap:  top if soc >= min_soc_training, inference if >= min_soc_inference,
                  idle if >= min_soc_idle, else off
                  (defaults: the battery's floor + 0.2, + 0.1, + 0.02)
    thermal cap:  top if T <= T_max - training_margin_k, inference if T <= T_max - inference_margin_k,
                  else idle

The engine then writes ``payload.requested_state = min(workload state, every limit
contributed)`` and ``payload.limit_reason``, the code of the limit that bound (the battery
cap on a tie with the thermal cap, as it comes first), and
``payload.available_fraction = min(1, every availability contributed)`` (accelerators
failed or held back by another plugin) with ``payload.availability_reason``.

``payload.demand`` writes ``payload.demand_w = a P_r`` of the requested state ``r``, after
the hardware's own thermal protection (at ``T >= max_temperature_k``, previous step, the
payload is held at idle whatever is requested), with ``a`` the available fraction (failed
accelerators draw nothing), and ``payload.min_power_w = a P_idle``: the power below which
the bus disconnects the payload rather than feed it energy it cannot use.

``payload.deliver`` reads ``power.payload_supply_w = S`` (``S <= P_r``) and writes
``payload.power_w = payload.heat_w = S`` exactly (all electrical power ends as heat in
the payload's thermal node). If ``S`` covers ``P_r`` the state is ``r`` and
``flops = F_r``. Otherwise (POWER-CAPPING APPROXIMATION) the state is the highest whose
``P_s <= S`` and the throughput is interpolated linearly in power between that state and
the next, ``flops = F_s + (F_s+1 - F_s)(S - P_s)/(P_s+1 - P_s)``: throughput in
proportion to the power above the lower state (real DVFS loses less throughput than
power, so this is pessimistic). Below idle power the payload is off (shed) and the
residue ``S`` is counted as drawn, so energy balances. ``lost_flops = N peak - flops``.

With availability ``a`` every power and throughput above scales by ``a``.

``payload.loss_reason``: 4 off (the payload's own battery rule asked for off); 3 shed
(supply below idle); 1 power-limited (supply below demand, or the battery cap bound);
2 thermal-limited (the thermal cap bound, or the hardware stepped down for temperature);
5 and up: the reason a plugin's contribution named, when its limit on the state bound
(also when it asked for off) or, with the payload otherwise running as asked, when its
limit on availability did; 0 none (running as asked; lost compute is then a throughput
below peak).

Without a ``power.payload_supply_w`` writer the supply equals the demand; without
``battery.soc`` or ``thermal.temperature_k`` the policy's cap for it is the top state. The numpy
functions below specify the stages (tested against them) and serve the numpy benchmark.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from twin_core import Stage
from twin_core.validators import SpecValueError

#: Default state-of-charge thresholds above the battery's floor for idle, inference and
#: training [1]: ASSUMPTIONS (the policy turns the payload off 2 points above the floor).
SOC_MARGINS = (0.02, 0.1, 0.2)
#: Supply counts as covering the demand within this relative and absolute slack, so that
#: float32 rounding in the power plugin does not read as power-limited [1], [W].
REL_SLACK, ABS_SLACK_W = 1e-5, 1e-3
#: Loss-reason code "off" (the payload's own rules turned it off), and the first code the
#: engine gives to a reason a plugin's contribution names (`twin_core.Combined`).
REASON_OFF_CODE, FIRST_CONTRIBUTED_REASON = 4, 5


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


def caps_numpy(m: PayloadModel, soc: Any = None, temp_k: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The default policy's two caps, ``(payload.soc_cap, payload.thermal_cap)``, from the
    previous step's state of charge and temperature (``None``: that cap is the top state)."""
    top = m.top_state
    soc = np.ones(np.shape(temp_k)) if soc is None else np.asarray(soc, dtype=np.float64)
    lo, mid, hi = m.min_soc
    b = np.where(soc >= hi, top, np.where(soc >= mid, min(top, 2), np.where(soc >= lo, 1, 0)))
    if temp_k is None:
        h = np.full(b.shape, top)
    else:
        t = np.asarray(temp_k, dtype=np.float64)
        h = np.where(t <= m.training_max_k, top, np.where(t <= m.inference_max_k, min(top, 2), 1))
    return b.astype(np.int8), h.astype(np.int8)


def policy_numpy(m: PayloadModel, soc: Any = None, temp_k: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The default policy alone: ``(requested_state, limit_reason)``, the caps of
    `caps_numpy` folded as the engine folds them (battery cap first, so it wins a tie)."""
    top = m.top_state
    b, h = (x.astype(np.int64) for x in caps_numpy(m, soc, temp_k))
    r = np.minimum(np.minimum(b, h), top)
    reason = np.where(r >= top, 0, np.where(h < b, 2, 1))
    return r.astype(np.int8), reason.astype(np.int8)


def effective_state_numpy(m: PayloadModel, requested: Any, temp_k: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(state after the hardware's thermal protection, whether it stepped down)``."""
    r = np.clip(np.asarray(requested, dtype=np.int64), 0, 3)
    if temp_k is None:
        return r, np.zeros(r.shape, bool)
    hot = np.asarray(temp_k) >= m.max_temperature_k
    return np.where(hot, np.minimum(r, 1), r), hot & (r > 1)


def demand_numpy(m: PayloadModel, requested: Any, temp_k: Any = None, available: Any = None) -> np.ndarray:
    """``payload.demand_w``: the power of the requested state after thermal protection,
    times the share of accelerators available."""
    a = 1.0 if available is None else np.clip(np.asarray(available, dtype=np.float64), 0.0, 1.0)
    return np.asarray(m.power_w)[effective_state_numpy(m, requested, temp_k)[0]] * a


def deliver_numpy(m: PayloadModel, supply_w: Any, requested: Any, temp_k: Any = None,
                  policy_reason: Any = None, available: Any = None,
                  availability_reason: Any = None) -> dict[str, np.ndarray]:
    """Every output of ``payload.deliver`` keyed by variable name (float64, int8 codes).
    ``policy_reason`` is the code of the limit that bound ``requested``
    (``payload.limit_reason``); ``available`` the share of accelerators available and
    ``availability_reason`` the code of what limited it."""
    r, throttled = effective_state_numpy(m, requested, temp_k)
    a = np.ones(r.shape) if available is None else np.clip(np.asarray(available, dtype=np.float64), 0.0, 1.0)
    a = np.broadcast_to(a, r.shape)
    why = np.zeros(r.shape, np.int64) if policy_reason is None else np.broadcast_to(policy_reason, r.shape)
    awhy = np.zeros(r.shape, np.int64) if availability_reason is None else np.broadcast_to(availability_reason,
                                                                                             r.shape)
    p, f = np.asarray(m.power_w), np.asarray(m.flops)
    d = p[r] * a
    s = d if supply_w is None else np.asarray(supply_w, dtype=np.float64)
    covered = s >= d - (REL_SLACK * d + ABS_SLACK_W)
    low = np.minimum(np.where(s >= p[2] * a, 2, np.where(s >= p[1] * a, 1, 0)), np.maximum(r - 1, 0))
    frac = (s - p[low] * a) / np.maximum((p[low + 1] - p[low]) * a, 1e-30)
    capped = np.where(low >= 1, (f[low] + (f[low + 1] - f[low]) * np.clip(frac, 0.0, 1.0)) * a, 0.0)
    running = (r > 0) & (a > 0)
    state = np.where(running, np.where(covered, r, low), 0)
    flops = np.where(running, np.where(covered, f[r] * a, capped), 0.0)
    ok = np.where(throttled, 2, why)
    ok = np.where((ok == 0) & (a < 1.0), awhy, ok)
    off = np.where(why >= FIRST_CONTRIBUTED_REASON, why, REASON_OFF_CODE)
    reason = np.where(r == 0, off, np.where(a <= 0, awhy, np.where(covered, ok, np.where(low >= 1, 1, 3))))
    return {"payload.state": state.astype(np.int8), "payload.power_w": s * 1.0, "payload.heat_w": s * 1.0,
            "payload.flops": flops, "payload.lost_flops": m.peak_flops - flops,
            "payload.loss_reason": reason.astype(np.int8)}


# --------------------------------------------------------------------------------------
# taichi stages
# --------------------------------------------------------------------------------------


def make_stages(m: PayloadModel, state: Any, default_policy: bool) -> list[Stage]:
    """The payload's stages over ``state``'s fields: the arithmetic of the references
    above, with every figure of ``m`` compiled in as a literal. ``payload.requested_state``
    and ``payload.available_fraction`` are `Combined` limits the engine writes from the
    contributions (the default policy's two caps among them)."""
    import taichi as ti

    p0, p1, p2, p3 = (float(x) for x in m.power_w)
    f0, f1, f2, f3 = (float(x) for x in m.flops)
    peak, top = float(m.peak_flops), int(m.top_state)
    t_max, t_train, t_inf = float(m.max_temperature_k), float(m.training_max_k), float(m.inference_max_k)
    soc_lo, soc_mid, soc_hi = (float(x) for x in m.min_soc)
    has_soc, has_t = state.has("battery.soc"), state.has("thermal.temperature_k")
    has_supply = state.has("power.payload_supply_w")
    req_f, dem_f, min_f, state_f, power_f, heat_f, flops_f, lost_f, reason_f, why_f = (
        state.field("payload." + n) for n in (
            "requested_state", "demand_w", "min_power_w", "state", "power_w", "heat_w", "flops", "lost_flops",
            "loss_reason", "limit_reason"))
    # nothing limits availability in this run: compile it in (1.0, folded away) instead of
    # reading it every step
    a_fixed = state.constant("payload.available_fraction")
    varying = a_fixed is None
    A_FIXED = 1.0 if varying else min(max(float(a_fixed), 0.0), 1.0)
    avail_f = state.field("payload.available_fraction") if varying else None
    awhy_f = state.field("payload.availability_reason") if varying else None
    soc_f = state.field("battery.soc") if has_soc else None
    temp_f = state.field("thermal.temperature_k") if has_t else None
    sup_f = state.field("power.payload_supply_w") if has_supply else None
    soc_cap_f = state.field("payload.soc_cap") if default_policy else None
    hot_cap_f = state.field("payload.thermal_cap") if default_policy else None
    prev_t = ["thermal.temperature_k"] if has_t else []
    own = FIRST_CONTRIBUTED_REASON

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
    def available(i):  # (share of accelerators available, the code of what limited it)
        a, why = A_FIXED, 0
        if ti.static(varying):
            a = ti.math.clamp(ti.cast(avail_f[i], ti.f64), 0.0, 1.0)
            why = ti.cast(awhy_f[i], ti.i32)
        return a, why

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
        soc_cap_f[i] = ti.cast(b, ti.i8)
        hot_cap_f[i] = ti.cast(h, ti.i8)

    @ti.func
    def payload_demand(i, k, t, dt):
        r_eff, _ = effective(i)
        a, _why = available(i)
        dem_f[i] = ti.cast(level(r_eff, p0, p1, p2, p3) * a, ti.f32)
        min_f[i] = ti.cast(p1 * a, ti.f32)

    @ti.func
    def payload_deliver(i, k, t, dt):
        r, throttled = effective(i)
        a, a_why = available(i)
        why = ti.cast(why_f[i], ti.i32)
        d = level(r, p0, p1, p2, p3) * a
        s = d
        if ti.static(has_supply):
            s = ti.cast(sup_f[i], ti.f64)
        state_out, flops, reason = 0, 0.0, REASON_OFF_CODE
        if r == 0:
            if why >= own:  # a plugin's limit turned the payload off
                reason = why
        elif a <= 0.0:
            reason = a_why
        elif s >= d - (REL_SLACK * d + ABS_SLACK_W):
            state_out, flops = r, level(r, f0, f1, f2, f3) * a
            reason = why
            if throttled == 1:
                reason = 2
            if reason == 0 and a < 1.0:
                reason = a_why
        elif s >= p1 * a:
            low = 2 if (s >= p2 * a and r == 3) else 1
            pl, ph = level(low, p0, p1, p2, p3) * a, level(low + 1, p0, p1, p2, p3) * a
            fl, fh = level(low, f0, f1, f2, f3) * a, level(low + 1, f0, f1, f2, f3) * a
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
        Stage("payload.demand", payload_demand, writes=["payload.demand_w", "payload.min_power_w"],
              reads=["payload.requested_state", "payload.available_fraction", "payload.availability_reason"],
              reads_previous=prev_t),
        Stage("payload.deliver", payload_deliver,
              writes=["payload.state", "payload.power_w", "payload.heat_w", "payload.flops",
                      "payload.lost_flops", "payload.loss_reason"],
              reads=["payload.requested_state", "payload.limit_reason", "payload.available_fraction",
                     "payload.availability_reason"] + (["power.payload_supply_w"] if has_supply else []),
              reads_previous=prev_t),
    ]  # availability stays in reads when compiled in: the order (after its combine stage) is the same
    if default_policy:
        stages.insert(0, Stage("payload.policy", payload_policy, writes=["payload.soc_cap", "payload.thermal_cap"],
                               reads_previous=(["battery.soc"] if has_soc else []) + prev_t))
    return stages


__all__ = ["PayloadModel", "caps_numpy", "deliver_numpy", "demand_numpy", "effective_state_numpy", "make_stages", "policy_numpy"]
