"""Which satellites link to which: inter-satellite link lists in "slot" form. Pure numpy
(and scipy's k-d tree), no hooks; the crosslinks plugin evaluates the links these list.

Slot form: every satellite owns ``k`` slots; slot ``s`` of satellite ``i`` holds the
global index of the other end of one link, or -1 when unused. Each undirected link is
listed once, by its owner; no satellite links to itself. Arrays are int64 of shape
(n, k). `pairs` flattens them into endpoint arrays, `degree` counts links per satellite
(both ends).

``plus_grid``: the "+Grid" of a Walker shell (four links per satellite: fore and aft in
its plane, left and right to the neighbouring planes; Wood, Internetworking with
satellite constellations, PhD thesis, Univ. of Surrey, 2001, ch. 3; Werner, "A dynamic
routing concept for ATM-based satellite personal communication networks", IEEE JSAC
15(8), 1997; del Portillo et al., "A technical comparison of three low earth orbit
satellite constellation systems to provide global broadband", Acta Astronautica 159,
123-135, 2019; Handley, "Delay is not an option: low latency routing in space", HotNets
2018). Satellites are numbered as `orbitwin_plugins.constellations` builds them: plane
``j`` (0..P-1), slot ``k`` (0..S-1), index ``first + j S + k``, argument of latitude
``u_jk = k 360/S + j F 360/T``. Each satellite owns two slots:

- slot 0, in-plane: ``(j, k) -> (j, (k + 1) mod S)``;
- slot 1, cross-plane: ``(j, k) -> (j + 1, k + shift)`` for ``j < P - 1``.

The seam, from plane P-1 to plane 0. Walker delta: a plane ``P`` would have the node of
plane 0 (``RAAN_0 + P 360/P = RAAN_0 + 360``) and ``u_Pk = k 360/S + P F 360/T =
(k + F) 360/S``, i.e. its slot ``k`` is plane 0's slot ``k + F``; so plane P-1 links to
``(0, (k + F + shift) mod S)``, and the grid closes with every satellite of degree 4.
Walker star: the planes span only 180 deg of node, planes P-1 and 0 are neighbours across
the "seam" where they counter-rotate, with relative speeds near twice the orbital speed;
no link crosses it (Werner 1997 and Wood 2001 for Iridium-like polar shells), so the
satellites of the two seam planes have degree 3.

``shift`` (default 0, the same slot in the next plane) moves the cross-plane partner along
the next plane. The same slot is not always the satellite that flies alongside: slot
``k + s`` of the next plane leads by ``phi_s = F 360/T + s 360/S`` in argument of
latitude, and the node offset ``dRAAN`` (360/P delta, 180/P star) adds roughly
``dRAAN cos i`` to the along-track separation, so the permanent neighbour is the slot that
minimises ``|phi_s + dRAAN cos i|``, not always ``s = 0``. `nearest_cross_shift` picks
the ``s`` whose largest distance over an orbit (two circular orbits, same radius and
inclination) is least: 0 for a Starlink-like 1584/72/1 at 53 deg (at most 0.090 a apart,
621 km at 550 km), -1 for 1584/72/39 (0.105 a, against 0.218 a for the same slot) and for
120/12/5 (0.42 a against 0.70 a).

Degenerate shells are guarded by one rule, applied to every builder: self links and
repeats of an undirected link are dropped (set to -1), keeping the first listing in
row-major order, i.e. the lower owner's. So S = 1 has no in-plane links; S = 2 one
in-plane link per pair (the two forward links coincide); P = 1 no cross links; a delta
shell of P = 2 with F = 0 one cross link per pair (plane 1's "next plane" is plane 0 with
the same slots).

``within_range``: all pairs closer than a distance inside each group (a formation-flying
cluster); ``k_nearest``: each satellite's k nearest others (scipy.spatial.cKDTree).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from orbitwin_plugins.constellations import check_walker
from twin_core.validators import SpecValueError

#: Largest group `within_range` accepts: a cluster of n satellites all in range of each
#: other has n(n-1)/2 links (12.5 million at 5,000), the most a step should evaluate.
MAX_GROUP = 5000


# -- helpers ------------------------------------------------------------------------------


def dedupe(slots: Any) -> np.ndarray:
    """``slots`` with self links and repeated undirected links set to -1, keeping each
    link's first listing in row-major order. Returns a new int64 array."""
    s = np.array(slots, dtype=np.int64, copy=True)
    if s.ndim != 2:
        raise ValueError(f"slots must be 2-d (n, k): shape {s.shape}")
    n, k = s.shape
    owner = np.repeat(np.arange(n, dtype=np.int64), k)
    flat = s.reshape(-1)
    used = (flat >= 0) & (flat != owner)
    flat[(flat >= 0) & ~used] = -1
    idx = np.flatnonzero(used)
    if idx.size:
        lo = np.minimum(owner[idx], flat[idx])
        hi = np.maximum(owner[idx], flat[idx])
        key = lo * max(n, int(flat.max()) + 1) + hi
        _, first = np.unique(key, return_index=True)  # first occurrence in row-major order
        keep = np.zeros(idx.size, bool)
        keep[first] = True
        flat[idx[~keep]] = -1
    return s


def pairs(slots: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` int64 arrays of the used slots, ``a`` the owner, in row-major order."""
    s = np.asarray(slots, dtype=np.int64)
    a, col = np.nonzero(s >= 0)
    return a.astype(np.int64), s[a, col].astype(np.int64)


def degree(slots: Any, n: int) -> np.ndarray:
    """Links per satellite, counting both ends: int64 array (n,)."""
    a, b = pairs(slots)
    return (np.bincount(a, minlength=n) + np.bincount(b, minlength=n)).astype(np.int64)


def _pack(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Slot array (n, k) from owner/partner lists, k = the most any owner has (>= 1)."""
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    counts = np.bincount(a, minlength=n)
    k = max(int(counts.max(initial=0)), 1)
    out = np.full((n, k), -1, dtype=np.int64)
    if a.size:
        start = np.concatenate(([0], np.cumsum(counts)[:-1]))
        col = np.arange(a.size) - start[a]
        out[a, col] = b
    return out


# -- +Grid ---------------------------------------------------------------------------------


def cross_distance_max(total: int, planes: int, phasing: int, inclination_deg: float, star: bool,
                       shift: int) -> float:
    """Largest distance over an orbit, in units of the orbit radius, between satellite
    (j, k) and satellite (j + 1, k + shift) of a circular Walker shell (720 samples of
    the argument of latitude; J2 turns both planes alike and is left out)."""
    check_walker(total, planes, phasing)
    s_per = total // planes
    d_node = np.radians((180.0 if star else 360.0) / planes)
    inc = np.radians(inclination_deg)
    u = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    phi = np.radians(phasing * 360.0 / total + shift * 360.0 / s_per)

    def unit(node: float, arg: np.ndarray) -> np.ndarray:
        return np.stack([np.cos(node) * np.cos(arg) - np.sin(node) * np.cos(inc) * np.sin(arg),
                         np.sin(node) * np.cos(arg) + np.cos(node) * np.cos(inc) * np.sin(arg),
                         np.sin(inc) * np.sin(arg)], axis=-1)

    return float(np.max(np.linalg.norm(unit(0.0, u) - unit(d_node, u + phi), axis=-1)))


def nearest_cross_shift(total: int, planes: int, phasing: int, inclination_deg: float, star: bool = False) -> int:
    """The ``shift`` of `plus_grid` whose cross-plane partner stays nearest: the one with
    the least `cross_distance_max`, ties to the smallest ``|shift|`` (module docstring)."""
    check_walker(total, planes, phasing)
    s_per = total // planes
    cands = sorted(range(-(s_per // 2), s_per // 2 + 1), key=abs)
    worst = {s: round(cross_distance_max(total, planes, phasing, inclination_deg, star, s), 9) for s in cands}
    return min(cands, key=lambda s: (worst[s], abs(s)))


def plus_grid(first: int, total: int, planes: int, phasing: int, star: bool, shift: int = 0) -> np.ndarray:
    """Slots (T, 2) of the +Grid of a Walker shell ``T/P/F`` whose satellites are numbered
    from ``first`` (module docstring): slot 0 the next satellite in the plane, slot 1 the
    satellite ``k + shift`` of the next plane, across the seam only for a delta shell.
    Indices are global (``first`` added); rows are the shell's satellites in order."""
    check_walker(total, planes, phasing)
    if first < 0:
        raise SpecValueError("first", first, "a whole number >= 0")
    s_per = total // planes
    j = np.repeat(np.arange(planes, dtype=np.int64), s_per)
    k = np.tile(np.arange(s_per, dtype=np.int64), planes)
    out = np.full((total, 2), -1, dtype=np.int64)
    out[:, 0] = j * s_per + (k + 1) % s_per
    inner = j < planes - 1
    out[inner, 1] = (j[inner] + 1) * s_per + (k[inner] + shift) % s_per
    if not star:
        seam = ~inner
        out[seam, 1] = (k[seam] + phasing + shift) % s_per
    local = dedupe(out)
    return np.where(local >= 0, local + first, -1)


# -- geometric builders ---------------------------------------------------------------------


def within_range(positions_m: Any, groups: Any, max_range_m: float) -> np.ndarray:
    """Slots (n, k) linking every pair of satellites of the same group closer than
    ``max_range_m`` [m] (strictly), owned by the lower index; k is the most links any
    satellite owns (at least 1, a column of -1 when no pair is in range).

    Raises `SpecValueError` (key ``topology``) for a group of more than `MAX_GROUP`."""
    x = np.asarray(positions_m, dtype=np.float64)
    g = np.asarray(groups)
    if x.ndim != 2 or x.shape[1] != 3 or g.shape != (x.shape[0],):
        raise ValueError(f"positions_m must be (n, 3) and groups (n,): {x.shape}, {g.shape}")
    if not max_range_m > 0.0:
        raise SpecValueError("max_range_m", max_range_m, "> 0")
    n = x.shape[0]
    labels, inverse, sizes = np.unique(g, return_inverse=True, return_counts=True)
    if sizes.size and sizes.max() > MAX_GROUP:
        big = labels[int(np.argmax(sizes))]
        raise SpecValueError("topology", f"shell {int(big)} of {int(sizes.max())} satellites",
                             f"groups of at most {MAX_GROUP} satellites for links to every "
                             f"satellite in range (a cluster, not a whole shell: use a +grid "
                             f"or k-nearest topology)")
    a_all, b_all = [], []
    by_group = np.argsort(inverse.reshape(-1), kind="stable")
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    for gi in np.flatnonzero(sizes >= 2):
        members = by_group[bounds[gi]:bounds[gi + 1]]
        from scipy.spatial import cKDTree  # imported when used: 0.2 s at every start otherwise

        p = cKDTree(x[members]).query_pairs(max_range_m, output_type="ndarray")
        if p.size == 0:
            continue
        a, b = members[p[:, 0]], members[p[:, 1]]
        close = np.einsum("ij,ij->i", x[a] - x[b], x[a] - x[b]) < max_range_m**2
        a, b = a[close], b[close]
        a_all.append(np.minimum(a, b))
        b_all.append(np.maximum(a, b))
    if not a_all:
        return np.full((n, 1), -1, dtype=np.int64)
    return _pack(n, np.concatenate(a_all).astype(np.int64), np.concatenate(b_all).astype(np.int64))


def k_nearest(positions_m: Any, k: int) -> np.ndarray:
    """Slots (n, k): satellite i's slot s holds its (s+1)-th nearest other satellite,
    except that a pair listing each other is kept only by the lower index (the higher
    one's slot is -1). Fewer than k others: the extra slots are -1."""
    x = np.asarray(positions_m, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"positions_m must be (n, 3): {x.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise SpecValueError("k", k, "a whole number >= 1")
    n = x.shape[0]
    out = np.full((n, k), -1, dtype=np.int64)
    m = min(k, n - 1)
    if m <= 0:
        return out
    from scipy.spatial import cKDTree

    _, idx = cKDTree(x).query(x, k=m + 1, workers=-1)
    idx = np.asarray(idx, dtype=np.int64).reshape(n, m + 1)
    rows = np.arange(n)[:, None]
    # Drop each satellite itself (normally column 0; not so when points coincide).
    is_self = idx == rows
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True  # self beyond the k+1 found (ties at distance 0)
    near = idx[~is_self].reshape(n, m)
    # Mutual pairs: keep in the lower index only.
    owner = np.broadcast_to(rows, near.shape)
    mutual = (near[near] == owner[:, :, None]).any(axis=2) if m else np.zeros_like(near, bool)
    out[:, :m] = np.where(mutual & (near < owner), -1, near)
    return out
