"""SGP4 speed: the taichi function (`orbitwin_plugins.sgp4_propagation`) against the ``sgp4``
library's vectorized ``SatrecArray.sgp4`` (Vallado's C++), in one process.

Usage::

    python bench/sgp4.py                       # 10,000 element sets x 100 times over one day
    python bench/sgp4.py --sats 100000 --times 100 --threads 1 --json

The element sets are the near-Earth sets of ``tests/test_sgp4_propagation.py`` (Vallado's
verification file, the sgp4 package's real sets, the built orbit classes) that propagate
without error over the window, re-initialized at one common epoch and replicated with
random mean anomalies (seed 0) to ``--sats``. Reported, in satellite-steps per second:
``taichi`` (`propagate_taichi`: the kernel over all satellites and times, outputs written
to numpy arrays; best of ``--repeats``, after a first call that compiles or loads it),
``numpy`` (`propagate_numpy`) and ``sgp4_lib`` (``SatrecArray.sgp4``, one thread), and
the import rate: ``import_sets_s`` is `sgp4_parameters_from_elements` (the ``sgp4``
package's pure-Python ``sgp4init`` per set) in sets per second. ``max_dr_mm`` and
``max_dv_mm_s`` are the largest differences between taichi and the library.
"""

import argparse
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would hide the
# sgp4 package: take the folder off.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
EPOCH_DAYS = 27760.0  # 2026-01-01 00:00 UT, days since 1949 December 31 00:00 UT


def _test_module():
    spec = importlib.util.spec_from_file_location("_sgp4_test_sets", ROOT / "tests" / "test_sgp4_propagation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def base_elements(window_min: float) -> np.ndarray:
    """Mean elements (bstar, ndot, nddot, ecco, argpo, inclo, mo, no_kozai, nodeo) of the
    test's near-Earth sets that propagate without error over ``window_min``."""
    from sgp4.api import WGS72, Satrec

    from orbitwin_plugins import sgp4_propagation as sp

    tm = _test_module()
    sats = [s for _, s in tm.ver_sets() if not sp.is_deep_space(s)]
    sats += [Satrec.twoline2rv(*lines, WGS72) for lines in tm.PACKAGE_TLES.values()]
    sats += [tm.built_satrec(*el) for el in tm.BUILT.values()]
    rows = []
    for s in sats:
        el = (s.bstar, s.ndot, s.nddot, s.ecco, s.argpo, s.inclo, s.mo, s.no_kozai, s.nodeo)
        c = Satrec()
        c.sgp4init(WGS72, "i", 1, EPOCH_DAYS, *el)
        if c.error == 0 and all(c.sgp4_tsince(t)[0] == 0 for t in np.linspace(0.0, window_min, 50)):
            rows.append(el)
    return np.array(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sats", type=int, default=10_000)
    ap.add_argument("--times", type=int, default=100)
    ap.add_argument("--days", type=float, default=1.0, help="window the times span")
    ap.add_argument("--threads", type=int, default=None, help="taichi CPU threads (default: all cores)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from sgp4.api import WGS72, Satrec, SatrecArray

    from orbitwin_plugins import sgp4_propagation as sp
    from twin_core.backend import start_taichi

    backend = start_taichi("cpu", threads=args.threads, quiet=True)
    from twin_core.backend import _started

    window = args.days * 1440.0
    t = np.linspace(0.0, window, args.times)
    base = base_elements(window)
    rng = np.random.default_rng(0)
    el = base[np.arange(args.sats) % len(base)].copy()
    el[:, 6] = np.mod(el[:, 6] + rng.uniform(0.0, 2.0 * math.pi, args.sats), 2.0 * math.pi)
    satnum = np.arange(1, args.sats + 1)

    t0 = time.perf_counter()
    params = sp.sgp4_parameters_from_elements(satnum, EPOCH_DAYS, *el.T)
    import_s = time.perf_counter() - t0
    matrix = sp.parameter_matrix(params)

    t0 = time.perf_counter()
    sats = []
    for k in range(args.sats):
        s = Satrec()
        s.sgp4init(WGS72, "i", int(satnum[k]), EPOCH_DAYS, *el[k])
        sats.append(s)
    lib_init_s = time.perf_counter() - t0
    arr = SatrecArray(sats)
    jd = np.full(len(t), 2433281.5 + EPOCH_DAYS)
    fr = t / 1440.0

    def best(fn):
        out, dt = None, math.inf
        for _ in range(args.repeats):
            t1 = time.perf_counter()
            out = fn()
            dt = min(dt, time.perf_counter() - t1)
        return out, dt

    t0 = time.perf_counter()
    sp.propagate_taichi(matrix[:1], t[:1])
    first_s = time.perf_counter() - t0
    res, ti_s = best(lambda: sp.propagate_taichi(matrix, t))
    (e, r, v), lib_s = best(lambda: arr.sgp4(jd, fr))
    _, np_s = best(lambda: sp.propagate_numpy(params, t))

    steps = args.sats * len(t)
    dr = np.abs(res.r_km - r.transpose(1, 0, 2))
    dv = np.abs(res.v_km_s - v.transpose(1, 0, 2))
    row = {
        "sats": args.sats, "times": len(t), "base_sets": len(base), "backend": backend,
        "threads": _started.get("threads"),
        "taichi_steps_s": steps / ti_s, "numpy_steps_s": steps / np_s, "sgp4_lib_steps_s": steps / lib_s,
        "taichi_first_call_s": first_s, "import_sets_s": args.sats / import_s,
        "sgp4_lib_init_sets_s": args.sats / lib_init_s,
        "errors_equal": bool(np.array_equal(res.error, e.T)),
        "max_dr_mm": float(np.nanmax(dr)) * 1e6, "max_dv_mm_s": float(np.nanmax(dv)) * 1e6,
    }
    if args.json:
        print(json.dumps(row))
    else:
        print(f"sgp4: {args.sats} sets x {len(t)} times, taichi {row['taichi_steps_s'] / 1e6:.2f} M sat-steps/s "
              f"({backend}, {row['threads']} threads), sgp4 SatrecArray {row['sgp4_lib_steps_s'] / 1e6:.2f} M "
              f"(1 thread), numpy {row['numpy_steps_s'] / 1e6:.2f} M; import {row['import_sets_s']:.0f} sets/s "
              f"(library's C++ init {row['sgp4_lib_init_sets_s']:.0f}/s); taichi vs library max "
              f"{row['max_dr_mm']:.3g} mm, {row['max_dv_mm_s']:.3g} mm/s, errors equal {row['errors_equal']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
