"""Formation plugin: the geometry of formation-flying clusters while they fly: each
member's closest and farthest fellow member, every coupling pass, and a warning count
when two satellites come closer than a set distance.

Active for every ``[[orbit.shell]]`` of ``kind = "cluster"`` (`orbitwin_plugins.clusters`
builds them); the optional table ``[formation]`` sets the warning distance::

    [formation]
    warn_separation_m = 50       # members closer than this are counted (default 50 m)

Per member ``i`` of a cluster of ``N``, at each coupling pass (``coupling_every_s``,
60 s or less; `twin_core.axes`), from the positions of that instant::

    formation.nearest_m[i]  = min_{j != i} |r_j - r_i|
    formation.farthest_m[i] = max_{j != i} |r_j - r_i|

Constellation totals: the smallest pair separation, the cluster's extent (its largest
pair distance) and the number of satellites closer than ``warn_separation_m`` to
another (each close pair counts twice). Work is N^2 per pass per cluster, so clusters
of up to `MAX_MEMBERS` satellites are measured (81 members: 6,561 distances a pass).

Why a sampled minimum is enough here: relative motion in a cluster is slow (two members
100 m apart change their distance by at most ~2 n d = 0.2 m/s at 650 km), so between
passes 60 s apart a separation changes by at most ~10 m; a warning distance a few times
that catches every approach. With faster relative motion, shorten ``coupling_every_s``.

Assumptions and limits: the orbit model is mean elements with secular J2 (no
differential drag, solar pressure or short-period J2 terms, no station-keeping), so
separations are those of the uncontrolled formation; the warning is geometric, not a
collision probability (no covariance).

The default warning distance, 50 m, is an ASSUMPTION: half the 100 m nearest-neighbour
pitch of Suncatcher's illustrative cluster (Google, "Towards a future space-based, highly
scalable AI infrastructure system design", Nov 2025: neighbours 100-200 m apart).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from twin_core import Metric, Stage, Variable, hookimpl
from twin_core.validators import positive

#: Largest cluster measured (the pass is O(N^2) per cluster).
MAX_MEMBERS = 4096


@attrs.frozen
class FormationConfig:
    """Table ``[formation]``.

    Attributes:
        warn_separation_m: members closer than this to another are counted [m].
    """

    warn_separation_m: float = attrs.field(default=50.0, validator=positive)


def cluster_groups(scenario: Any) -> list[np.ndarray]:
    """Satellite indices of each cluster shell, in shell order."""
    if scenario is None or scenario.section("orbit") is None:
        return []
    out, first = [], 0
    for sh in scenario.section("orbit").shell:
        n = sh.count
        if sh.kind == "cluster" and 2 <= n <= MAX_MEMBERS:
            out.append(np.arange(first, first + n))
        first += n
    return out


def _active(scenario: Any) -> bool:
    return scenario is None or bool(cluster_groups(scenario))


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"formation": FormationConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    if not _active(scenario):
        return None
    return [Variable("formation.nearest_m", "m", "distance to the closest other member of the cluster (0 outside "
                     "a cluster)", "output", "f32"),
            Variable("formation.farthest_m", "m", "distance to the farthest other member of the cluster",
                     "output", "f32"),
            Variable("formation.too_close", "1", "1 while another member is closer than warn_separation_m", "output",
                     "u8"),
            Variable("formation.in_cluster", "1", "1 for a member of a measured cluster", "parameter", "u8",
                     record=False),
            Variable("formation.member_lo", "1", "local row of the cluster's first member (-1: not in a cluster)",
                     "parameter", "i32", record=False),
            Variable("formation.member_hi", "1", "local row after the cluster's last member", "parameter", "i32",
                     record=False)]


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    if not _active(scenario):
        return None
    cfg = scenario.section("formation") if scenario is not None else FormationConfig()
    return [Metric("formation.min_separation_m", "formation.nearest_m", "min", "m",
                   "smallest distance between two members of a cluster",
                   where_variable="formation.in_cluster", where_equal=1.0),
            Metric("formation.extent_m", "formation.farthest_m", "max", "m", "largest distance between two members "
                   "of a cluster"),
            Metric("formation.too_close_count", "formation.too_close", "sum", "1",
                   f"members closer than {cfg.warn_separation_m:g} m to another")]


def member_rows(scenario: Any, state: Any, what: str) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """For every satellite of the constellation, the local rows ``[lo, hi)`` of its
    cluster's members in this process (-1 outside a cluster, or for a cluster another
    process holds), and the clusters this process holds. A cluster is measured by the
    process that owns all of it; one split between shards is a `ScenarioError` (``what``
    says what needs it)."""
    from twin_core import ScenarioError

    lo = np.full(state.n_total, -1, dtype=np.int64)
    hi = np.full(state.n_total, -1, dtype=np.int64)
    held = []
    for members in cluster_groups(scenario):
        local = state.local_index(members)
        owned = (local >= 0) & (local < state.n_own)
        if not owned.any():
            continue
        if not owned.all():
            raise ScenarioError(scenario.path, "orbit.shell", f"{what} needs a cluster held whole by one process, "
                                f"and a cluster of {len(members)} satellites is split between shards",
                                hint="run it unsharded: a cluster is small; or set [output] chunk_sats to a "
                                "multiple of the cluster's size")
        lo[members], hi[members] = local[0], local[0] + len(members)
        held.append(members)
    return lo, hi, held


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    if not cluster_groups(scenario):
        return
    lo, hi, _held = member_rows(scenario, state, "computing a cluster's separations")
    state.set("formation.in_cluster", (lo >= 0).astype(np.uint8))
    state.set("formation.member_lo", lo)
    state.set("formation.member_hi", hi)


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    if not cluster_groups(scenario):
        return None
    import taichi as ti

    warn = float(scenario.section("formation").warn_separation_m)
    r = state.field("orbit.r_eci_m")
    lo_f, hi_f = state.field("formation.member_lo"), state.field("formation.member_hi")
    near_f, far_f, close_f = (state.field(n) for n in ("formation.nearest_m", "formation.farthest_m",
                                                        "formation.too_close"))

    @ti.func
    def separations(i, k, t, dt):
        near, far = 0.0, 0.0
        if lo_f[i] >= 0:
            near = 1e300
            ri = r[i]
            for m in range(lo_f[i], hi_f[i]):
                if m != i:
                    d = (r[m] - ri).norm()
                    near = ti.min(near, d)
                    far = ti.max(far, d)
            if near > 1e299:
                near = 0.0
        near_f[i] = ti.cast(near, ti.f32)
        far_f[i] = ti.cast(far, ti.f32)
        close_f[i] = ti.cast(1 if (lo_f[i] >= 0 and near < warn) else 0, ti.u8)

    return [Stage("formation.separations", separations,
                  writes=("formation.nearest_m", "formation.farthest_m", "formation.too_close"),
                  reads=("orbit.r_eci_m",), phase="coupling")]


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    con = store["constellation"] if "constellation" in store else None
    if con is None or "formation.min_separation_m" not in con:
        return None
    sep = np.asarray(con["formation.min_separation_m"][...])
    ext = np.asarray(con["formation.extent_m"][...])
    close = np.asarray(con["formation.too_close_count"][...])
    if not np.isfinite(sep).any() or not np.isfinite(ext).any():  # a run that has written no sample yet
        return [("cluster geometry", "no sample written yet")]
    close = close[np.isfinite(close)]
    return [("cluster closest approach", f"{np.nanmin(sep):,.1f} m (first sample {sep[0]:,.1f} m)"),
            ("cluster extent", f"{np.nanmin(ext):,.0f} to {np.nanmax(ext):,.0f} m"),
            ("samples with members too close", f"{int(np.count_nonzero(close > 0))} of {len(close)}")]
