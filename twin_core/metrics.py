"""Reducing a per-satellite variable to a constellation total (`Metric`).

Sums are accumulated in float64 in satellite order (numpy's pairwise summation over a
contiguous array, which is deterministic for a given length), so the same run gives the
same bytes. Sharded runs combine partial results with `combine`, which is exact for
``min``, ``max`` and the counts behind ``fraction_*``, and deterministic for ``sum`` and
``mean`` because shard boundaries are fixed by the scenario.
"""

from __future__ import annotations

import numpy as np

from twin_core.declarations import Metric


def reduce_metric(metric: Metric, values: np.ndarray, where: np.ndarray | None = None) -> float:
    """The metric's value over ``values`` (one per satellite); ``where`` holds the values
    of ``metric.where_variable`` when the metric is conditional."""
    v = np.asarray(values)
    n = v.size
    if metric.where_variable is not None:
        v = v[np.asarray(where) == metric.where_equal]
    r = metric.reduce
    if v.size == 0:
        return 0.0 if r in ("sum", "mean") or r.startswith("fraction") else float("nan")
    if r == "sum":
        out = float(np.sum(v, dtype=np.float64))
    elif r == "mean":
        out = float(np.sum(v, dtype=np.float64) / n)
    elif r == "min":
        out = float(np.min(v))
    elif r == "max":
        out = float(np.max(v))
    elif r == "fraction_below":
        out = float(np.count_nonzero(v < metric.threshold)) / n
    elif r == "fraction_above":
        out = float(np.count_nonzero(v > metric.threshold)) / n
    elif r == "fraction_equal":
        out = float(np.count_nonzero(v == metric.threshold)) / n
    else:  # pragma: no cover - validated by Metric
        raise ValueError(r)
    return out * metric.scale
