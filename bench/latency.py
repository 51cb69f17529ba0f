"""Service latency at the end of a run: `orbitwin_plugins.latency.latency_of_store` in its
taichi kernels against its numpy reference (one Python iteration per record), on a store
already written, in one process (docs/latency.md, "Where it runs").

Usage::

    orbitwin run examples/walker_550km.toml -o /tmp/w.zarr
    python bench/latency.py /tmp/w.zarr                                # the scenario's [latency]
    python bench/latency.py /tmp/w.zarr --compute "[0, 800]" --json    # over the links to 2 holders

The scenario is read from ``--scenario`` (default: the store's own ``scenario`` text when
it has one, else examples/walker_550km.toml); ``--compute`` replaces ``latency.compute``.
Reported: ``kernel_first_s`` (the first call in this process: taichi's start, when not
started yet, and the kernels' compilation or cache load), ``kernel_s`` and ``numpy_s``
(the best of ``--repeats`` calls), ``speedup`` (numpy / kernel) and ``max_abs_diff_s``
(over the entries both serve; ``nan_pattern_equal`` says whether they serve the same ones).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _scenario(store, path: str | None, compute: str | None):
    from twin_core.runner import parse
    from twin_core.testing import plugin_manager

    if path:
        text, name = Path(path).read_text(encoding="utf-8"), path
    elif isinstance(store.attrs.get("scenario"), str):
        text, name = store.attrs["scenario"], "<store>"
    else:
        name = str(ROOT / "examples" / "walker_550km.toml")
        text = Path(name).read_text(encoding="utf-8")
    if compute is not None:
        text = re.sub(r"(?m)^compute\s*=.*$", "", text)  # a [latency] compute line, if any
        text = re.sub(r"(?m)^\[latency\]\s*$", f"[latency]\ncompute = {compute}", text, count=1)
    return parse(text, plugin_manager([]), path=name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store")
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--compute", default=None, help='e.g. "[0, 800]" or \'"any"\'')
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import zarr

    from orbitwin_plugins import latency

    store = zarr.open_group(args.store, mode="r")
    scenario = _scenario(store, args.scenario, args.compute)
    t0 = time.perf_counter()
    got = latency.latency_of_store(scenario, store)
    first = time.perf_counter() - t0
    times = {"kernel": [], "numpy": []}
    want = None
    for _ in range(max(1, args.repeats)):
        for method in times:
            t0 = time.perf_counter()
            out = latency.latency_of_store(scenario, store, method=method)
            times[method].append(time.perf_counter() - t0)
            if method == "numpy":
                want = out
    both = np.isfinite(got) & np.isfinite(want)
    row = {
        "store": args.store, "records": int(got.shape[0]), "users": int(got.shape[1]),
        "satellites": int(store.attrs["n_sats"]), "compute": scenario.section("latency").compute,
        "kernel_first_s": round(first, 4), "kernel_s": round(min(times["kernel"]), 4),
        "numpy_s": round(min(times["numpy"]), 4),
        "speedup": round(min(times["numpy"]) / min(times["kernel"]), 2),
        "max_abs_diff_s": float(np.max(np.abs(got[both] - want[both]), initial=0.0)),
        "nan_pattern_equal": bool(np.array_equal(np.isnan(got), np.isnan(want))),
    }
    if args.json:
        print(json.dumps(row))
    else:
        for k, v in row.items():
            print(f"{k:>18}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
