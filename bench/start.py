"""Where a run's start goes: process creation to the first record and to the store
complete, by phase, for a small scenario (issue 14, part 4).

Usage::

    python bench/start.py                    # one satellite, one day at 60 s, 10-min records
    python bench/start.py SCENARIO.toml --json
    python bench/start.py --repeats 5        # fresh processes; medians per phase

Each repeat is a fresh Python process (imports, taichi's start, the offline cache's load
all count), run with this script's own ``--child`` part. Times are from the process's
creation (``/proc/self/stat`` start time against ``/proc/uptime``, 10 ms resolution) to
the end of each phase, in the order `twin_core.runner.run_to_store` goes through them:

- ``imports``: ``import twin_core.cli``;
- ``plugins``: the plugin manager (entry points, plugin modules);
- ``scenario``, ``plan``: reading the scenario, the run's plan;
- ``engine``: taichi's start, the fields, the plugins' initial state and stages, the
  fused kernel's Python-to-IR pass;
- ``compile``: the kernels compiled, or loaded from taichi's offline cache (the first
  repeat warms the cache; it is not counted unless ``--repeats 1``);
- ``store``: the zarr store created (zarr's import included);
- ``first_record``: the epoch evaluated and handed to the store's writer;
- ``complete``: every record written and the store marked complete.

The whole command (``orbitwin run``: the lock, the store created aside and renamed, the
progress machinery, interpreter exit) takes 0.2-0.3 s more; time it as a whole with
``/usr/bin/time orbitwin run ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ONE_SATELLITE = """
[scenario]
name = "one satellite, one day"
epoch = "2026-03-20T00:00:00Z"
duration_h = 24
step_s = 60
record_every_s = 600

[[orbit.shell]]
kind = "walker_delta"
total = 1
planes = 1
altitude_km = 550
inclination = 53.0

[solar]
area_m2 = 20.0
[battery]
capacity_wh = 2000
[payload]
count = 2
accelerator = "H100-SXM"
[thermal]
radiator_area_m2 = 4.0
"""
PHASES = ("imports", "plugins", "scenario", "plan", "engine", "compile", "store", "first_record", "complete")


def _since_start() -> float:
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def child(scenario: str, out_dir: str) -> dict[str, float]:
    """The phases of one run in this process (module docstring)."""
    marks: dict[str, float] = {}
    import twin_core.cli  # noqa: F401

    marks["imports"] = _since_start()
    from twin_core.runner import load, plugin_manager

    pm = plugin_manager()
    marks["plugins"] = _since_start()
    sc = load(scenario, pm)
    marks["scenario"] = _since_start()
    from twin_core.plan import make_plan

    plan = make_plan(sc, pm)
    marks["plan"] = _since_start()
    from twin_core.engine import Engine

    engine = Engine(sc, pm, plan=plan)
    marks["engine"] = _since_start()
    engine.compile()
    marks["compile"] = _since_start()
    from twin_core.output import ZarrSink
    from twin_core.store import create_store, mark_complete

    path = str(Path(out_dir) / "run.zarr")
    create_store(path, engine.layout())
    marks["store"] = _since_start()

    class FirstRecord(ZarrSink):
        def record(self, *args, **kwargs):  # noqa: ANN002, ANN003
            marks.setdefault("first_record", _since_start())
            return super().record(*args, **kwargs)

    engine.run(FirstRecord(path))
    engine.close()
    mark_complete(path, engine.backend)
    marks["complete"] = _since_start()
    return marks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", help="a scenario file (default: one satellite for a day)")
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes counted, after one that warms the cache")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", metavar="OUT_DIR", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scenario = args.scenario
        if scenario is None:
            scenario = str(Path(tmp) / "one_satellite.toml")
            Path(scenario).write_text(ONE_SATELLITE)
        if args.child:
            print(json.dumps(child(scenario, args.child)))
            return 0
        runs = []
        for k in range(args.repeats + (1 if args.repeats > 1 else 0)):
            with tempfile.TemporaryDirectory() as out:
                done = subprocess.run([sys.executable, __file__, scenario, "--child", out], capture_output=True,
                                      text=True, check=True)
            if args.repeats == 1 or k > 0:
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    median = {p: statistics.median(r[p] for r in runs) for p in PHASES}
    if args.json:
        print(json.dumps({"repeats": len(runs), "median_s": median, "runs": runs}))
        return 0
    print(f"Process creation to the end of each phase, median of {len(runs)} fresh processes [s]:\n")
    print("| phase | at | took |\n|---|---:|---:|")
    prev = 0.0
    for p in PHASES:
        print(f"| {p} | {median[p]:.2f} | {median[p] - prev:.2f} |")
        prev = median[p]
    return 0


if __name__ == "__main__":
    sys.exit(main())
