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


def reduce_metric(metric: Metric, values: np.ndarray) -> float:
    """The metric's value over ``values`` (one per satellite)."""
    v = np.asarray(values)
    r = metric.reduce
    if r == "sum":
        out = float(np.sum(v, dtype=np.float64))
    elif r == "mean":
        out = float(np.sum(v, dtype=np.float64) / v.size)
    elif r == "min":
        out = float(np.min(v))
    elif r == "max":
        out = float(np.max(v))
    elif r == "fraction_below":
        out = float(np.count_nonzero(v < metric.threshold)) / v.size
    elif r == "fraction_above":
        out = float(np.count_nonzero(v > metric.threshold)) / v.size
    elif r == "fraction_equal":
        out = float(np.count_nonzero(v == metric.threshold)) / v.size
    else:  # pragma: no cover - validated by Metric
        raise ValueError(r)
    return out * metric.scale
