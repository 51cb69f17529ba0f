"""Service latency in taichi kernels: each user's best round trip at a block of records at
once, the kernel form of `orbitwin_plugins.latency_model` (docs/latency.md, "Where it runs").

`orbitwin_plugins.latency` hands this module one time chunk of the store at a time
(`LatencyBlocks.rtt_s`); the Python loop is over blocks of records, and within a block
every record, user, satellite, station and link slot is an index of a kernel loop. Three
kernels, each compiled once per process (or loaded from taichi's offline cache) and reused
for every block and every store: their arrays are ``ti.types.ndarray`` arguments and every
size is an argument, so no shape, store or configuration is compiled in.

``_prepare`` ``(record, satellite)`` and ``(record, link slot)``
    Satellites to the Earth-fixed frame, ``r_ECEF = M^T r_ECI`` (`latency_model.eci_to_ecef`);
    the one-way time to the work ``T`` set to 0 on the active holders (every active
    satellite with ``compute = "any"``) and to "no route" elsewhere; each link slot's cost
    ``L / c + D_sat`` where the link is up with both ends active, else "not usable".
``_sweep`` ``(record, run of SPAN link slots)``, then ``(record, run of SPAN satellites)``
    One Jacobi sweep of Bellman-Ford (`latency_model.shortest_delay_s`): every usable link
    relaxes both ends from the previous sweep's ``T`` into a second buffer with
    ``ti.atomic_min``; then every satellite whose time fell is copied back, marked
    "fresh", and raises its record's "changed" flag. A link offers only from a fresh end
    (the other end's offer through it is in already, since times only fall), so each sweep
    gives exactly the full Jacobi sweep's result; a record whose sweep changed nothing is
    finished and skipped by later sweeps. The host repeats sweeps until no record changed,
    at most ``n - 1`` times (one 4-byte read per sweep): the sweeps of the block are those
    of its slowest record, and each record's are numpy's. Min is exact and order-free, so
    ``T`` is numpy's fixed point (up to the rounding of a link's cost, below).
``_routes`` ``(record, satellite)``, ``(record, station)``, then ``(record, user)``
    Each satellite's ``T`` put next to its position ("no route" where inactive). Slant range and ``sin(el) = (r - s) . u / |r - s|`` of every satellite from every
    station and user (`latency_model.look`, `visible`); per station the best
    ``rho_ge / c + T_e`` over the satellites it sees; per user the path route
    ``2 (min_e (rho_e / c + T_e) + D_ut + D_sat)`` (the direct route when ``T = 0`` on every
    active satellite), the ground route ``2 min_g (k d_ug / v_f + D_gw + D_sat + best_g)``
    and the faster of the two (`path_rtt_s`, `ground_rtt_s`, `best_rtt_s`). The fibre leg
    ``k d_ug / v_f + D_gw + D_sat`` does not change in time: it is computed once per store
    with `latency_model.great_circle_m`, the reference's own expression.

No infinities and no NaN inside the kernels: taichi compiles with fast math by default
(LLVM may then assume neither occurs), so "no route" is the finite `NO_ROUTE` (1e30 s) and
is never added to; the block's "no service" entries become NaN as it is copied out.

Precision: float64 throughout (no f32 anywhere). Against the numpy reference the kernels
differ only in rounding: numpy's matrix product may sum the rotation in another order,
and taichi's fast math may turn a division into a multiplication by the reciprocal or fuse
a multiply-add. That is a few units in the last place of a slant range or a link's cost:
at most 1.1e-16 s of round trip over 1,800 random cases (39,000 users served) and at most
5.6e-17 s on the Walker example (1,584 satellites, 289 records, over links to two
holders). `tests/test_latency_kernels.py` asserts 1e-12 s (1 ps) and the same no-service
entries. A satellite within an ulp of an elevation mask could be seen by one and not the
other; no case met one.
"""

import numpy as np

import twin_core.backend  # noqa: F401  (sets TI_SKIP_VERSION_CHECK before taichi is imported)
from orbitwin_plugins import latency_model as lm

import taichi as ti  # noqa: E402  (after twin_core.backend, on purpose)

#: "No route" / "no service" inside the kernels [s]: finite, far above any round trip.
NO_ROUTE = 1.0e30
C_M_S = lm.SPEED_OF_LIGHT_M_S
#: Link slots (or satellites) one thread takes in a row in a Bellman-Ford sweep.
SPAN = 256

F64_2 = ti.types.ndarray(dtype=ti.f64, ndim=2)
F64_3 = ti.types.ndarray(dtype=ti.f64, ndim=3)
U8_1 = ti.types.ndarray(dtype=ti.u8, ndim=1)
U8_2 = ti.types.ndarray(dtype=ti.u8, ndim=2)
I32_1 = ti.types.ndarray(dtype=ti.i32, ndim=1)


# --------------------------------------------------------------------------------------
# kernels (no ``from __future__ import annotations`` here: taichi reads the annotations)
# --------------------------------------------------------------------------------------


@ti.kernel
def _prepare(nb: ti.i32, n_sats: ti.i32, n_links: ti.i32, r_eci: F64_3, rot: F64_3, active: U8_2, holder: U8_1,
             link_a: I32_1, link_b: I32_1, link_up: U8_2, link_range: F64_2, switch_s: ti.f64,
             sat: F64_3, t: F64_2, tn: F64_2, w: F64_2, live: I32_1, changed: I32_1, fresh: U8_2):
    for r in range(nb):
        live[r] = 1
        changed[r] = 0
    for r, i in ti.ndrange(nb, n_sats):
        for j in ti.static(range(3)):
            sat[r, i, j] = r_eci[r, i, 0] * rot[r, 0, j] + r_eci[r, i, 1] * rot[r, 1, j] + r_eci[r, i, 2] * rot[r, 2, j]
        x = NO_ROUTE
        f = 0
        if active[r, i] != 0 and holder[i] != 0:
            x = 0.0
            f = 1
        t[r, i] = x
        tn[r, i] = x
        fresh[r, i] = ti.cast(f, ti.u8)
    for r, k in ti.ndrange(nb, n_links):
        x = -1.0
        if link_up[r, k] == 1 and active[r, link_a[k]] != 0 and active[r, link_b[k]] != 0:
            x = link_range[r, k] / C_M_S + switch_s
        w[r, k] = x


@ti.kernel
def _sweep(nb: ti.i32, n_sats: ti.i32, n_links: ti.i32, link_a: I32_1, link_b: I32_1, w: F64_2,
           t: F64_2, tn: F64_2, live: I32_1, changed: I32_1, n_live: I32_1, fresh: U8_2):
    n_live[0] = 0
    # parallel over (record, run of SPAN slots): the index arithmetic of a flat
    # (record, slot) range cost more than the relaxations themselves
    for r, c in ti.ndrange(nb, (n_links + SPAN - 1) // SPAN):
        if live[r] != 0:
            for k in range(c * SPAN, ti.min(c * SPAN + SPAN, n_links)):
                a = link_a[k]
                b = link_b[k]
                fa = fresh[r, a] != 0
                fb = fresh[r, b] != 0
                if (fa or fb) and w[r, k] >= 0.0:
                    # only from an end whose time fell in the last sweep (the other end's
                    # offer through this link is already in), and a plain read before the
                    # atomic: tn only falls, so where it is lower already the atomic would
                    # change nothing
                    if fa:
                        x = t[r, a] + w[r, k]
                        if x < tn[r, b]:
                            ti.atomic_min(tn[r, b], x)
                    if fb:
                        x = t[r, b] + w[r, k]
                        if x < tn[r, a]:
                            ti.atomic_min(tn[r, a], x)
    for r, c in ti.ndrange(nb, (n_sats + SPAN - 1) // SPAN):
        if live[r] != 0:
            for i in range(c * SPAN, ti.min(c * SPAN + SPAN, n_sats)):
                f = 0
                if tn[r, i] < t[r, i]:
                    t[r, i] = tn[r, i]
                    changed[r] = 1
                    f = 1
                fresh[r, i] = ti.cast(f, ti.u8)
    for r in range(nb):
        live[r] = changed[r]
        changed[r] = 0
        ti.atomic_add(n_live[0], live[r])


@ti.func
def _look(sat: ti.template(), r, i, site: ti.template(), up: ti.template(), j):
    """Slant range [m] and sin(elevation) of satellite ``i`` of record ``r`` from site ``j``
    (`latency_model.look`); ``sin_el`` -1 below the horizon, where no mask (>= 0) is met."""
    dx = sat[r, i, 0] - site[j, 0]
    dy = sat[r, i, 1] - site[j, 1]
    dz = sat[r, i, 2] - site[j, 2]
    dot = dx * up[j, 0] + dy * up[j, 1] + dz * up[j, 2]
    rng = 1.0
    sin_el = -1.0
    if dot >= 0.0:
        rng = ti.sqrt(dx * dx + dy * dy + dz * dz)
        sin_el = dot / rng
    return rng, sin_el


@ti.func
def _best_entry(sat: ti.template(), r, n_sats, site: ti.template(), up: ti.template(), j, sin_mask):
    """``min_e (rho_e / c + T_e)`` over the satellites site ``j`` sees above its mask at
    record ``r`` (``T`` in ``sat[r, e, 3]``), `NO_ROUTE` when none."""
    best = NO_ROUTE
    for i in range(n_sats):
        te = sat[r, i, 3]
        if te < NO_ROUTE:
            rng, sin_el = _look(sat, r, i, site, up, j)
            if sin_el >= sin_mask:
                best = ti.min(best, rng / C_M_S + te)
    return best


@ti.kernel
def _routes(nb: ti.i32, n_sats: ti.i32, n_users: ti.i32, n_stations: ti.i32, sat: F64_3, active: U8_2, t: F64_2,
            user_s: F64_2, user_up: F64_2, user_sin_mask: ti.f64, ut_delay_s: ti.f64, switch_s: ti.f64,
            st_s: F64_2, st_up: F64_2, st_sin_mask: ti.f64, fibre_s: F64_2, best_up: F64_2, out: F64_2):
    # each satellite's time to the work next to its position, "no route" where inactive:
    # the loops below read one run of four numbers per satellite
    for r, i in ti.ndrange(nb, n_sats):
        x = NO_ROUTE
        if active[r, i] != 0:
            x = t[r, i]
        sat[r, i, 3] = x
    for r, g in ti.ndrange(nb, n_stations):
        best_up[r, g] = _best_entry(sat, r, n_sats, st_s, st_up, g, st_sin_mask)
    for r, u in ti.ndrange(nb, n_users):
        best = _best_entry(sat, r, n_sats, user_s, user_up, u, user_sin_mask)
        rtt = NO_ROUTE
        if best < NO_ROUTE:
            rtt = 2.0 * (best + ut_delay_s + switch_s)  # path_rtt_s's order of sums
        for g in range(n_stations):
            if best_up[r, g] < NO_ROUTE:
                rtt = ti.min(rtt, 2.0 * (fibre_s[u, g] + best_up[r, g]))
        out[r, u] = rtt


# --------------------------------------------------------------------------------------
# the host side: one object per store, one call per block of records
# --------------------------------------------------------------------------------------


def _c(x, dtype) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=dtype)


class LatencyBlocks:
    """The per-store constants and work buffers of the kernels; `rtt_s` gives the round
    trips of one block of records.

    Args:
        n_sats: satellites in the store.
        capacity: records per launch (the store's time chunk); a longer block is done in
            pieces of this many.
        user_ecef_m, user_up: ``(u, 3)`` users' positions and ellipsoid normals
            (`latency_model.users_ecef`).
        user_lat_deg, user_lon_deg: ``(u,)``, for the fibre legs.
        holders: satellite indices holding the work, or None for ``compute = "any"``
            (every active satellite; no link graph is used then, as in the reference).
        link_a, link_b: ``(l,)`` the used link slots' endpoints, or None (no links).
        stations: ``(lat_deg, lon_deg, alt_m)`` arrays of the ground stations, or None.
        cfg: the `latency_model.LatencyConfig` (masks, delays, route factor).
    """

    def __init__(self, n_sats: int, capacity: int, user_ecef_m, user_up, user_lat_deg, user_lon_deg,
                 holders, link_a, link_b, stations, cfg: lm.LatencyConfig):
        from taichi.lang import impl

        from twin_core.backend import start_taichi

        if impl.get_runtime().prog is None:  # not started: a run starts it first (its backend is used)
            start_taichi("cpu", quiet=True)
        self.n_sats = int(n_sats)
        n_links = len(link_a) if holders is not None and link_a is not None else 0
        #: Records per kernel launch: the block asked for, fewer where the work buffers of
        #: that many would pass 2^31 elements (taichi indexes an ndarray with 32 bits).
        self.capacity = max(1, min(int(capacity), (2**31 - 1) // (4 * max(self.n_sats, n_links, 1))))
        self.cfg = cfg
        self.user_s = _c(np.reshape(user_ecef_m, (-1, 3)), np.float64)
        self.user_up = _c(np.reshape(user_up, (-1, 3)), np.float64)
        self.n_users = self.user_s.shape[0]
        # the masks' sines exactly as latency_model.visible computes them
        self.user_sin_mask = float(np.sin(np.radians(np.float64(cfg.min_elevation_deg))))
        self.st_sin_mask = float(np.sin(np.radians(np.float64(cfg.gateway_min_elevation_deg))))
        holder = np.zeros(self.n_sats, np.uint8)
        if holders is None:
            holder[:] = 1
        else:
            holder[np.asarray(holders, np.int64)] = 1
        self.holder = holder
        self.use_links = holders is not None and link_a is not None and len(link_a) > 0
        if self.use_links:
            self.link_a, self.link_b = _c(link_a, np.int32), _c(link_b, np.int32)
        else:
            self.link_a = self.link_b = np.zeros(1, np.int32)
        self.n_links = len(link_a) if self.use_links else 0
        if stations is not None and len(stations[0]):
            g_lat, g_lon, g_alt = (np.atleast_1d(np.asarray(x, np.float64)) for x in stations)
            s, up = lm.geodetic_to_ecef(g_lat, g_lon, np.broadcast_to(g_alt, g_lat.shape))
            self.st_s, self.st_up = _c(s.reshape(-1, 3), np.float64), _c(up.reshape(-1, 3), np.float64)
            d = lm.great_circle_m(np.asarray(user_lat_deg, np.float64)[:, None],
                                  np.asarray(user_lon_deg, np.float64)[:, None], g_lat[None, :], g_lon[None, :])
            # the reference's expression (ground_rtt_s), left to right
            self.fibre_s = _c(cfg.route_factor * d / lm.FIBRE_SPEED_M_S + cfg.gateway_delay_s
                              + cfg.satellite_switch_delay_s, np.float64)
            self.n_stations = g_lat.size
        else:
            self.st_s = self.st_up = np.zeros((1, 3))
            self.fibre_s = np.zeros((max(1, self.n_users), 1))
            self.n_stations = 0
        b, n = self.capacity, max(1, self.n_sats)
        self._sat = ti.ndarray(ti.f64, shape=(b, n, 4))  # x, y, z (ECEF) and T
        self._t = ti.ndarray(ti.f64, shape=(b, n))
        self._tn = ti.ndarray(ti.f64, shape=(b, n))
        self._w = ti.ndarray(ti.f64, shape=(b, max(1, self.n_links)))
        self._best_up = ti.ndarray(ti.f64, shape=(b, max(1, self.n_stations)))
        self._live = ti.ndarray(ti.i32, shape=(b,))
        self._changed = ti.ndarray(ti.i32, shape=(b,))
        self._n_live = ti.ndarray(ti.i32, shape=(1,))
        self._fresh = ti.ndarray(ti.u8, shape=(b, n))
        self._ones = np.ones((b, n), np.uint8)
        self._no_links_up = np.zeros((b, 1), np.uint8)
        self._no_links_rng = np.zeros((b, 1))
        #: Bellman-Ford sweeps run for the last block (the longest record's, changed-free one included).
        self.sweeps = 0

    def rtt_s(self, r_eci_m, ecef_to_eci, active=None, link_up=None, link_range_m=None) -> np.ndarray:
        """Each user's best round trip [s] at each record of the block ``(b, u)``, NaN = no
        service. A block longer than `capacity` is done in pieces of `capacity` records.

        Args:
            r_eci_m: ``(b, n, 3)`` satellite positions (ECI) [m].
            ecef_to_eci: ``(b, 3, 3)`` the rotations ``M`` (or ``(b, 9)`` row-major).
            active: ``(b, n)`` nonzero for satellites active, or None (all).
            link_up: ``(b, l)`` the used slots' ``link.up`` (1 = up), with links.
            link_range_m: ``(b, l)`` the used slots' ``link.range_m``, with links.
        """
        r = _c(r_eci_m, np.float64)
        nb = r.shape[0]
        rot = np.reshape(ecef_to_eci, (nb, 3, 3))
        out = np.full((nb, self.n_users), np.nan)
        sweeps = 0
        for k in range(0, nb if self.n_users else 0, self.capacity):
            part = slice(k, k + self.capacity)
            out[part] = self._piece(r[part], rot[part], None if active is None else active[part],
                                    None if link_up is None else link_up[part],
                                    None if link_range_m is None else link_range_m[part])
            sweeps = max(sweeps, self.sweeps)
        self.sweeps = sweeps
        return out

    def _piece(self, r, rot, active, link_up, link_range_m) -> np.ndarray:
        nb = r.shape[0]
        out = np.empty((nb, self.n_users))
        rot = _c(rot, np.float64)
        act = self._ones[:nb] if active is None else _c(np.asarray(active) != 0, np.uint8)
        if self.use_links:
            up = _c(np.asarray(link_up) == 1, np.uint8)
            rng = _c(link_range_m, np.float64)
        else:
            up, rng = self._no_links_up, self._no_links_rng
        _prepare(nb, self.n_sats, self.n_links, r, rot, act, self.holder, self.link_a, self.link_b, up, rng,
                 float(self.cfg.satellite_switch_delay_s), self._sat, self._t, self._tn, self._w, self._live,
                 self._changed, self._fresh)
        self.sweeps = 0
        if self.use_links:
            for _ in range(max(self.n_sats - 1, 0)):
                _sweep(nb, self.n_sats, self.n_links, self.link_a, self.link_b, self._w, self._t, self._tn,
                       self._live, self._changed, self._n_live, self._fresh)
                self.sweeps += 1
                if int(self._n_live[0]) == 0:
                    break
        _routes(nb, self.n_sats, self.n_users, self.n_stations, self._sat, act, self._t, self.user_s, self.user_up,
                self.user_sin_mask, float(self.cfg.user_terminal_delay_s), float(self.cfg.satellite_switch_delay_s),
                self.st_s, self.st_up, self.st_sin_mask, self.fibre_s,
                self._best_up, out)
        return np.where(out < NO_ROUTE, out, np.nan)


__all__ = ["LatencyBlocks", "NO_ROUTE"]
