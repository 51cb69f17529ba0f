"""Wall time of a 5-case sweep on a local dask cluster of 1 and of 2 workers (issue 11).

Usage::

    python bench/sweep.py [--scenario examples/walker_550km.toml] [--vary solar.area_m2=45:65:5]
                          [--workers 1,2] [--hours 6] [--json]

What is measured: the wall seconds of `twin_core.sweep.run_sweep` from the call to its
return, everything a user waits for included: the local cluster's start (worker
processes that import orbitwin and start taichi once each), each case's build, kernel
load from taichi's offline cache, run and store, the case results, the commits, and the
cluster's close. ``per_case_s`` is the median of the cases' own wall times on their
workers (`wall_s` in the store). The speed-up from 1 to 2 workers is at most 2 and lower
by the fixed start of a cluster; with cases that fill the cores already (taichi runs one
thread per core of each worker's share), it measures the sweep's overhead more than its
parallelism. A first run on a cold taichi cache also compiles the kernels once per
worker; run it twice and read the second.

The scenario is the bundled Walker shell (1,584 satellites, full physics, links and
ground stations) shortened to ``--hours`` (default 6 h), so that each case lasts seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tomllib
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "examples" / "walker_550km.toml"))
    ap.add_argument("--vary", default="solar.area_m2=45:65:5", help="one --vary giving 5 cases")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--hours", type=float, default=6.0, help="the scenario's duration, shortened")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from twin_core.runner import parse, plugin_manager
    from twin_core.sweep import design_sweep, run_sweep
    from twin_core.sweepspec import apply
    from twin_core.tomlwrite import dumps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = plugin_manager()
    raw = tomllib.loads(Path(args.scenario).read_text())
    raw["scenario"].pop("duration_days", None)
    text = dumps(apply(raw, {"scenario.duration_h": args.hours}, args.scenario))
    scenario = parse(text, pm, args.scenario)
    design = design_sweep(scenario, pm, [args.vary])
    out: dict[str, object] = {"scenario": args.scenario, "hours": args.hours, "vary": args.vary,
                              "cases": len(design.cases), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(w) for w in args.workers.split(",")]:
            store = Path(tmp) / f"sweep-{n}.zarr"
            t0 = time.perf_counter()
            summary = run_sweep(design, pm, store, workers=n)
            wall = time.perf_counter() - t0
            import zarr

            per_case = np.asarray(zarr.open_group(str(store), mode="r")["wall_s"][...])
            out[f"wall_s_{n}_workers"] = round(wall, 2)
            out[f"per_case_s_{n}_workers"] = round(float(np.median(per_case)), 2)
            out[f"done_{n}_workers"] = summary["done"]
    if args.json:
        print(json.dumps(out, indent=1))
        return
    for k, v in out.items():
        print(f"{k:>24}: {v}")


if __name__ == "__main__":
    main()
