"""Constellation totals (`Metric`), reduced inside the fused kernel at every step.

Each metric has a float64 accumulator per kernel block and step: the one thread that owns
a block adds (or takes the min/max of) its satellites' values in index order, with no
atomics. After a launch the host combines the blocks of each store chunk in order, then
the chunks in order (`combine_blocks`, `finalize`): the same constellation gives the same
bytes whether it ran in one process or in shards, because shards are unions of whole
chunks and the partial of a chunk does not depend on who computed it.

For ``mean`` and ``fraction_*`` the divisor is the whole constellation's size, so a
conditioned metric (``where_variable``) and its complements add up to the unconditioned
one.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from twin_core.declarations import Metric

_COUNTING = ("fraction_below", "fraction_above", "fraction_equal")


def identity(metric: Metric) -> float:
    """The accumulator's starting value."""
    return {"min": np.inf, "max": -np.inf}.get(metric.reduce, 0.0)


def make_accumulator(metric: Metric, value: Any, where: Any, acc: Any) -> Callable:
    """A ``ti.func (b, k, i)`` folding satellite ``i``'s value into ``acc[b, k]``."""
    import taichi as ti

    r = metric.reduce
    thr = float(metric.threshold) if metric.threshold is not None else 0.0
    weq = float(metric.where_equal) if metric.where_equal is not None else 0.0
    conditioned = where is not None
    where_f = where if conditioned else value  # any field; unused when not conditioned

    @ti.func
    def selected(i):
        ok = True
        if ti.static(conditioned):
            ok = ti.cast(where_f[i], ti.f64) == weq
        return ok

    @ti.func
    def term(i):
        v = ti.cast(value[i], ti.f64)
        out = v
        if ti.static(r == "fraction_below"):
            out = 1.0 if v < thr else 0.0
        elif ti.static(r == "fraction_above"):
            out = 1.0 if v > thr else 0.0
        elif ti.static(r == "fraction_equal"):
            out = 1.0 if v == thr else 0.0
        return out

    @ti.func
    def fold(b, k, i):
        if selected(i):
            if ti.static(r == "min"):
                acc[b, k] = ti.min(acc[b, k], term(i))
            elif ti.static(r == "max"):
                acc[b, k] = ti.max(acc[b, k], term(i))
            else:
                acc[b, k] += term(i)

    return fold


def combine_blocks(metric: Metric, blocks: np.ndarray, chunk_first_block: np.ndarray) -> np.ndarray:
    """Block partials ``(n_blocks, nsteps)`` -> chunk partials ``(n_chunks, nsteps)``,
    each chunk's blocks folded in order."""
    op = _op(metric)
    out = np.empty((len(chunk_first_block) - 1, blocks.shape[1]))
    for c in range(len(chunk_first_block) - 1):
        a, b = chunk_first_block[c], chunk_first_block[c + 1]
        acc = blocks[a].copy()
        for j in range(a + 1, b):
            acc = op(acc, blocks[j])
        out[c] = acc
    return out


def finalize(metric: Metric, chunks: np.ndarray, n_total: int) -> np.ndarray:
    """Chunk partials ``(n_chunks, nsteps)`` of the whole constellation -> the metric's
    values ``(nsteps,)``, chunks folded in order."""
    op = _op(metric)
    acc = chunks[0].copy()
    for j in range(1, chunks.shape[0]):
        acc = op(acc, chunks[j])
    if metric.reduce == "mean" or metric.reduce in _COUNTING:
        acc = acc / n_total
    if metric.reduce in ("min", "max"):
        acc = np.where(np.isfinite(acc), acc, np.nan)  # no satellite selected
    return acc * metric.scale


def _op(metric: Metric) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return {"min": np.minimum, "max": np.maximum}.get(metric.reduce, np.add)


def reduce_numpy(metric: Metric, values: np.ndarray, where: np.ndarray | None = None) -> float:
    """Reference: the metric over one step's values, in plain numpy (tests, benchmark)."""
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    if metric.where_variable is not None:
        v = v[np.asarray(where, dtype=np.float64) == metric.where_equal]
    r = metric.reduce
    if r in ("min", "max"):
        out = float(getattr(np, r)(v)) if v.size else float("nan")
    elif r == "sum":
        out = float(v.sum())
    elif r == "mean":
        out = float(v.sum()) / n
    else:
        cmp = {"fraction_below": np.less, "fraction_above": np.greater, "fraction_equal": np.equal}[r]
        out = float(np.count_nonzero(cmp(v, metric.threshold))) / n
    return out * metric.scale
