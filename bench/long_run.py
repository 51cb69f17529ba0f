"""Long runs: is the 5-year Suncatcher-like run's 60 s step fine enough, and how long does
the whole mission take?

Step check (default): the 5-year example (examples/suncatcher_5yr.toml) over a window of
``--days`` from ``--start`` (default 30 days from 7 June 2027, the middle of the cluster's
eclipse season, when the battery, the thermal node and the payload's step-downs all work
hardest), run twice in this process, at the example's 60 s and at a reference step
(``--fine-step``, default 10 s, the week-long example's, which resolves the ~10 s
penumbra). Every satellite is deployed by then, so the whole window is in service. The
records are hourly for both, the totals kept at every step, the coupling passes hourly as
in the example. Compared, with
the tolerance each is held to (a row fails when its relative difference exceeds it):

* dose per satellite at the end (right-point rule over ~10-minute SAA passes): 1 %
* accelerators failed by dose (draws are per satellite, so only the dose can move them): equal
  (with the example's 30 krad(Si) median none fails in a month, so this compares 0 with 0:
  ``--failure-median-krad 0.01`` makes some fail)
* compute lost to radiation (``radiation.lost_flop``, integrated in the kernel): 1 %
* compute delivered (the constellation total kept at every step, integrated by the
  trapezoidal rule at each run's own step): 1 %
* lowest battery state of charge: 0.01 absolute; highest node temperature: 0.5 K

``--full`` also runs the whole 5-year example once and reports its wall time, satellite-
steps per second and the summary figures (several minutes).

    python bench/long_run.py [--days 30] [--fine-step 10] [--failure-median-krad X] [--full] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "suncatcher_5yr.toml"
TOLERANCE = {"dose": 0.01, "lost_to_radiation": 0.01, "delivered": 0.01, "min_soc_abs": 0.01, "max_temp_k": 0.5}


def window_text(start: str, days: float, step_s: float, failure_median_krad: float | None = None) -> str:
    """The example's text over a window: epoch, duration, step, hourly records."""
    text = EXAMPLE.read_text()
    if failure_median_krad is not None:
        text = text.replace("[radiation]\n", f"[radiation]\nfailure_median_krad_si = {failure_median_krad!r}\n", 1)
    subs = ((r'(?m)^epoch = .*$', f'epoch = "{start}T00:00:00Z"'),
            (r'(?m)^duration_days = .*$', f"duration_days = {days:g}"),
            (r'(?m)^step_s = .*$', f"step_s = {step_s:g}"),
            (r'(?m)^record_every_s = .*$', "record_every_s = 3600"),
            (r'(?m)^metrics_every_step = .*$', "metrics_every_step = true"))
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text, count=1)
        if n != 1:
            raise SystemExit(f"{EXAMPLE}: no line matching {pattern!r} to replace")
    return text


def run(text: str, out: Path) -> tuple[float, int]:
    from twin_core.runner import parse, plugin_manager, run_to_store

    pm = plugin_manager()
    sc = parse(text, pm, str(EXAMPLE))
    t0 = time.perf_counter()
    run_to_store(sc, pm, out)
    return time.perf_counter() - t0, sc.run.n_records


def figures(path: Path) -> dict[str, float]:
    g = zarr.open_group(str(path), mode="r")
    sat, con = g["sat"], g["constellation"]
    t = np.asarray(con["time"][...], dtype=np.float64) / 1000.0
    pflops = np.asarray(con["constellation.delivered_pflops"][...], dtype=np.float64)
    delivered = float(np.sum(0.5 * (pflops[1:] + pflops[:-1]) * np.diff(t))) * 1e15
    last = lambda n: np.asarray(sat[n][-1], dtype=np.float64)  # noqa: E731
    return {"dose_mean_rad_si": float(last("radiation.dose_rad_si").mean()),
            "dose_max_rad_si": float(last("radiation.dose_rad_si").max()),
            "dose_per_sat": last("radiation.dose_rad_si"),
            "failed_accelerators": int(last("radiation.failed_accelerators").sum()),
            "lost_to_radiation_pflop_days": float(last("radiation.lost_flop").sum()) / 86400e15,
            "delivered_pflop_days": delivered / 86400e15,
            "min_soc": float(np.nanmin(np.asarray(sat["battery.soc"][...]))),
            "max_temp_k": float(np.nanmax(np.asarray(sat["thermal.temperature_k"][...])))}


def compare(coarse: dict, fine: dict) -> list[dict]:
    rel = lambda a, b: abs(a - b) / max(abs(b), 1e-300)  # noqa: E731
    dose_rel = float(np.max(np.abs(coarse["dose_per_sat"] - fine["dose_per_sat"]) / fine["dose_per_sat"]))
    rows = [("dose per satellite (worst)", dose_rel, TOLERANCE["dose"], "relative"),
            ("accelerators failed", abs(coarse["failed_accelerators"] - fine["failed_accelerators"]), 0, "count"),
            ("compute lost to radiation", rel(coarse["lost_to_radiation_pflop_days"],
                                              fine["lost_to_radiation_pflop_days"]), TOLERANCE["lost_to_radiation"],
             "relative"),
            ("compute delivered", rel(coarse["delivered_pflop_days"], fine["delivered_pflop_days"]),
             TOLERANCE["delivered"], "relative"),
            ("lowest state of charge", abs(coarse["min_soc"] - fine["min_soc"]), TOLERANCE["min_soc_abs"], "absolute"),
            ("highest temperature", abs(coarse["max_temp_k"] - fine["max_temp_k"]), TOLERANCE["max_temp_k"], "K")]
    return [{"quantity": q, "difference": float(d), "tolerance": float(tol), "kind": k, "ok": bool(d <= tol)}
            for q, d, tol, k in rows]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", default="2027-06-07", help="first day of the window (YYYY-MM-DD)")
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--fine-step", type=float, default=10.0)
    ap.add_argument("--failure-median-krad", type=float, default=None,
                    help="median failure dose of the window runs [krad(Si)] (default: the example's)")
    ap.add_argument("--full", action="store_true", help="also run the whole 5-year example")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import datetime as dt

    try:
        year = dt.date.fromisoformat(args.start).year
    except ValueError:
        ap.error(f"--start {args.start!r}: expected a date YYYY-MM-DD")
    if not 2020 <= year <= 2029:
        ap.error(f"--start {args.start}: expected a date in 2020-2029 (the radiation model's IGRF-14 years)")
    if not (args.days > 0 and (args.days * 24) == int(args.days * 24)):
        ap.error(f"--days {args.days:g}: expected a positive whole number of hours (records are hourly)")
    if not (args.fine_step > 0 and 60.0 % args.fine_step == 0):
        ap.error(f"--fine-step {args.fine_step:g}: expected a step [s] that divides the example's 60 s")
    if args.failure_median_krad is not None and not args.failure_median_krad > 0:
        ap.error(f"--failure-median-krad {args.failure_median_krad:g}: expected > 0")
    out: dict = {"window": {"start": args.start, "days": args.days}}
    with tempfile.TemporaryDirectory(prefix="orbitwin-long-") as tmp:
        res = {}
        for label, step in (("coarse", 60.0), ("fine", args.fine_step)):
            path = Path(tmp) / f"{label}.zarr"
            wall, _n = run(window_text(args.start, args.days, step, args.failure_median_krad), path)
            res[label] = figures(path)
            out[f"{label}_step_s"], out[f"{label}_wall_s"] = step, round(wall, 2)
        out["rows"] = compare(res["coarse"], res["fine"])
        out["coarse"] = {k: v for k, v in res["coarse"].items() if k != "dose_per_sat"}
        out["fine"] = {k: v for k, v in res["fine"].items() if k != "dose_per_sat"}
        if args.full:
            from twin_core.runner import parse, plugin_manager

            path = Path(tmp) / "full.zarr"
            wall, n_rec = run(EXAMPLE.read_text(), path)
            sc = parse(EXAMPLE.read_text(), plugin_manager(), str(EXAMPLE))
            n_sat_steps = sc.run.duration_s / sc.run.step_s * 81
            out["full"] = {"wall_s": round(wall, 1), "sat_steps_per_s": n_sat_steps / wall,
                           **{k: v for k, v in figures(path).items() if k != "dose_per_sat"}}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"window: {args.days:g} days from {args.start}; 60 s run {out['coarse_wall_s']} s, "
              f"{args.fine_step:g} s run {out['fine_wall_s']} s")
        for r in out["rows"]:
            print(f"  {r['quantity']:<28} {r['difference']:.3g} ({r['kind']}, tolerance {r['tolerance']:g})"
                  f"  {'ok' if r['ok'] else 'EXCEEDED'}")
        for label in ("coarse", "fine"):
            f = out[label]
            print(f"  {label}: dose {f['dose_mean_rad_si']:.4g} rad(Si) mean, delivered "
                  f"{f['delivered_pflop_days']:.6g} PFLOP-days, lost to radiation "
                  f"{f['lost_to_radiation_pflop_days']:.5g}, min SOC {f['min_soc']:.4f}, max T {f['max_temp_k']:.2f} K")
        if "full" in out:
            f = out["full"]
            print(f"full 5-year run: {f['wall_s']} s ({f['sat_steps_per_s'] / 1e6:.2f} M satellite-steps/s), dose "
                  f"{f['dose_mean_rad_si']:.4g} rad(Si) mean, {f['failed_accelerators']} accelerators failed, "
                  f"{f['lost_to_radiation_pflop_days']:.5g} PFLOP-days lost to radiation")
        print(f"peak RSS {out['peak_rss_mb']:.0f} MB")
    return 0 if all(r["ok"] for r in out["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
