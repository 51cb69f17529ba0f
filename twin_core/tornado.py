"""One-at-a-time sensitivity (``orbitwin sweep --tornado``): which input moves a result most.

Each ``--vary KEY=LOW,HIGH`` is moved alone to its low and its high value with every
other input at the base scenario's value (`twin_core.sweepspec.tornado_cases`); the swing
of a case result (``cost.space_usd_per_pflop_day`` unless ``--metric`` names another) is

    swing = |result(KEY = HIGH) - result(KEY = LOW)|

and the keys are ranked by it, largest first (a key whose low or high case failed ranks
last, its swing unknown). The figure is the usual tornado: one horizontal bar per key from
the result at its low value to the result at its high value, across a vertical line at the
baseline's result, the largest swing on top. Limits: one key at a time, so interactions
between inputs do not show; the swing depends on the range given, so compare ranges of
like plausibility.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from twin_core.errors import UserError

DEFAULT_METRIC = "cost.space_usd_per_pflop_day"


@attrs.frozen
class TornadoRow:
    """One key: its low and high input values, the result at each, and the swing."""

    key: str
    low: Any
    high: Any
    at_low: float
    at_high: float

    @property
    def swing(self) -> float:
        return abs(self.at_high - self.at_low)


def result_names(root: Any) -> list[str]:
    """The case results in a sweep store (``(case,)`` float arrays with a plugin)."""
    return sorted(name for name, a in root.arrays() if a.ndim == 1 and "plugin" in a.attrs)


def tornado(output: str | Path, metric: str = DEFAULT_METRIC) -> tuple[float, str, list[TornadoRow]]:
    """``(baseline result, units, rows ranked by swing)`` from a tornado sweep store."""
    import zarr

    root = zarr.open_group(str(output), mode="r")
    if "tornado_key" not in root:
        raise UserError(f"{output} is not a tornado sweep (made without --tornado)")
    names = result_names(root)
    if metric not in names:
        raise UserError(f"--metric {metric}: no case result of that name in {output}; the cases give: "
                        + (", ".join(names) if names else "none (no plugin implements orbitwin_case_results, "
                                                          "or every case failed)")
                        + "; the cases are kept: rank them again with --resume --tornado --metric NAME")
    keys, sides = root["tornado_key"][...], root["tornado_side"][...]
    values = np.asarray(root[metric][...], dtype=np.float64)
    units = str(root[metric].attrs.get("units", ""))
    base = float(values[list(sides).index("baseline")])
    rows = []
    for key in dict.fromkeys(k for k in keys if k):
        lo = next(i for i, (k, s) in enumerate(zip(keys, sides)) if k == key and s == "low")
        hi = next(i for i, (k, s) in enumerate(zip(keys, sides)) if k == key and s == "high")
        coord = root[key][...] if key in root else [None] * len(keys)
        rows.append(TornadoRow(str(key), _plain(coord[lo]), _plain(coord[hi]), float(values[lo]), float(values[hi])))
    rows.sort(key=lambda r: (math.isnan(r.swing), -r.swing if not math.isnan(r.swing) else 0.0))
    return base, units, rows


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def figure_path(output: str | Path) -> Path:
    """``SWEEP.zarr`` -> ``SWEEP-tornado.png`` beside it."""
    out = Path(output)
    stem = out.name[:-5] if out.name.endswith(".zarr") else out.name
    return out.parent / f"{stem}-tornado.png"


def draw(base: float, units: str, rows: list[TornadoRow], metric: str, path: str | Path) -> Path:
    """Draw the tornado as a PNG (matplotlib, Agg: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if not math.isnan(r.swing)][::-1]  # largest on top
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * max(len(shown), 1)))
    for y, r in enumerate(shown):
        ax.barh(y, r.at_low - base, left=base, color="tab:blue", label="low value" if y == 0 else None)
        ax.barh(y, r.at_high - base, left=base, color="tab:orange", label="high value" if y == 0 else None)
    ax.axvline(base, color="black", linewidth=1)
    ax.set_yticks(range(len(shown)), [f"{r.key}\n{_fmt(r.low)} .. {_fmt(r.high)}" for r in shown], fontsize=8)
    ax.set_xlabel(f"{metric} [{units}]" if units else metric)
    ax.set_title(f"{metric}: one input at a time (baseline {base:.4g})", fontsize=10)
    if shown:
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
