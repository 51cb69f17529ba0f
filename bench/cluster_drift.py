"""How a formation-flying cluster holds together over days, with and without the J2
correction (docs/clusters.md; the model in plugins/clusters.py).

Builds a cluster with `orbitwin_plugins.clusters` (the Suncatcher-like one of
examples/suncatcher.toml by default: 9 x 9 satellites in the orbital plane, 100 m
radial and 200 m along-track pitch, 650 km dawn-dusk sun-synchronous), propagates every
satellite with the orbit plugin's own propagator (`propagate_numpy`: mean elements,
secular J2) every ``--step-s`` seconds, and prints for each day the cluster's extent
(largest distance between two satellites) and its closest pair (smallest distance), once
with ``j2_correction`` and once without. No orbitwin run, no network::

    python bench/cluster_drift.py                                 # the example's cluster
    python bench/cluster_drift.py --grid 9 3 3 --mean-anomaly-deg 90   # cross-track layers
    python bench/cluster_drift.py --plot cluster_drift.png

``--mean-anomaly-deg 90`` gives the cross-track offsets at the pole, where they are
inclination differences (J2-sensitive); at 0 (the default) they are node differences
(J2-invariant in this model).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

import numpy as np

from orbitwin_plugins import clusters as cl
from orbitwin_plugins.constellations import ltan_raan_deg, sun_synchronous_inclination_deg
from orbitwin_plugins.orbit import mean_parameters, propagate_numpy

DAY_S = 86400.0


def daily_extremes(offsets: np.ndarray, altitude_km: float, raan_deg: float, mean_anomaly_deg: float,
                   j2_correction: bool, days: int, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per day: (largest pair distance, smallest pair distance) [m], arrays (days,)."""
    inc = sun_synchronous_inclination_deg(altitude_km)
    el = cl.cluster_elements(offsets, altitude_km, inc, raan_deg, mean_anomaly_deg, j2_correction)
    p = mean_parameters(el)
    extent, closest = np.zeros(days), np.zeros(days)
    per_chunk = max(1, int(2e7 // max(el.count**2, 1)))  # ~160 MB of pair distances at a time
    for day in range(days):
        t = day * DAY_S + np.arange(0.0, DAY_S, step_s)
        lo, hi = np.inf, 0.0
        for start in range(0, t.size, per_chunk):
            r, _ = propagate_numpy(p, t[start:start + per_chunk])
            dmin, dmax = cl.pair_distance_extremes_m(r)
            lo, hi = min(lo, float(dmin.min())), max(hi, float(dmax.max()))
        extent[day], closest[day] = hi, lo
    return extent, closest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--grid", type=int, nargs="+", default=[9, 9], help="cluster grid (default 9 9)")
    ap.add_argument("--spacing-m", type=float, default=100.0, help="grid pitch [m] (default 100)")
    ap.add_argument("--altitude-km", type=float, default=650.0, help="reference altitude [km] (default 650)")
    ap.add_argument("--mean-anomaly-deg", type=float, default=0.0,
                    help="reference's argument of latitude at the epoch [deg] (default 0)")
    ap.add_argument("--days", type=int, default=7, help="days to propagate (default 7)")
    ap.add_argument("--step-s", type=float, default=60.0, help="sampling step [s] (default 60)")
    ap.add_argument("--plot", metavar="PATH", help="also draw extent and closest pair against days (matplotlib)")
    args = ap.parse_args(argv)

    offsets = cl.check_grid(args.grid, args.spacing_m)
    epoch = dt.datetime(2027, 6, 21, tzinfo=dt.timezone.utc)  # examples/suncatcher.toml
    raan = ltan_raan_deg(18.0, epoch)
    t0 = time.perf_counter()
    runs = {corr: daily_extremes(offsets, args.altitude_km, raan, args.mean_anomaly_deg, corr, args.days,
                                 args.step_s) for corr in (True, False)}
    wall = time.perf_counter() - t0
    grid = " x ".join(str(g) for g in args.grid)
    print(f"cluster {grid} = {len(offsets)} satellites, spacing {args.spacing_m:g} m, {args.altitude_km:g} km "
          f"dawn-dusk SSO, reference at u0 = {args.mean_anomaly_deg:g} deg; samples every {args.step_s:g} s")
    print(f"{'day':>4} | {'extent, corrected':>17} {'closest, corrected':>18} | {'extent, uncorrected':>19} "
          f"{'closest, uncorrected':>20}")
    for d in range(args.days):
        (ec, cc), (eu, cu) = ((runs[c][0][d], runs[c][1][d]) for c in (True, False))
        print(f"{d + 1:>4} | {ec:>15.1f} m {cc:>16.1f} m | {eu:>17.1f} m {cu:>18.1f} m")
    print(f"({wall:.1f} s)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        days = np.arange(1, args.days + 1)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        for corr, style in ((True, "-o"), (False, "--s")):
            label = "J2-corrected" if corr else "uncorrected (equal a)"
            ax1.plot(days, runs[corr][0], style, label=label)
            ax2.plot(days, runs[corr][1], style, label=label)
        ax1.set(xlabel="day", ylabel="extent (largest pair distance) [m]", title="cluster extent")
        ax2.set(xlabel="day", ylabel="closest pair [m]", title="closest pair", ylim=(0, None))
        ax1.legend()
        fig.suptitle(f"{grid} cluster, {args.spacing_m:g} m, u0 = {args.mean_anomaly_deg:g} deg")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
