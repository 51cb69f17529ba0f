"""Service latency in a run: each user's best round trip to the compute at every record,
computed at the end of the run from the finished store (``orbitwin_finish_store``) in the
taichi kernels of `orbitwin_plugins.latency_kernels`, which reproduce the numpy model of
`orbitwin_plugins.latency_model` (docs/latency.md, "In a run" and "Where it runs").

Enabled by a ``[latency]`` table (`LatencyConfig`; every key has a default)::

    [latency]
    locations = ["tokyo", "london"]   # bundled users; neither key: all 50
    compute = "any"                   # or satellite indices holding the work, [0, 12]

At every record, from the store alone (so sharded and unsharded runs give the same bytes):
satellites from ``sat/orbit.r_eci_m``, taken to the Earth-fixed frame with the ``common/``
series ``ground.ecef_to_eci`` when the ground plugin ran, else with the same rotation
computed from the record times (`orbitwin_plugins.ground.ecef_to_eci_matrix`, UTC as
UT1); with ``compute`` a list, the time from every satellite to the nearest holder over the
links up (``link/`` group: ``link.up``, ``link.range_m``, ``link_a``, ``link_b``;
Bellman-Ford, `latency_model.shortest_delay_s`); with a ``[ground]`` table, also the route
over fibre to a ground station and up. Satellites not yet active (``sat/sat.active`` 0,
when recorded) serve no one. The store is read one time chunk at a time and each chunk is
one call of the kernels (`latency_kernels.LatencyBlocks`): the Python loop is over chunks
(and Bellman-Ford's sweeps), never over records, users, satellites or links; peak memory is
a chunk's. ``latency_of_store(..., method="numpy")`` runs the numpy reference instead, one
record at a time (`record_rtt_numpy`), for tests and benchmarks.

Writes the group ``latency/`` (`write_latency`): ``latency.rtt_s`` ``(time, user)`` (NaN
= no service), its percentiles over the users served, the share of users served, each
user's share of records with service, and each user's fibre round trip to the terrestrial
data center of the comparison.

A run that cannot produce latency is refused before it runs: ``orbit.r_eci_m`` (and, with
``compute`` a list and ``[crosslinks]``, ``link.up`` and ``link.range_m``) must be
recorded (checked with the plan, `orbitwin_variables`), and the ``compute`` indices must
be satellites of the constellation (checked when the state is built,
`orbitwin_initial_state`, before the store exists).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from orbitwin_plugins import latency_model as lm
from orbitwin_plugins.ground import ecef_to_eci_matrix
from twin_core import ScenarioError, hookimpl

GROUP = "latency"
#: Percentiles written per record and shown in the summary.
QUANTILES = (50, 90, 99)


def _active(scenario: Any) -> bool:
    return scenario is not None and scenario.has_table(GROUP)


def _config(scenario: Any) -> lm.LatencyConfig:
    return scenario.section(GROUP) or lm.LatencyConfig()


def _links_used(scenario: Any) -> bool:
    """The link graph matters: work on given satellites and a ``[crosslinks]`` table."""
    return _config(scenario).holders is not None and scenario.has_table("crosslinks")


def _require_recorded(scenario: Any, name: str, why: str) -> None:
    """Refuse a scenario whose ``[output]`` leaves ``name`` unrecorded (plan time)."""
    out = scenario.output
    if name in out.exclude:
        raise ScenarioError(scenario.path, "output.exclude", f"[latency] needs '{name}' recorded ({why})", name,
                            hint=f"remove '{name}' from output.exclude, or the [latency] table")
    if out.variables and name not in out.variables:
        raise ScenarioError(scenario.path, "output.variables", f"[latency] needs '{name}' recorded ({why}), and "
                            "the list leaves it out", hint=f"add '{name}' to output.variables, or remove the "
                            "[latency] table")


# --------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {GROUP: lm.LatencyConfig}


@hookimpl
def orbitwin_variables(scenario: Any) -> None:
    """Declares nothing; with ``[latency]``, checks at plan time that what the end of the
    run reads will be recorded."""
    if not _active(scenario):
        return None
    _require_recorded(scenario, "orbit.r_eci_m", "satellite positions")
    if _links_used(scenario):
        for name in ("link.up", "link.range_m"):
            _require_recorded(scenario, name, "the link graph to the satellites holding the work")
    return None


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    """The ``compute`` indices against the constellation, before the run starts."""
    if not _active(scenario):
        return
    _check_holders(scenario, int(state.n_total))


def _check_holders(scenario: Any, n_sats: int) -> None:
    holders = _config(scenario).holders
    for j, i in enumerate(holders or ()):
        if i >= n_sats:
            raise ScenarioError(scenario.path, f"latency.compute[{j}]" if len(holders) > 1 else "latency.compute",
                                f"satellite index out of range: the constellation has {n_sats:,} satellites "
                                f"(0 to {n_sats - 1:,})", i)


@hookimpl
def orbitwin_finish_store(scenario: Any, store: Any) -> None:
    if not _active(scenario):
        return
    n_sats = int(store.attrs["n_sats"])
    _check_holders(scenario, n_sats)
    if "sat" not in store or "orbit.r_eci_m" not in store["sat"]:
        raise ScenarioError(scenario.path, "output.variables", "[latency] needs 'orbit.r_eci_m' recorded, and the "
                            "store has none", hint="add 'orbit.r_eci_m' to output.variables")
    rtt = latency_of_store(scenario, store)
    write_latency(store, _config(scenario), rtt)


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    if GROUP not in store or "latency.rtt_s" not in store[GROUP]:
        return None
    grp = store[GROUP]
    rtt = np.asarray(grp["latency.rtt_s"][...], dtype=np.float64)
    p = lm.percentiles(rtt, QUANTILES) * 1e3
    n_users = rtt.shape[1]
    served = float(np.mean(np.isfinite(rtt))) if rtt.size else float("nan")
    rows = []
    if np.isfinite(p).all():
        rows.append(("latency (round trip)", " / ".join(f"{v:,.1f}" for v in p)
                     + f" ms (p{'/p'.join(str(q) for q in QUANTILES)} over records and the users served)"))
    else:
        rows.append(("latency (round trip)", "no user was ever served"))
    per_user = np.asarray(grp["latency.user_service_share"][...], dtype=np.float64)
    rows.append(("service", f"{100 * served:.1f} % of user-time ({n_users} users; worst user "
                            f"{100 * per_user.min():.1f} %, best {100 * per_user.max():.1f} %)"))
    if "latency.terrestrial_rtt_s" in grp:
        terr = np.asarray(grp["latency.terrestrial_rtt_s"][...], dtype=np.float64)
        tp = lm.percentiles(terr, QUANTILES) * 1e3
        where = grp.attrs.get("data_center", "the terrestrial data center")
        rows.append(("terrestrial comparison", " / ".join(f"{v:,.1f}" for v in tp)
                     + f" ms (p{'/p'.join(str(q) for q in QUANTILES)} over the same users, fibre to {where})"))
    return rows


# --------------------------------------------------------------------------------------
# the computation
# --------------------------------------------------------------------------------------


def record_times_s(store: Any) -> np.ndarray:
    """The record times [s since the epoch] (``sat/time``, int64 ms)."""
    return np.asarray(store["sat"]["time"][...], dtype=np.float64) / 1000.0


def rotations(scenario: Any, store: Any, t_s: np.ndarray) -> np.ndarray:
    """``ground.ecef_to_eci`` at the records ``(k, 3, 3)``: the stored common series when
    the ground plugin ran, else computed the same way (UTC as UT1)."""
    if "common" in store and "ground.ecef_to_eci" in store["common"]:
        return np.asarray(store["common"]["ground.ecef_to_eci"][...], dtype=np.float64).reshape(-1, 3, 3)
    return ecef_to_eci_matrix(t_s, scenario.run.epoch)


def latency_of_store(scenario: Any, store: Any, method: str = "kernel") -> np.ndarray:
    """Each user's best round trip [s] at every record ``(time, user)``, NaN = no service.

    The store is read one time chunk of ``sat/orbit.r_eci_m`` at a time (peak memory is a
    chunk's positions, link states and work buffers). ``method="kernel"`` (the default)
    hands each chunk to the taichi kernels of `orbitwin_plugins.latency_kernels`: the
    Python loop is over chunks. ``method="numpy"`` is the reference: one Python iteration
    per record (`record_rtt_numpy`, the model's numpy functions), kept for tests and
    benchmarks; both give the same values to 1e-12 s (docs/latency.md).
    """
    if method not in ("kernel", "numpy"):
        raise ValueError(f"method must be 'kernel' or 'numpy', not {method!r}")
    cfg = _config(scenario)
    specs = cfg.specs()
    n_sats = int(store.attrs["n_sats"])
    s_user, up_user = lm.users_ecef(specs)
    lat = np.array([s.latitude_deg for s in specs])
    lon = np.array([s.longitude_deg for s in specs])
    t_s = record_times_s(store)
    rot = rotations(scenario, store, t_s)
    r_arr = store["sat"]["orbit.r_eci_m"]
    active = store["sat"]["sat.active"] if "sat.active" in store["sat"] else None

    holders = cfg.holders
    links = None
    if holders is not None and "link" in store and "link.up" in store["link"] and "link.range_m" in store["link"]:
        grp = store["link"]
        a, b = np.asarray(grp["link_a"][...]), np.asarray(grp["link_b"][...])
        used = (a >= 0) & (b >= 0)
        links = (a[used], b[used], used, grp["link.up"], grp["link.range_m"])
    stations = scenario.section("ground").specs() if scenario.has_table("ground") else []
    g_lat = np.array([s.latitude_deg for s in stations])
    g_lon = np.array([s.longitude_deg for s in stations])
    g_alt = np.array([s.altitude_m for s in stations])

    n_rec = len(t_s)
    out = np.full((n_rec, len(specs)), np.nan)
    step = max(1, r_arr.chunks[0])
    blocks = None
    if method == "kernel":
        from orbitwin_plugins.latency_kernels import LatencyBlocks

        blocks = LatencyBlocks(n_sats, min(step, max(n_rec, 1)), s_user, up_user, lat, lon, holders,
                               None if links is None else links[0], None if links is None else links[1],
                               (g_lat, g_lon, g_alt) if stations else None, cfg)
    for t0 in range(0, n_rec, step):
        r_block = np.asarray(r_arr[t0:t0 + step], dtype=np.float64)
        act_block = None if active is None else np.asarray(active[t0:t0 + step]) != 0
        up_block = rng_block = None
        if links is not None:
            up_block = np.asarray(links[3][t0:t0 + step])[:, links[2]] == 1
            rng_block = np.asarray(links[4][t0:t0 + step], dtype=np.float64)[:, links[2]]
        if blocks is not None:
            out[t0:t0 + r_block.shape[0]] = blocks.rtt_s(r_block, rot[t0:t0 + r_block.shape[0]], act_block,
                                                         up_block, rng_block)
            continue
        for j in range(r_block.shape[0]):
            out[t0 + j] = record_rtt_numpy(
                cfg, n_sats, s_user, up_user, lat, lon, r_block[j], rot[t0 + j],
                None if act_block is None else act_block[j],
                None if links is None else (links[0], links[1], up_block[j], rng_block[j]),
                (g_lat, g_lon, g_alt) if stations else None)
    return out


def record_rtt_numpy(cfg: lm.LatencyConfig, n_sats: int, s_user: np.ndarray, up_user: np.ndarray,
                     lat: np.ndarray, lon: np.ndarray, r_eci_m: np.ndarray, ecef_to_eci: np.ndarray,
                     active: np.ndarray | None, links: tuple | None, stations: tuple | None) -> np.ndarray:
    """The numpy reference for one record: each user's best round trip [s] ``(u,)``.

    Args:
        r_eci_m: ``(n, 3)`` positions; ``ecef_to_eci``: ``(3, 3)`` (or ``(9,)``).
        active: ``(n,)`` booleans, or None (all active).
        links: ``(a, b, up, range_m)`` of the used slots (``up`` boolean), or None.
        stations: ``(lat_deg, lon_deg, alt_m)`` arrays, or None.
    """
    holders = cfg.holders
    sat = lm.eci_to_ecef(r_eci_m, ecef_to_eci)
    on = np.ones(n_sats, dtype=bool) if active is None else np.asarray(active, bool)
    slant, sin_el = lm.look(s_user, up_user, sat)
    sin_el = np.where(on[None, :], sin_el, -1.0)
    if holders is None:
        delay = np.where(on, 0.0, np.inf)
        routes = [lm.direct_rtt_s(slant, sin_el, cfg.min_elevation_deg, cfg.user_terminal_delay_s,
                                  cfg.satellite_switch_delay_s)]
    else:
        is_holder = np.zeros(n_sats, dtype=bool)
        is_holder[holders] = True
        if links is not None:
            a, b, up, rng = links
            ok = np.asarray(up, bool) & on[a] & on[b]
            delay, _sweeps = lm.shortest_delay_s(n_sats, a, b, rng, ok, is_holder & on, cfg.satellite_switch_delay_s)
        else:
            delay = np.where(is_holder & on, 0.0, np.inf)
        routes = [lm.path_rtt_s(slant, sin_el, delay, cfg.min_elevation_deg, cfg.user_terminal_delay_s,
                                cfg.satellite_switch_delay_s)]
    if stations is not None:
        g_lat, g_lon, g_alt = stations
        routes.append(lm.ground_rtt_s(lat, lon, g_lat, g_lon, g_alt, sat, delay, cfg.gateway_min_elevation_deg,
                                      cfg.route_factor, cfg.gateway_delay_s, cfg.satellite_switch_delay_s))
    return lm.best_rtt_s(*routes)


def write_latency(store: Any, cfg: lm.LatencyConfig, rtt: np.ndarray) -> None:
    """The group ``latency/`` (overwriting a previous attempt's: a resume calls this again)."""
    specs = cfg.specs()
    root_time = store["sat"]["time"]
    grp = store.require_group(GROUP)
    dc = f"data center at {cfg.data_center_latitude_deg:g} N, {cfg.data_center_longitude_deg:g} E"
    grp.attrs.update({
        "description": "service latency: each user's best round trip to the compute (docs/latency.md)",
        "plugin": "latency", "compute": cfg.compute, "data_center": dc,
        "min_elevation_deg": cfg.min_elevation_deg, "route_factor": cfg.route_factor,
        "user_terminal_delay_s": cfg.user_terminal_delay_s, "satellite_switch_delay_s": cfg.satellite_switch_delay_s,
        "gateway_delay_s": cfg.gateway_delay_s})
    n_rec, n_user = rtt.shape
    tc = max(1, min(n_rec, 4096))
    common = {"plugin": "latency"}

    def put(name: str, data: Any, dims: tuple[str, ...], attributes: dict[str, Any], **kw: Any) -> None:
        data = np.asarray(data) if not isinstance(data, np.ndarray) else data
        chunks = tuple(tc if d == "time" else max(1, data.shape[i]) for i, d in enumerate(dims))
        grp.create_array(name, data=data, chunks=chunks, dimension_names=dims, attributes={**common, **attributes},
                         overwrite=True, **kw)

    put("time", np.asarray(root_time[...]), ("time",), dict(root_time.attrs))
    names = grp.create_array("user", shape=(n_user,), dtype=str, chunks=(max(1, n_user),), dimension_names=("user",),
                             attributes={"description": "user location (docs/latency.md)", "units": "1"},
                             overwrite=True)
    names[:] = np.array([s.name for s in specs], dtype=object)
    put("latitude_deg", np.array([s.latitude_deg for s in specs]), ("user",),
        {"units": "degrees_north", "standard_name": "latitude", "description": "user latitude (WGS 84)"})
    put("longitude_deg", np.array([s.longitude_deg for s in specs]), ("user",),
        {"units": "degrees_east", "standard_name": "longitude", "description": "user longitude"})
    put("latency.rtt_s", rtt, ("time", "user"),
        {"units": "s", "long_name": "round-trip time", "coordinates": "latitude_deg longitude_deg",
         "description": "best round trip from the user to the compute (direct, over links or through a ground "
                        "station); NaN: no service"}, fill_value=np.nan)
    p = lm.percentiles(rtt, QUANTILES, axis=1) if n_user else np.full((len(QUANTILES), n_rec), np.nan)
    for q, row in zip(QUANTILES, p):
        put(f"latency.rtt_p{q}_s", row, ("time",),
            {"units": "s", "description": f"{q}th percentile of the round trip over the users served (NaN: none)"},
            fill_value=np.nan)
    share = np.mean(np.isfinite(rtt), axis=1) if n_user else np.full(n_rec, np.nan)
    put("latency.service_share", share, ("time",), {"units": "1", "description": "share of users with service"},
        fill_value=np.nan)
    put("latency.user_service_share", lm.service_share(rtt, axis=0), ("user",),
        {"units": "1", "description": "share of the records at which the user has service",
         "coordinates": "latitude_deg longitude_deg"}, fill_value=np.nan)
    put("latency.terrestrial_rtt_s",
        lm.terrestrial_rtt_s([s.latitude_deg for s in specs], [s.longitude_deg for s in specs],
                             cfg.data_center_latitude_deg, cfg.data_center_longitude_deg, cfg.route_factor),
        ("user",), {"units": "s", "description": f"fibre round trip to the terrestrial {dc} (comparison)",
                    "coordinates": "latitude_deg longitude_deg"}, fill_value=np.nan)


__all__ = ["GROUP", "QUANTILES", "latency_of_store", "record_rtt_numpy", "record_times_s", "rotations", "write_latency"]
