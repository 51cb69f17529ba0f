"""Constellation totals (`Metric`), reduced inside the fused kernel at every step.

Each metric has a float64 accumulator per kernel block and step: the one thread that owns
a block adds (or takes the min/max of) its satellites' values in index order, in a
register, with no atomics. After a launch a second kernel folds the blocks of each store
chunk in order, and the host folds the chunks in order (`finalize`): the same constellation gives the same
bytes whether it ran in one process or in shards, because shards are unions of whole
chunks and the partial of a chunk does not depend on who computed it.

For ``mean`` and ``fraction_*`` the divisor is the whole constellation's size, so a
conditioned metric (``where_variable``) and its complements add up to the unconditioned
one. In a run where some satellites are inactive (`twin_core.activity`), a metric folds
the active satellites only (unless ``all_satellites``), and the divisor is their count
at that step.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from twin_core.activity import divisor
from twin_core.declarations import Metric

_COUNTING = ("fraction_below", "fraction_above", "fraction_equal")


def identity(metric: Metric) -> float:
    """The accumulator's starting value."""
    return {"min": np.inf, "max": -np.inf}.get(metric.reduce, 0.0)


def make_accumulator(metric: Metric, value: Any, where: Any, active: Any = None) -> Callable:
    """A ``ti.func (acc, i) -> acc`` folding satellite ``i``'s value into a block's
    running value ``acc`` (a register in the fused kernel); with ``active`` (the
    ``sat.active`` field), satellite ``i`` only while it is active."""
    import taichi as ti

    r = metric.reduce
    thr = float(metric.threshold) if metric.threshold is not None else 0.0
    weq = float(metric.where_equal) if metric.where_equal is not None else 0.0
    conditioned = where is not None
    where_f = where if conditioned else value  # any field; unused when not conditioned
    masked = active is not None and not metric.all_satellites
    active_f = active if masked else value  # any field; unused when not masked

    @ti.func
    def fold(acc, i):
        out = acc
        ok = True
        if ti.static(conditioned):
            ok = ti.cast(where_f[i], ti.f64) == weq
        if ti.static(masked):
            ok = ok and active_f[i] != 0
        if ok:
            v = ti.cast(value[i], ti.f64)
            if ti.static(r == "min"):
                out = ti.min(acc, v)
            elif ti.static(r == "max"):
                out = ti.max(acc, v)
            elif ti.static(r == "fraction_below"):
                out = acc + (1.0 if v < thr else 0.0)
            elif ti.static(r == "fraction_above"):
                out = acc + (1.0 if v > thr else 0.0)
            elif ti.static(r == "fraction_equal"):
                out = acc + (1.0 if v == thr else 0.0)
            else:
                out = acc + v
        return out

    return fold


def fold_op(metric: Metric) -> str:
    """How partials combine: ``sum``, ``min`` or ``max``."""
    return metric.reduce if metric.reduce in ("min", "max") else "sum"


def finalize(metric: Metric, chunks: np.ndarray, n_total: int, active: np.ndarray | None = None) -> np.ndarray:
    """Chunk partials ``(n_chunks, nsteps)`` of the whole constellation -> the metric's
    values ``(nsteps,)``, chunks folded in order; ``active``: the finalized count of
    active satellites at the same samples, where some may be inactive."""
    op = _op(metric)
    acc = chunks[0].copy()
    for j in range(1, chunks.shape[0]):
        acc = op(acc, chunks[j])
    if metric.reduce == "mean" or metric.reduce in _COUNTING:
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = acc / divisor(metric, n_total, active)  # NaN where no satellite is active
    if metric.reduce in ("min", "max"):
        acc = np.where(np.isfinite(acc), acc, np.nan)  # no satellite selected
    return acc * metric.scale


def _op(metric: Metric) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return {"min": np.minimum, "max": np.maximum}.get(metric.reduce, np.add)


def finalize_all(metrics: tuple[Metric, ...], parts: dict[str, np.ndarray], n_total: int) -> dict[str, np.ndarray]:
    """`finalize` every metric of ``parts`` (name -> chunk partials of the same samples),
    the count of active satellites first when the run has one."""
    from twin_core.activity import ACTIVE_COUNT

    by_name = {m.name: m for m in metrics}
    active = finalize(by_name[ACTIVE_COUNT], parts[ACTIVE_COUNT], n_total) if ACTIVE_COUNT in by_name else None
    return {m.name: finalize(m, parts[m.name], n_total, active) for m in metrics}


def reduce_numpy(metric: Metric, values: np.ndarray, where: np.ndarray | None = None,
                 active: np.ndarray | None = None) -> float:
    """Reference: the metric over one step's values, in plain numpy (tests, benchmark);
    ``active``: each satellite's ``sat.active`` where some may be inactive."""
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    if active is not None and not metric.all_satellites:
        keep = np.asarray(active) != 0
        v, n = v[keep], int(np.count_nonzero(keep))
        where = None if where is None else np.asarray(where)[keep]
    if metric.where_variable is not None:
        v = v[np.asarray(where, dtype=np.float64) == metric.where_equal]
    r = metric.reduce
    if r in ("min", "max"):
        out = float(getattr(np, r)(v)) if v.size else float("nan")
    elif r == "sum":
        out = float(v.sum())
    elif r == "mean":
        out = float(v.sum()) / n if n else float("nan")
    else:
        cmp = {"fraction_below": np.less, "fraction_above": np.greater, "fraction_equal": np.equal}[r]
        out = float(np.count_nonzero(cmp(v, metric.threshold))) / n if n else float("nan")
    return out * metric.scale
