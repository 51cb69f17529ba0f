"""Plugin ``failures``: payload failures as a Poisson process (table ``[failures]``).

Model
-----
Each satellite's payload works at the epoch and fails at a random time ``T``,
exponentially distributed with rate ``lambda = rate_per_satellite_year`` (the first
arrival of a Poisson process; memoryless, so the payload's age at the epoch does not
matter)::

    P(T > t) = exp(-lambda t),      T = E / lambda,   E ~ Exp(1)
    failures.available(t) = 0 if t >= T else 1

The share available is contributed as a limit to ``payload.available_fraction`` (a
`Combined` min owned by the payload plugin) with the reason ``"failure"``: a failed
payload draws no power and delivers no compute, and the payload plugin records its lost
compute under the loss reason "failure" (a code the engine assigns, read from the
store's ``flag_meanings``). Nothing is repaired.

With ``partial = true`` the failure takes one accelerator at a time: each of the ``N``
accelerators (``accelerators``, default ``[payload] count``) fails independently at
rate ``lambda / N``, so the first failure on a satellite still comes at rate ``lambda``
(as in whole-payload mode) and the payload runs on what is left::

    T_1 <= ... <= T_N   the N failure times, sorted;   n(t) = #{j : t >= T_j}
    failures.available(t) = 1 - n(t) / N,   E[available(t)] = exp(-lambda t / N)

Time convention: orbitwin's step labelled ``t`` covers ``(t - dt, t]`` and is evaluated
at ``t``, so the step containing ``T`` is lost whole: the lost compute of each failure is
rounded up to the end of its step (at most ``dt`` too much per failure).

Randomness: the times are drawn once, in ``orbitwin_initial_state``, from numpy's PCG64
seeded with ``SeedSequence([scenario.run.seed, STREAM])`` (``STREAM`` keeps these draws
apart from any other plugin's that use the same seed), for all ``state.n_total``
satellites in index order; each process keeps its own rows. So a run gives the same
times every time, a run split into shards (``--shards``, ``sat_range``) gives each
satellite the time it has in the whole run, and satellite ``i``'s time does not change
when satellites are added after it.

Default rate (``RATE_PER_SATELLITE_YEAR`` = 0.81 per satellite-year): the GPU-caused
unexpected interruptions of Meta's Llama 3 405B training run (Dubey et al., "The Llama 3
Herd of Models", arXiv:2407.21783, 2024, sec. 3.3.4 and Table 5): 419 unexpected
interruptions in a 54-day snapshot on 16,384 H100 GPUs in 8-GPU hosts, 58.7 % of them
GPU issues (the text's figure, the sum of the percentages of Table 5's GPU rows: faulty
GPU, HBM3, SRAM, GPU system processor, silent data corruption, thermal interface):
246 / 2,048 hosts / 54 d x 365.25 d/yr = 0.81 per 8-GPU host-year, 0.10 per GPU-year.
(The same rows' counts, 148 + 72 + 19 + 17 + 6 + 6 = 268, do not match their
percentages; they would give 0.88.)
ASSUMPTIONS behind using it for an orbital payload: (1) an interruption on the ground is
a permanent failure in orbit (nobody swaps the board; some of those interruptions were
cleared by a reset, which overstates the rate); (2) radiation (single-event effects,
dose) adds failures the ground rate lacks, which understates it; (3) the whole-payload
mode assumes no fault isolation (one GPU down takes the node down, as it takes a
synchronous training job down), ``partial = true`` assumes perfect isolation. Set the
rate for a payload with ``count`` other than 8 (0.10 x count for the same per-GPU rate).
For scale: whole spacecraft fail far less often (Castet and Saleh, "Satellite and
satellite subsystems reliability", Reliab. Eng. Syst. Saf. 94 (2009) 1718-1728: 1,584
satellites launched 1990-2008, a few percent lost in the first years, with strong
infant mortality).

Limits: a constant rate (no infant mortality or wear-out: Castet and Saleh fit a Weibull
shape below 1, falling hazard); failures independent between satellites and between
accelerators (no common cause such as a solar storm); no repair, no spares, no
degradation short of failure. The payload plugin records one loss reason per satellite
and step: a partly failed payload that is also power- or thermal-limited records the
power or thermal reason for all of its lost compute.

Validation: ``tests/test_failures_plugin.py`` of this package (the draw against the exponential
law, reproducibility across runs and shards, no compute after failure, the loss reason).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from orbitwin_reliability import __version__  # noqa: F401  (shown by `orbitwin plugins`)
from twin_core import Contribution, Metric, ScenarioError, Stage, Variable, hookimpl
from twin_core.validators import int_range, non_negative

TABLE = "failures"
#: Seconds in a Julian year [s].
SECONDS_PER_YEAR = 365.25 * 86400.0
#: Default failure rate of one satellite's payload [1/yr] (module docstring): 246
#: GPU-caused interruptions / 2,048 8-GPU hosts / 54 days, per year.
RATE_PER_SATELLITE_YEAR = 0.81
#: Second key of the seed sequence: ASCII "failures", so that these draws differ from
#: those of another plugin seeded with the same ``scenario.run.seed``.
STREAM = int.from_bytes(b"failures", "big")
#: Failure time of a payload that never fails (rate 0) [s]: finite, since the engine
#: refuses non-finite values in any float variable.
NEVER_S = 1e300
#: Most accelerators tracked one by one with ``partial = true`` (each is unrolled in the
#: kernel).
MAX_PARTIAL = 64
#: Loss reason recorded for compute lost to a failure.
REASON = "failure"


@attrs.frozen
class FailuresConfig:
    """Table ``[failures]`` (every key optional; the table's presence enables the plugin).

    Attributes:
        rate_per_satellite_year: rate of payload failures per satellite [1/yr]; default
            0.81, GPU-caused interruptions of 8-GPU H100 hosts (module docstring).
        partial: fail one accelerator at a time (each at rate / N) instead of the whole
            payload at once.
        accelerators: N, accelerators per satellite for ``partial``; default
            ``[payload] count``.
    """

    rate_per_satellite_year: float = attrs.field(default=RATE_PER_SATELLITE_YEAR, validator=non_negative)
    partial: bool = False
    accelerators: int | None = attrs.field(default=None,
                                           validator=attrs.validators.optional(int_range(1, MAX_PARTIAL)))


def draw_failure_times(seed: int, n_total: int, rate_per_year: float, accelerators: int = 1) -> np.ndarray:
    """Failure times [s since the epoch] of every satellite, shape ``(n_total,
    accelerators)``, each row sorted (module docstring). With ``accelerators = 1`` the
    whole payload fails at rate ``rate_per_year``; otherwise each accelerator fails at
    ``rate_per_year / accelerators``. Row ``i`` depends only on ``seed`` and ``i``."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), STREAM])))
    e = rng.standard_exponential(size=(n_total, accelerators))  # drawn in index order: prefix-stable
    if rate_per_year <= 0.0:
        return np.full((n_total, accelerators), NEVER_S)
    times = e * (SECONDS_PER_YEAR * accelerators / rate_per_year)
    return np.sort(np.minimum(times, NEVER_S), axis=1)


def available_numpy(times_s: np.ndarray, t_s: Any) -> np.ndarray:
    """``failures.available`` at times ``t_s`` (shape ``(k,)``) for failure times of shape
    ``(n, N)``: shape ``(k, n)``, float64."""
    t = np.asarray(t_s, dtype=np.float64)[:, None, None]
    times = np.asarray(times_s, dtype=np.float64)
    return 1.0 - (t >= times[None]).sum(axis=2) / times.shape[1]


def _config(scenario: Any) -> FailuresConfig | None:
    """The table when the scenario has one (its keys all have defaults, so the core
    builds a section even without the table: presence is read from the raw TOML)."""
    if scenario is None or TABLE not in scenario.raw:
        return None
    return scenario.section(TABLE)


def _count(scenario: Any, cfg: FailuresConfig) -> int:
    """Accelerators tracked one by one: 1 for whole-payload failures."""
    if not cfg.partial:
        return 1
    if cfg.accelerators is not None:
        return cfg.accelerators
    count = getattr(scenario.section("payload"), "count", None)
    if count is None:
        raise ScenarioError(scenario.path, "failures.accelerators", "needed with partial = true", None,
                            f"a whole number in [1, {MAX_PARTIAL}]", hint="no [payload] count to default to")
    if count > MAX_PARTIAL:
        raise ScenarioError(scenario.path, "failures.partial", "too many accelerators to track one by one",
                            count, f"[payload] count <= {MAX_PARTIAL}, or partial = false",
                            hint="or set failures.accelerators to a group count: each group fails as one")
    return int(count)


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {TABLE: FailuresConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    cfg = _config(scenario)
    if scenario is not None and cfg is None:
        return None
    out = [Variable("failures.time_s", "s", "time of the payload's failure (with partial = true: of its first "
                    "accelerator's), seconds since the epoch; 1e300 for never", "parameter", "f64"),
           Variable("failures.available", "1", "share of the payload's accelerators not failed", "output", "f32")]
    n = 1 if cfg is None else _count(scenario, cfg)
    if cfg is None or cfg.partial:
        out.append(Variable("failures.accelerator_times_s", "s", "failure time of each accelerator, sorted, "
                            "seconds since the epoch", "parameter", "f64", shape=(n,), record=False))
    return out


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    if _config(scenario) is None:
        return None
    return [Contribution("payload.available_fraction", "failures.available", reason=REASON)]


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    cfg = _config(scenario)
    if cfg is None:
        return
    n = _count(scenario, cfg)
    times = draw_failure_times(scenario.run.seed, state.n_total, cfg.rate_per_satellite_year, n)
    state.set("failures.time_s", times[:, 0])  # full-constellation rows; the state keeps its shard's
    if cfg.partial:
        state.set("failures.accelerator_times_s", times)


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    n = _count(scenario, cfg)
    return [Metric("constellation.payload_failed_fraction", "failures.available", "fraction_below", "1",
                   "share of satellites whose payload has failed" + (" entirely" if cfg.partial else ""),
                   threshold=0.5 / n),
            Metric("constellation.accelerators_working", "failures.available", "mean", "1",
                   "share of the constellation's accelerators not failed")]


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    if not state.has("payload.available_fraction"):
        raise ScenarioError(scenario.path, TABLE, "the failures plugin needs a payload to fail",
                            hint="add a [payload] table, or remove [failures]")
    import taichi as ti

    n = _count(scenario, cfg)
    time_f, avail_f = state.field("failures.time_s"), state.field("failures.available")

    if not cfg.partial:
        @ti.func
        def failures_state(i, k, t, dt):
            a = 1.0
            if t >= time_f[i]:
                a = 0.0
            avail_f[i] = ti.cast(a, ti.f32)

        return [Stage("failures.state", failures_state, writes=["failures.available"], reads=["failures.time_s"])]

    times_f = state.field("failures.accelerator_times_s")
    inv_n = 1.0 / n

    @ti.func
    def failures_partial(i, k, t, dt):
        failed = 0
        for j in ti.static(range(n)):
            if t >= times_f[i][j]:
                failed += 1
        avail_f[i] = ti.cast(1.0 - ti.cast(failed, ti.f64) * inv_n, ti.f32)

    return [Stage("failures.state", failures_partial, writes=["failures.available"],
                  reads=["failures.accelerator_times_s"])]


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    """How many payloads had failed by the end of the run (last written sample)."""
    if "constellation" not in store or "constellation.payload_failed_fraction" not in store["constellation"]:
        return None
    frac = np.asarray(store["constellation"]["constellation.payload_failed_fraction"][:], dtype=np.float64)
    frac = frac[np.isfinite(frac)]
    if frac.size == 0:
        return None
    n = int(store.attrs["n_sats"])
    return [("payloads failed by the end", f"{int(round(frac[-1] * n))} of {n} satellites ({100 * frac[-1]:.1f} %)")]


__all__ = ["FailuresConfig", "available_numpy", "draw_failure_times"]
