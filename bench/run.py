"""The benchmark of issue 4: the full default physics on a Walker shell, taichi engine
against plain numpy, in one process, plus a real run to zarr in a fresh one.

Usage::

    python bench/run.py --sats 1000000 --days 0.05 [--step 10] [--record-every 600] [--json]
    python bench/run.py --table [--days 0.05]      # markdown rows for docs/performance.md
    python bench/run.py --sats 1584 --links --days 0.02 --parts kernel,numpy --json   # issue 10
    python bench/run.py --links-table [--repeats 2]  # with and without links, medians

What is measured, and why it is measured that way:

``engine_sat_steps_per_s``
    The engine's kernels: ``engine.stats["sat_steps"] / (kernel_s + coupling_s)`` of a
    run whose records go nowhere (`NullSink`): the fused kernel's launches and, with
    links, the coupling passes between them (without links ``coupling_s`` is 0, and this
    is the fused kernel alone). Every kernel is compiled (or loaded from taichi's offline
    cache) by ``engine.compile()`` before the run, so no launch or pass timed compiles
    (``engine_first_launch_s`` is that compile). Records are still gathered (one small
    kernel per record), but not counted. ``engine_kernel_sat_steps_per_s`` is the fused
    kernel alone.
``engine_cpu_ns_per_sat_step``
    Process CPU time (every thread) of those launches and passes per satellite-step.
Links (``--links``, issue 10: `bench.scenario.LINKS`, a +grid of 2 link slots per satellite)
    ``links`` evaluated per pass (every link of the shell), ``coupling_passes`` timed,
    ``engine_kernel_s`` and ``engine_coupling_s`` apart, ``coupling_share`` (coupling /
    (kernel + coupling)), ``engine_links_per_s`` = links x passes / coupling_s (the
    per-satellite stage is in that time too), ``engine_coupling_cpu_ns_per_link``.
    ``numpy_links_per_s``: `bench.numpy_physics.NumpyLinks`, the same pass over the same
    link list in whole-array numpy, one core, positions of the whole shell from the numpy
    orbit (`orbitwin_plugins.orbit.propagate_numpy`, not timed: the engine's pass does not
    propagate either) at successive pass times, timed past ``--numpy-seconds``;
    ``links_ratio_vs_numpy`` is engine / numpy links per second. With links,
    ``numpy_sat_steps_per_s`` is the numpy twin (which then folds the terminals' power
    into the bus demand, as the kernel does) plus the link pass's cost per satellite-step
    (``links / N / coupling_steps`` passes' worth of links), ``numpy_twin_sat_steps_per_s``
    the twin alone.
``numpy_sat_steps_per_s``
    `bench.numpy_physics.NumpyTwin` (the same physics, from the plugins' numpy
    references) over the first ``min(N, --numpy-sats)`` satellites, stepped until more
    than ``--numpy-seconds`` have passed, totals included (the kernel folds them at every
    step too). The same process, after the engine's run, so both see the same machine.
    numpy runs on one core; the engine on every core taichi was given.
``end_to_end_s``, ``start_to_first_record_s``
    A fresh Python process (so imports, taichi's start, the plan, allocation and the
    kernel's compilation or cache load all count) runs the scenario into a zarr store in
    a temporary directory with `twin_core.runner.run_to_store`. Times are measured from
    the process's creation (``/proc/self/stat`` start time against ``/proc/uptime``,
    10 ms resolution): to the first record handed to the store's writer (the evaluation at
    the epoch), and to the store marked complete. ``end_to_end_sat_steps_per_s`` is
    ``N x steps / end_to_end_s``.
``peak_rss_mb``
    ``ru_maxrss`` of the end-to-end process: the memory a user's run needs. The bench
    process's own peak (engine, numpy slice, numpy links) is ``bench_peak_rss_mb``, and
    the engine's part alone ``kernel_peak_rss_mb`` (the peak as the kernel part ends; the
    numpy part runs after it).
``state_bytes_per_sat``
    ``engine.state.bytes_per_satellite()``: the fields, all roles, without the record
    buffers.
``other_load_cores``
    CPU time used by *other* processes during the benchmark, in cores (``/proc/stat``
    busy time minus this process's and its children's), with the load averages: the
    machine was shared if this is not near zero.

The scenario is `bench.scenario.walker_scenario`: a 550 km, 53 deg shell with solar,
battery, power, 8 x H100 and a radiator on every satellite, 8 per-satellite variables
recorded every ``--record-every`` seconds and every constellation total at every step
(issue 4's end-to-end setup). The duration is rounded up to whole records. ``--links`` adds
the +grid crosslinks; ``--planes`` overrides the shell's planes (`bench.scenario.shell_planes`:
1,584 satellites are 72 planes of 22).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/ is not an installed package
os.environ.setdefault("TI_SKIP_VERSION_CHECK", "ON")  # never reach the network
#: taichi's offline cache for the benchmark's own kernels. ~/.cache/taichi is shared by
#: every taichi process of the user; on a machine running many of them (tests, other
#: runs) it sits at taichi's size limit and the benchmark's kernels were evicted between
#: two processes (first launch 6-12 s instead of 0.8 s), which would make the start-up
#: figures measure other people's work. Set ORBITWIN_TAICHI_CACHE to choose another.
BENCH_CACHE = Path.home() / ".cache" / "orbitwin-bench" / "taichi"

from bench.scenario import LAUNCH, RADIATION, RECORDED, TABLES, walker_scenario  # noqa: E402

_T_IMPORT = time.perf_counter()
TABLE_SIZES = (10_000, 100_000, 1_000_000)
#: Issue 10's sizes: the 72 x 22 shell, 10^5 and 10^6 satellites.
LINK_TABLE_SIZES = (1584, 100_000, 1_000_000)


# -- measuring the machine -----------------------------------------------------------------


def process_age_s() -> float:
    """Seconds since this process was created (Linux ``/proc``; 10 ms resolution), or
    since this module was imported where ``/proc`` is missing."""
    try:
        with open("/proc/self/stat") as f:
            stat = f.read()
        start_ticks = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22, starttime
        with open("/proc/uptime") as f:
            uptime_s = float(f.read().split()[0])
        return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _T_IMPORT


def peak_rss_mb() -> float:
    """Peak resident memory of this process [MiB] (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class MachineLoad:
    """How busy *other* processes kept the machine between `start` and `stop`: busy CPU
    time from ``/proc/stat`` minus this process's and its waited-for children's."""

    @staticmethod
    def _busy_s() -> float | None:
        try:
            with open("/proc/stat") as f:
                cpu = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = cpu[3] + (cpu[4] if len(cpu) > 4 else 0)  # idle + iowait
        return (sum(cpu[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_s() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def start(self) -> None:
        self.load_start = os.getloadavg()
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy_s(), self._own_s()

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        busy = self._busy_s()
        other = None
        if busy is not None and self.busy0 is not None and wall > 0:
            other = max(0.0, (busy - self.busy0) - (self._own_s() - self.own0)) / wall
        return {"other_load_cores": None if other is None else round(other, 2),
                "load_avg_start": [round(x, 2) for x in self.load_start],
                "load_avg_end": [round(x, 2) for x in os.getloadavg()]}


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": mem_gb, "python": platform.python_version()}


# -- the parts ------------------------------------------------------------------------------


class NullSink:
    """A sink that keeps nothing: the kernel-only run measures the engine, not a store."""

    def begin(self, layout: Any) -> None:
        pass

    def record(self, index: int, sat: Any, common: Any, snapshot: Any = None) -> None:
        pass

    def metrics(self, first: int, partials: Any) -> None:
        pass

    def finish(self) -> None:
        pass

    def abort(self, error: BaseException, state: Any = None) -> None:
        pass


def scenario_text(args: argparse.Namespace) -> str:
    text = walker_scenario(args.sats, args.days * 86400.0, args.step, args.record_every,
                           links=getattr(args, "links", False), planes=getattr(args, "planes", None),
                           coupling_every_s=getattr(args, "coupling_every", None))
    return (text + (LAUNCH if getattr(args, "launch", False) else "")
            + (RADIATION if getattr(args, "radiation", False) else ""))


def load(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Plugin manager, scenario and plan (no taichi yet)."""
    from twin_core.plan import make_plan
    from twin_core.runner import parse, plugin_manager

    pm = plugin_manager()
    scenario = parse(scenario_text(args), pm, path=f"<bench {args.sats} sats>")
    return pm, scenario, make_plan(scenario, pm)


def _instrument_launches(engine: Any) -> dict[str, float]:
    """Add up the process CPU time (every thread) and wall time of the engine's kernel
    launches, as ``engine.stats["kernel_s"]`` counts them (`measure_kernel` compiles
    first, so every launch is counted).

    CPU time per satellite-step is what the kernel costs whatever else the machine runs:
    on a shared machine wall time stretches, CPU time does not (much). ``cpu / wall`` is
    the number of cores the kernel actually got. Wraps the engine's private ``_run`` (one
    kernel launch; an engine with links launches the fused kernel around each coupling
    pass), or ``_launch`` where there is no ``_run``; where both are missing the CPU
    figures are left out."""
    acc = {"cpu_s": 0.0, "wall_s": 0.0, "launches": 0}
    name = "_run" if hasattr(engine, "_run") else "_launch"
    inner = getattr(engine, name, None)
    if inner is None:
        return acc

    def launch(*a: Any, **k: Any) -> Any:
        c0, w0 = time.process_time(), time.perf_counter()
        out = inner(*a, **k)
        acc["launches"] += 1
        acc["cpu_s"] += time.process_time() - c0
        acc["wall_s"] += time.perf_counter() - w0
        return out

    setattr(engine, name, launch)
    return acc


def _instrument_coupling(engine: Any) -> dict[str, float]:
    """Wall and process CPU time of the engine's coupling passes and their number (what
    ``engine.stats["coupling_s"]`` adds up, taken apart here so that the CPU time is
    known)."""
    acc = {"cpu_s": 0.0, "wall_s": 0.0, "passes": 0}
    inner = getattr(engine, "_couple", None)
    if inner is None or getattr(engine, "couple", None) is None:
        return acc

    def couple(*a: Any, **k: Any) -> Any:
        c0, w0 = time.process_time(), time.perf_counter()
        out = inner(*a, **k)
        acc["cpu_s"] += time.process_time() - c0
        acc["wall_s"] += time.perf_counter() - w0
        acc["passes"] += 1
        return out

    engine._couple = couple
    return acc


def measure_kernel(args: argparse.Namespace, pm: Any, scenario: Any, plan: Any) -> dict[str, Any]:
    """The engine over the whole constellation and duration, records discarded."""
    from twin_core.engine import Engine

    tic = time.perf_counter()
    engine = Engine(scenario, pm, arch=args.arch, plan=plan)
    build_s = time.perf_counter() - tic
    acc = _instrument_launches(engine)
    cpl = _instrument_coupling(engine)
    try:
        tic = time.perf_counter()
        engine.compile()  # every kernel compiled (or loaded from taichi's cache) before the clock
        compile_s = time.perf_counter() - tic
        engine.run(NullSink())
        st = dict(engine.stats)
        bytes_per_sat = engine.state.bytes_per_satellite()
        backend, n_stages = engine.backend, len(engine.stages)
        n_links = sum(ax.n for ax in engine.state.axes.values())
        n_coupling = len(engine.coupling_stages)
    finally:
        engine.close()
    kernel_peak = peak_rss_mb()
    coupling_s = cpl["wall_s"]
    busy_s = st["kernel_s"] + coupling_s
    cpu_s = acc["cpu_s"] + cpl["cpu_s"]
    cpu_ns = 1e9 * cpu_s / st["sat_steps"] if cpu_s > 0 and st["sat_steps"] else None
    wall_s = acc["wall_s"] + cpl["wall_s"]
    links: dict[str, Any] = {}
    if n_links:
        links = {"links": n_links, "coupling_stages": n_coupling, "coupling_passes": cpl["passes"],
                 "coupling_steps": scenario.run.coupling_steps,
                 "engine_coupling_s": round(coupling_s, 3),
                 "engine_stats_coupling_s": round(st.get("coupling_s", 0.0), 3),
                 "coupling_share": round(coupling_s / busy_s, 4) if busy_s > 0 else None,
                 "engine_links_per_s": n_links * cpl["passes"] / coupling_s if coupling_s > 0 else None,
                 "engine_coupling_cpu_ns_per_link": round(1e9 * cpl["cpu_s"] / (n_links * cpl["passes"]), 2)
                 if cpl["passes"] else None,
                 "engine_coupling_cores_used": round(cpl["cpu_s"] / coupling_s, 2) if coupling_s > 0 else None}
    return {"engine_sat_steps_per_s": st["sat_steps"] / busy_s if busy_s > 0 else None,
            "engine_kernel_sat_steps_per_s": st["sat_steps"] / st["kernel_s"] if st["kernel_s"] > 0 else None,
            "engine_cpu_ns_per_sat_step": round(cpu_ns, 1) if cpu_ns else None,
            "engine_kernel_cpu_ns_per_sat_step": round(1e9 * acc["cpu_s"] / st["sat_steps"], 1)
            if acc["cpu_s"] > 0 and st["sat_steps"] else None, "engine_launches": acc["launches"],
            "engine_cores_used": round(cpu_s / wall_s, 2) if wall_s > 0 else None,
            **links, "kernel_peak_rss_mb": round(kernel_peak, 1),
            "engine_kernel_s": round(st["kernel_s"], 3), "engine_sat_steps": st["sat_steps"],
            "engine_first_launch_s": round(compile_s, 3), "engine_build_s": round(build_s, 3),
            "engine_record_s": round(st["record_s"], 3), "engine_metrics_s": round(st["metrics_s"], 3),
            "state_bytes_per_sat": bytes_per_sat, "stages": n_stages, "metrics": len(plan.metrics),
            "backend": backend}


def measure_links_numpy(args: argparse.Namespace, scenario: Any) -> tuple[dict[str, Any], Any]:
    """`NumpyLinks` over the whole shell's link list: the coupling pass at successive pass
    times (positions from the numpy orbit, computed before the clock starts), timed past
    the pass at the epoch for at least ``--numpy-seconds``. Returns the figures and the
    first pass's values (the numpy twin reads the terminals' power from them)."""
    from bench.numpy_physics import NumpyLinks
    from orbitwin_plugins import orbit

    links = NumpyLinks.from_scenario(scenario)
    params = orbit.mean_parameters(orbit.scenario_elements(scenario)[0])
    pass_dt = scenario.run.coupling_steps * scenario.run.step_s
    positions = [orbit.propagate_numpy(params, j * pass_dt)[0] for j in range(4)]  # cycled
    epoch = dict(links.couple(positions[0], 0.0))
    passes = 0
    tic, cpu0 = time.perf_counter(), time.process_time()
    while True:
        passes += 1
        links.couple(positions[passes % len(positions)], pass_dt)
        elapsed = time.perf_counter() - tic
        if elapsed >= args.numpy_seconds and passes >= 3:
            break
    cpu = time.process_time() - cpu0
    n = links.n_links * passes
    return {"numpy_links": links.n_links, "numpy_links_per_s": n / elapsed,
            "numpy_link_cpu_ns_per_link": round(1e9 * cpu / n, 2), "numpy_link_passes": passes,
            "numpy_links_s": round(elapsed, 3)}, epoch


def measure_numpy(args: argparse.Namespace, pm: Any, plan: Any,
                  link_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """`NumpyTwin` on the first ``min(N, --numpy-sats)`` satellites, timed past the
    evaluation at the epoch for at least ``--numpy-seconds``. With links, the terminals'
    power the twin folds into the bus demand is the numpy link pass's (``link_values``)."""
    from bench.numpy_physics import NumpyTwin, initial_state_numpy

    n = min(args.sats, args.numpy_sats)
    twin = NumpyTwin.from_plan(plan, initial_state_numpy(plan, pm, (0, n)))
    if link_values is not None:
        twin.values["link.terminal_power_w"] = np.array(link_values["link.terminal_power_w"][:n])
    twin.evaluate(0.0, 0.0)
    twin.metric_values()
    dt, steps = float(args.step), 0
    tic, cpu0 = time.perf_counter(), time.process_time()
    while True:
        steps += 1
        twin.evaluate(steps * dt, dt)
        twin.metric_values()
        elapsed = time.perf_counter() - tic
        if elapsed >= args.numpy_seconds and steps >= 3:
            break
    cpu = time.process_time() - cpu0
    return {"numpy_sat_steps_per_s": n * steps / elapsed,
            "numpy_cpu_ns_per_sat_step": round(1e9 * cpu / (n * steps), 1), "numpy_sats": n, "numpy_steps": steps, "numpy_s": round(elapsed, 3)}


def end_to_end(args: argparse.Namespace) -> dict[str, Any]:
    """In this (fresh) process: the scenario into a zarr store in a temporary directory."""
    from twin_core.runner import run_to_store

    first: list[float] = []

    def progress(done: int, total: int) -> None:
        if not first:
            first.append(process_age_s())

    pm, scenario, _plan = load(args)
    with tempfile.TemporaryDirectory(prefix="orbitwin-bench-", dir=args.tmpdir) as tmp:
        store = Path(tmp) / "bench.zarr"
        tic = time.perf_counter()
        engine = run_to_store(scenario, pm, store, arch=args.arch, progress=progress)
        call_s = time.perf_counter() - tic
        total_s = process_age_s()
        store_bytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    st = engine.stats
    run = scenario.run
    sat_steps = float(args.sats) * run.n_steps
    return {"end_to_end_s": round(total_s, 3), "run_to_store_s": round(call_s, 3),
            "end_to_end_sat_steps_per_s": sat_steps / total_s,
            "start_to_first_record_s": round(first[0], 3) if first else None,
            "end_to_end_kernel_sat_steps_per_s": st["sat_steps"] / st["kernel_s"] if st["kernel_s"] > 0 else None,
            "end_to_end_build_s": round(getattr(engine, "build_s", 0.0), 3),
            "end_to_end_first_launch_s": round(st.get("first_launch_s", 0.0), 3),
            "end_to_end_kernel_s": round(st["kernel_s"], 3),
            "end_to_end_record_s": round(st["record_s"], 3), "end_to_end_metrics_s": round(st["metrics_s"], 3),
            # the rest of run_to_store: plan, store creation, the writer's queue drained at
            # the end (zarr compression and writes the kernel did not hide), completion
            "end_to_end_other_s": round(call_s - getattr(engine, "build_s", 0.0) - st.get("first_launch_s", 0.0)
                                        - st["kernel_s"] - st["record_s"] - st["metrics_s"], 3),
            "store_mb": round(store_bytes / 2**20, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}


def _shell_args(args: argparse.Namespace) -> list[str]:
    """The command-line options that choose the shell (for child processes)."""
    out = ["--links"] if getattr(args, "links", False) else []
    if getattr(args, "planes", None):
        out += ["--planes", str(args.planes)]
    if getattr(args, "coupling_every", None):
        out += ["--coupling-every", repr(args.coupling_every)]
    return out


def run_end_to_end_subprocess(args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--part", "end-to-end", "--sats", str(args.sats),
           "--days", repr(args.days), "--step", repr(args.step), "--record-every", repr(args.record_every),
           "--arch", args.arch] + _shell_args(args)
    if args.tmpdir:
        cmd += ["--tmpdir", args.tmpdir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench: the end-to-end run failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _flush_taichi_cache() -> None:
    """Write this process's compiled kernels to the offline cache now. Taichi writes its
    cache when the program ends; without this the end-to-end child, started while this
    process lives, would compile again, and ``start_to_first_record_s`` would measure a
    cold start after every code change but a warm one otherwise. No taichi work follows
    in this process (the numpy part needs none)."""
    try:
        import taichi as ti

        ti.reset()
    except Exception:  # noqa: BLE001 - a cache flush must not fail the benchmark
        pass


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every part of the benchmark; one JSON-able dict."""
    load_meter = MachineLoad()
    load_meter.start()
    run = {"sats": args.sats, "days": None, "step_s": args.step, "record_every_s": args.record_every,
           "links_on": bool(args.links)}
    pm, scenario, plan = load(args)
    run["days"] = round(scenario.run.duration_s / 86400.0, 6)
    run["steps"] = scenario.run.n_steps
    run["recorded_variables"] = list(plan.recorded)
    run["planes"] = scenario.section("orbit").shell[0].planes
    out: dict[str, Any] = dict(run)
    parts = set(args.parts.split(","))
    if "kernel" in parts:
        out |= measure_kernel(args, pm, scenario, plan)
        _flush_taichi_cache()
    if "numpy" in parts:
        link_values = None
        if args.links:
            figures, link_values = measure_links_numpy(args, scenario)
            out |= figures
        out |= measure_numpy(args, pm, plan, link_values)
        del link_values
        if args.links:
            # the twin's cost per sat-step plus the link pass's: links/N links every coupling_steps
            per_step = (1.0 / out["numpy_sat_steps_per_s"]
                        + out["numpy_links"] / args.sats / scenario.run.coupling_steps / out["numpy_links_per_s"])
            out["numpy_twin_sat_steps_per_s"] = out["numpy_sat_steps_per_s"]
            out["numpy_sat_steps_per_s"] = 1.0 / per_step
            out["numpy_twin_cpu_ns_per_sat_step"] = out["numpy_cpu_ns_per_sat_step"]
            out["numpy_cpu_ns_per_sat_step"] = round(
                out["numpy_cpu_ns_per_sat_step"] + out["numpy_link_cpu_ns_per_link"] * out["numpy_links"]
                / args.sats / scenario.run.coupling_steps, 1)
    del plan, scenario
    out["bench_peak_rss_mb"] = round(peak_rss_mb(), 1)
    if "end-to-end" in parts:
        out |= run_end_to_end_subprocess(args)
    e, n = out.get("engine_sat_steps_per_s"), out.get("numpy_sat_steps_per_s")
    out["ratio_vs_numpy"] = round(e / n, 2) if e and n else None
    e, n = out.get("engine_links_per_s"), out.get("numpy_links_per_s")
    out["links_ratio_vs_numpy"] = round(e / n, 2) if e and n else None
    for key in ("engine_sat_steps_per_s", "engine_kernel_sat_steps_per_s", "numpy_sat_steps_per_s",
                "numpy_twin_sat_steps_per_s", "end_to_end_sat_steps_per_s", "end_to_end_kernel_sat_steps_per_s",
                "engine_links_per_s", "numpy_links_per_s"):
        if out.get(key) is not None:
            out[key] = round(out[key])
    out |= load_meter.stop()
    out["machine"] = machine()
    try:
        import taichi

        out["taichi"] = ".".join(map(str, taichi.__version__))
    except ImportError:
        pass
    out["taichi_cache"] = os.environ.get("ORBITWIN_TAICHI_CACHE")
    out["threads"] = int(os.environ.get("ORBITWIN_THREADS", "0")) or os.cpu_count()
    return out


# -- reporting ------------------------------------------------------------------------------

TABLE_HEADER = (
    "| satellites | days | engine sat-steps/s | engine CPU ns/sat-step | cores used | numpy sat-steps/s | "
    "ratio | end to end | end-to-end sat-steps/s | start to first record | peak RSS | state B/sat | "
    "other load |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def _si(x: float | None) -> str:
    if x is None:
        return "-"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def table_row(r: dict[str, Any]) -> str:
    """One markdown row of the table in docs/performance.md."""
    def s(key: str, fmt: str = "{:.1f} s") -> str:
        return fmt.format(r[key]) if r.get(key) is not None else "-"

    return (f"| {r['sats']:,} | {r['days']:.3g} | {_si(r.get('engine_sat_steps_per_s'))} | "
            f"{s('engine_cpu_ns_per_sat_step', '{:.0f}')} | {s('engine_cores_used', '{:.2f}')} | "
            f"{_si(r.get('numpy_sat_steps_per_s'))} | {s('ratio_vs_numpy', '{:.1f}x')} | {s('end_to_end_s')} | "
            f"{_si(r.get('end_to_end_sat_steps_per_s'))} | {s('start_to_first_record_s')} | "
            f"{s('peak_rss_mb', '{:,.0f} MiB')} | {s('state_bytes_per_sat', '{:d}')} | "
            f"{s('other_load_cores', '{:.2f} cores')} |")


def human(r: dict[str, Any]) -> str:
    lines = [f"Walker shell of {r['sats']:,} satellites ({r.get('planes')} planes"
             f"{', +grid crosslinks' if r.get('links_on') else ''}), {r['days']:g} days at {r['step_s']:g} s "
             f"({r['steps']} steps), a record every {r['record_every_s']:g} s"]
    rows = [("engine, kernels (+ coupling)", _si(r.get("engine_sat_steps_per_s")) + " sat-steps/s"),
            (f"numpy, {r.get('numpy_sats', 0):,} sats", _si(r.get("numpy_sat_steps_per_s")) + " sat-steps/s"),
            ("engine CPU per sat-step", f"{r.get('engine_cpu_ns_per_sat_step')} ns on "
                                        f"{r.get('engine_cores_used')} cores"),
            ("numpy CPU per sat-step", f"{r.get('numpy_cpu_ns_per_sat_step')} ns"),
            ("ratio", f"{r['ratio_vs_numpy']}x" if r.get("ratio_vs_numpy") else "-"),
            ("end to end (zarr)", f"{r.get('end_to_end_s', '-')} s, "
                                  f"{_si(r.get('end_to_end_sat_steps_per_s'))} sat-steps/s"),
            ("start to first record", f"{r.get('start_to_first_record_s', '-')} s"),
            ("peak RSS (end to end / bench)", f"{r.get('peak_rss_mb', '-')} / {r.get('bench_peak_rss_mb')} MiB"),
            ("state per satellite", f"{r.get('state_bytes_per_sat', '-')} B"),
            ("other processes' load", f"{r.get('other_load_cores')} cores (load avg {r.get('load_avg_start')})")]
    if r.get("links_on"):
        rows[1:1] = [("engine, fused kernel only", _si(r.get("engine_kernel_sat_steps_per_s")) + " sat-steps/s"),
                     ("links per pass, passes timed", f"{r.get('links', r.get('numpy_links'))}, "
                                                      f"{r.get('coupling_passes')} every {r.get('coupling_steps')} steps"),
                     ("kernel / coupling time", f"{r.get('engine_kernel_s')} s / {r.get('engine_coupling_s')} s "
                                                f"(coupling share {r.get('coupling_share')})"),
                     ("links evaluated (engine / numpy)", f"{_si(r.get('engine_links_per_s'))} / "
                                                          f"{_si(r.get('numpy_links_per_s'))} links/s, "
                                                          f"ratio {r.get('links_ratio_vs_numpy')}x"),
                     ("numpy twin without the link pass", _si(r.get("numpy_twin_sat_steps_per_s")) + " sat-steps/s")]
    return "\n".join(lines + [f"  {k:32s} {v}" for k, v in rows])


def table(args: argparse.Namespace) -> None:
    """Run each size in its own process and print the markdown table."""
    rows = []
    for n in args.table_sizes:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--json", "--sats", str(n), "--days", repr(args.days),
               "--step", repr(args.step), "--record-every", repr(args.record_every), "--parts", args.parts]
        cmd += _shell_args(args)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"bench: --sats {n} failed")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(table_row(result))
        print(json.dumps(result), file=sys.stderr)  # the full record of each row, for the note
    print(TABLE_HEADER)
    print("\n".join(rows))


LINKS_TABLE_HEADER = (
    "| satellites | shell | links | steps | engine sat-steps/s | CPU ns/sat-step | fused kernel sat-steps/s | "
    "kernel s | coupling s | coupling share | links/pass | links/s | CPU ns/link | numpy links/s | links ratio | "
    "numpy sat-steps/s | ratio | peak RSS | state B/sat | other load |\n"
    "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = sorted(r[key] for r in rows if isinstance(r.get(key), (int, float)))
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else 0.5 * (vals[mid - 1] + vals[mid])


def links_table_row(rows: list[dict[str, Any]]) -> str:
    """One markdown row of issue 10's table: the medians of repeated runs of one
    configuration (the spread of the engine's rate in brackets)."""
    r0 = rows[0]
    m = {k: _median(rows, k) for k in rows[0]}
    rates = sorted(r["engine_sat_steps_per_s"] for r in rows if r.get("engine_sat_steps_per_s"))
    spread = f" ({_si(rates[0])}-{_si(rates[-1])})" if len(rates) > 1 else ""
    on = r0.get("links_on")

    def f(key: str, fmt: str) -> str:
        return fmt.format(m[key]) if m.get(key) is not None else "-"

    loads = sorted(r["other_load_cores"] for r in rows if r.get("other_load_cores") is not None)
    load = f"{loads[0]:.2f}-{loads[-1]:.2f} cores" if loads else "-"
    return (f"| {r0['sats']:,} | {r0['planes']} x {r0['sats'] // r0['planes']} | {'+grid' if on else 'off'} | "
            f"{r0['steps']:,} | {_si(m.get('engine_sat_steps_per_s'))}{spread} | "
            f"{f('engine_cpu_ns_per_sat_step', '{:.0f}')} | {_si(m.get('engine_kernel_sat_steps_per_s'))} | "
            f"{f('engine_kernel_s', '{:.2f}')} | {f('engine_coupling_s', '{:.2f}') if on else '-'} | "
            f"{f('coupling_share', '{:.1%}') if on else '-'} | {_si(m.get('links')) if on else '-'} | "
            f"{_si(m.get('engine_links_per_s')) if on else '-'} | "
            f"{f('engine_coupling_cpu_ns_per_link', '{:.1f}') if on else '-'} | "
            f"{_si(m.get('numpy_links_per_s')) if on else '-'} | "
            f"{f('links_ratio_vs_numpy', '{:.1f}x') if on else '-'} | {_si(m.get('numpy_sat_steps_per_s'))} | "
            f"{f('ratio_vs_numpy', '{:.1f}x')} | {f('bench_peak_rss_mb', '{:,.0f} MiB')} | "
            f"{f('state_bytes_per_sat', '{:.0f}')} | {load} |")


def links_table(args: argparse.Namespace) -> None:
    """Issue 10's table: each size without and with links, ``--repeats`` times each, every
    run in its own process, the two configurations interleaved (so a change in the
    machine's load falls on both); the markdown rows are the medians."""
    results: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    for n in args.table_sizes:
        for _rep in range(args.repeats):
            for links in (False, True):
                cmd = [sys.executable, str(Path(__file__).resolve()), "--json", "--sats", str(n),
                       "--days", repr(args.days), "--step", repr(args.step), "--record-every", repr(args.record_every),
                       "--parts", args.parts, "--numpy-sats", str(args.numpy_sats),
                       "--numpy-seconds", repr(args.numpy_seconds)]
                cmd += (["--links"] if links else []) + (["--planes", str(args.planes)] if args.planes else [])
                cmd += ["--coupling-every", repr(args.coupling_every)] if args.coupling_every else []
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.stderr.write(proc.stderr)
                    raise SystemExit(f"bench: --sats {n}{' --links' if links else ''} failed")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                results.setdefault((n, links), []).append(result)
                print(json.dumps(result), file=sys.stderr, flush=True)  # every run, for the note
    print(LINKS_TABLE_HEADER)
    for n in args.table_sizes:
        for links in (False, True):
            print(links_table_row(results[(n, links)]))


#: The chain grown one plugin at a time: (label, plugin tables, constellation totals on).
BREAKDOWN = (
    ("orbit", (), False),
    ("+ environment", ("environment",), False),
    ("+ solar", ("environment", "solar"), False),
    ("+ battery, power, payload", ("environment", "solar", "battery", "power", "payload"), False),
    ("+ thermal", tuple(TABLES), False),
    ("+ constellation totals (the benchmark)", tuple(TABLES), True),
)


def breakdown(args: argparse.Namespace) -> None:
    """Where the kernel's time goes: the kernel-only measurement of the chain grown one
    plugin at a time (totals off until the last row), as a markdown table. CPU time per
    satellite-step, summed over threads, is the column to read on a shared machine."""
    import attrs

    from twin_core.plan import make_plan
    from twin_core.runner import parse, plugin_manager

    print(f"Kernel only, {args.sats:,} satellites, {args.days:g} days at {args.step:g} s.\n")
    print("| physics | stages | state B/sat | totals | CPU ns per sat-step | added | cores used | sat-steps/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    previous = None
    for label, tables, totals in BREAKDOWN:
        pm = plugin_manager(disable=[t for t in TABLES if t not in tables])
        satellite = "\n".join(TABLES[t] for t in tables)
        everything = parse(walker_scenario(args.sats, args.days * 86400.0, args.step, args.record_every,
                                           satellite=satellite, recorded=None), pm, path=f"<bench breakdown: {label}>")
        declared = {v.name for _p, v in make_plan(everything, pm).variables}
        # the benchmark's recorded variables that this row's plugins declare: a row records what
        # the full benchmark would, so outputs nothing reads are skipped as there (State.used)
        text = walker_scenario(args.sats, args.days * 86400.0, args.step, args.record_every, satellite=satellite,
                               recorded=tuple(n for n in RECORDED if n in declared))
        scenario = parse(text, pm, path=f"<bench breakdown: {label}>")
        plan = make_plan(scenario, pm)
        if not totals:
            plan = attrs.evolve(plan, metrics=())
        r = measure_kernel(args, pm, scenario, plan)
        ns = r["engine_cpu_ns_per_sat_step"]
        added = f"{ns - previous:+.0f}" if ns is not None and previous is not None else "-"
        print(f"| {label} | {r['stages']} | {r['state_bytes_per_sat']} | {r['metrics']} | "
              f"{ns if ns is not None else '-'} | {added} | {r['engine_cores_used']} | "
              f"{_si(r['engine_sat_steps_per_s'])} |", flush=True)
        previous = ns


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sats", type=int, default=10_000, help="satellites in the Walker shell")
    p.add_argument("--days", type=float, default=0.05, help="simulated days (rounded up to whole records)")
    p.add_argument("--step", type=float, default=10.0, help="step [s]")
    p.add_argument("--record-every", type=float, default=600.0, help="record interval [s]")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--table", action="store_true", help="markdown rows for 10^4, 10^5, 10^6 satellites")
    p.add_argument("--breakdown", action="store_true", help="kernel cost of the chain grown one plugin at a time")
    p.add_argument("--table-sizes", type=lambda s: [int(float(x)) for x in s.split(",")], default=None,
                   help="sizes of --table (default 10^4, 10^5, 10^6) or --links-table (1584, 10^5, 10^6)")
    p.add_argument("--parts", default="kernel,numpy,end-to-end", help="which parts to run (comma list)")
    p.add_argument("--numpy-sats", type=int, default=20_000, help="satellites of the numpy slice")
    p.add_argument("--numpy-seconds", type=float, default=1.5, help="least time the numpy slice is timed for")
    p.add_argument("--links", action="store_true", help="+grid optical crosslinks (issue 10)")
    p.add_argument("--launch", action="store_true",
                   help="a [launch] table (issue 11, bench.scenario.LAUNCH): the deployment stage and every total "
                        "folded over the active satellites only")
    p.add_argument("--radiation", action="store_true",
                   help="a [radiation] table (issue 12, bench.scenario.RADIATION): dose, failure draws, upsets and "
                        "the cells' damage in the fused kernel")
    p.add_argument("--planes", type=int, default=None, help="planes of the shell (default: bench.scenario.shell_planes)")
    p.add_argument("--coupling-every", type=float, default=None,
                   help="[scenario] coupling_every_s [s] (default: the engine's, 60 s or less)")
    p.add_argument("--links-table", action="store_true",
                   help="with and without links at --table-sizes (default 1584, 10^5, 10^6), medians of --repeats")
    p.add_argument("--repeats", type=int, default=2, help="runs of each configuration for --links-table")
    p.add_argument("--arch", default="cpu", choices=("cpu", "gpu", "auto"))
    p.add_argument("--tmpdir", default=None, help="where the end-to-end store is written (default: $TMPDIR)")
    p.add_argument("--part", default=None, help=argparse.SUPPRESS)  # internal: the end-to-end child
    args = p.parse_args(argv)
    os.environ.setdefault("ORBITWIN_TAICHI_CACHE", str(BENCH_CACHE))  # inherited by the children
    if args.record_every < args.step:
        p.error("--record-every must be at least --step")
    if args.part == "end-to-end":
        print(json.dumps(end_to_end(args)))
        return
    if args.table:
        args.table_sizes = args.table_sizes or list(TABLE_SIZES)
        table(args)
        return
    if args.links_table:
        args.table_sizes = args.table_sizes or list(LINK_TABLE_SIZES)
        links_table(args)
        return
    if args.breakdown:
        breakdown(args)
        return
    result = measure(args)
    print(json.dumps(result) if args.json else human(result))


if __name__ == "__main__":
    main()
