"""Crosslinks plugin: optical inter-satellite links on a ``link`` axis, per link and per
coupling pass, with the terminals' power on the bus and a cluster's bisection bandwidth.

Scenario table ``[crosslinks]`` (`CrosslinksConfig`; the plugin is inactive without it)::

    [crosslinks]
    topology = "plus_grid"       # Walker shells: 2 in-plane + 2 cross-plane neighbours
                                 # "range": every pair within max_range_km inside a shell
                                 #          (a formation-flying cluster)
                                 # "nearest": each satellite's k nearest at the epoch
    k = 4                        # with "nearest"
    terminal = "tesat_scot80"    # a preset (orbitwin_plugins.linkbudget.PRESETS), or
    [crosslinks.custom_terminal] # a terminal of your own (OpticalTerminal's keys)
    max_range_km = 5000          # default: the terminal's
    grazing_altitude_km = 80     # lowest height of a line of sight (default: linkbudget's)
    terminals = 4                # terminals per satellite (default: the topology's most
                                 # links on one satellite)
    training_bisection_gbps = 0  # > 0: a cluster trains only while its bisection
                                 # bandwidth is at least this (else it infers)

Topologies (`orbitwin_plugins.topology`) are built once, at the epoch, from the scenario
(the +grid from the Walker pattern, "range" and "nearest" from the positions at the
epoch), never from all pairs of a large constellation per step; a link that the
geometry breaks later is down, not replaced. Links are slots (`twin_core.Axis`):
satellite ``i`` owns links ``i * slots .. i * slots + slots - 1``.

Per link, every coupling pass (``coupling_every_s``, 60 s or less; `twin_core.axes`):

- range ``R = |r_b - r_a|``;
- line of sight: the segment between the satellites stays above the sphere of radius
  ``R_E + grazing_altitude`` (`linkbudget.line_of_sight`, closed form);
- ``R <= max_range``;
- acquisition: a link whose geometry has held for ``acquisition_s`` (the terminal's
  pointing, acquisition and tracking time) is up; the geometry's time is counted in
  coupling passes, so a link comes up within one pass of ``acquisition_s``. At the epoch,
  links whose geometry holds are taken as acquired;
- capacity ``C(R) = min(channels x channel_rate, k / R^2)`` while up, 0 otherwise
  (`linkbudget.capacity_coefficients`: the diffraction-limited optical budget with the
  receiver's photons per bit).

Per satellite (coupling stage over its links, in link order, so sums are deterministic):
links up (``link.degree``), their total and smallest capacity, and the terminals' power
``P = degree x power_w + (terminals - degree) x standby_power_w``, contributed to the
bus's demand (``power.bus_demand_w``), so it ends as heat in the thermal node like every
bus load. For satellites of a formation-flying cluster (an ``[[orbit.shell]]`` of
``kind = "cluster"``, up to `orbitwin_plugins.formation.MAX_MEMBERS`, with any topology):
the cluster's bisection bandwidth, the
capacity of the links up across a cut through the cluster's centre, the smallest over
three cuts (perpendicular to the cluster's principal axes at the epoch): an upper bound
on the true bisection (the minimum over every balanced cut). With
``training_bisection_gbps``, it limits ``payload.requested_state`` (a contribution,
reason "link-limited") to inference while it is short.

Lags (documented for readers of the store): the step at a pass sees the pass's link
values; the steps between passes read the last pass's, at most ``coupling_every_s``
old: the bus's terminal power and the training limit lag the geometry by up to that.

Constellation totals: links up, total capacity, the smallest link capacity, the smallest
bisection, satellites without a link; at the end of the run (``orbitwin_finish_store``),
per record, the link graph's connected components and the share of satellites in the
largest (``link/components``, ``link/largest_component_share``).

Assumptions and limits: links are point to point with no routing, queueing or traffic
model (capacity is what the terminals offer, not what flows); no slew-rate limit
(terminals track continuously; the +grid's cross-plane links turn fastest near the
polar turning points); pointing loss is a constant of the terminal, not a function of
jitter; no solar-conjunction outage (the Sun within a terminal's field of view); all
satellites carry the same terminals.

Validated in ``tests/test_crosslinks.py``: line of sight against the closed-form grazing
condition, capacity monotone and zero beyond range, +grid degree 4 in a Walker delta
shell, a sharded run equal to an unsharded one, the store's link axis in xarray.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from orbitwin_plugins import linkbudget, topology
from orbitwin_plugins.constants import R_EARTH_M
from orbitwin_plugins.formation import cluster_groups, member_rows
from orbitwin_plugins.linkbudget import OpticalTerminal
from twin_core import Axis, Contribution, MassItem, Metric, PowerItem, ScenarioError, Stage, Variable, hookimpl
from twin_core.validators import SpecValueError, int_range, non_negative, one_of, positive

TOPOLOGIES = ("plus_grid", "range", "nearest")
STATUS = {0: "unused", 1: "up", 2: "out of range", 3: "earth blocked", 4: "acquiring", 5: "end inactive"}
UNUSED, UP, OUT_OF_RANGE, EARTH_BLOCKED, ACQUIRING, END_INACTIVE = 0, 1, 2, 3, 4, 5
LINK_LIMITED = "link-limited"
#: The terminal when the scenario names none: a commercial LEO terminal with published
#: rate and range (`linkbudget.PRESETS`, sources there).
DEFAULT_TERMINAL = "tesat_scot80"
_opt = attrs.validators.optional


@attrs.frozen
class CrosslinksConfig:
    """Table ``[crosslinks]``: optical links between satellites (docs/links.md). Its
    presence turns links on; every key has a default.

    Attributes:
        topology: ``plus_grid`` (Walker shells: in-plane and adjacent-plane neighbours),
            ``range`` (every pair within ``max_range_km`` inside a shell at the epoch) or
            ``nearest`` (each satellite's ``k`` nearest at the epoch).
        k: neighbours per satellite with ``nearest``.
        terminal: a preset terminal, with its sources in `orbitwin_plugins.linkbudget`:
            ``tesat_scot80`` (a commercial LEO terminal: 10 Gbit/s up to 8,000 km) or
            ``suncatcher`` (Suncatcher's bench demonstration: 800 Gbit/s over a few km).
        custom_terminal: a table ``[crosslinks.custom_terminal]`` (one table, not an
            array) giving every key of `linkbudget.OpticalTerminal`; used instead of
            ``terminal``, which must then be left out.
        max_range_km: longest link [km], at most the terminal's ``max_range_km`` (the
            default).
        grazing_altitude_km: lowest height above the equatorial radius a line of sight
            may pass [km].
        terminals: optical terminals per satellite (for standby power); default the
            most links any satellite has in the topology.
        training_bisection_gbps: bisection bandwidth a cluster's training needs [Gbit/s];
            0 for no limit.
    """

    topology: str = attrs.field(default="plus_grid", validator=one_of(TOPOLOGIES))
    k: int = attrs.field(default=4, validator=int_range(1, 64))
    terminal: str = attrs.field(default=DEFAULT_TERMINAL, validator=one_of(tuple(linkbudget.PRESETS)))
    custom_terminal: OpticalTerminal | None = None
    max_range_km: float | None = attrs.field(default=None, validator=_opt(positive))
    grazing_altitude_km: float = attrs.field(default=linkbudget.GRAZING_ALTITUDE_KM, validator=non_negative)
    terminals: int | None = attrs.field(default=None, validator=_opt(int_range(1, 1024)))
    training_bisection_gbps: float = attrs.field(default=0.0, validator=non_negative)

    def __attrs_post_init__(self) -> None:
        limit = self.optical.max_range_km
        if self.max_range_km is not None and self.max_range_km > limit:
            raise SpecValueError("max_range_km", self.max_range_km, f"at most the terminal's maximum range, "
                                 f"{limit:g} km (the key can only shorten it)")

    @property
    def optical(self) -> OpticalTerminal:
        """The terminal every satellite carries."""
        return self.custom_terminal if self.custom_terminal is not None else linkbudget.PRESETS[self.terminal]

    @property
    def max_range_m(self) -> float:
        term_m = self.optical.max_range_km * 1e3
        return term_m if self.max_range_km is None else min(self.max_range_km * 1e3, term_m)


def _config(scenario: Any) -> CrosslinksConfig | None:
    """The ``[crosslinks]`` table, or None when the scenario has none (every key has a
    default, so the table's presence is what turns links on)."""
    if scenario is None or not scenario.has_table("crosslinks"):
        return None
    if scenario.section("orbit") is None:
        raise ScenarioError(scenario.path, "crosslinks", "links need a constellation of [[orbit.shell]] tables",
                            hint="add [[orbit.shell]] tables, or remove [crosslinks]")
    cfg = scenario.section("crosslinks")
    raw = scenario.raw.get("crosslinks", {})
    if isinstance(raw, dict) and "terminal" in raw and "custom_terminal" in raw:
        raise ScenarioError(scenario.path, "crosslinks.terminal", "both a preset and [crosslinks.custom_terminal] "
                            "are given", raw["terminal"], "one of them")
    if cfg.training_bisection_gbps > 0 and not cluster_groups(scenario):
        raise ScenarioError(scenario.path, "crosslinks.training_bisection_gbps", "a bisection bandwidth is "
                            "computed for formation-flying clusters only, and the constellation has none",
                            cfg.training_bisection_gbps, "0, or an [[orbit.shell]] of kind = 'cluster'")
    return cfg


# -- the link list -------------------------------------------------------------------------

_TARGETS_CACHE: dict[int, tuple[Any, np.ndarray]] = {}


def epoch_positions(scenario: Any) -> np.ndarray:
    """Every satellite's position at the epoch [m] (the orbit plugin's propagator)."""
    from orbitwin_plugins import orbit

    el, _shell = orbit.scenario_elements(scenario)
    r, _v = orbit.propagate_numpy(orbit.mean_parameters(el), 0.0)
    return np.asarray(r).reshape(-1, 3)


def link_targets(scenario: Any) -> np.ndarray:
    """The topology's slots (`orbitwin_plugins.topology`), built once per scenario; a
    topology that cannot be built is a `ScenarioError` naming the key."""
    hit = _TARGETS_CACHE.get(id(scenario))
    if hit is not None and hit[0] is scenario:
        return hit[1]
    try:
        slots = _build_targets(scenario)
    except SpecValueError as exc:
        raise ScenarioError(scenario.path, f"crosslinks.{exc.key}", "cannot build the links", exc.value,
                            exc.expected) from None
    if slots.shape[1] == 0:
        slots = np.full((slots.shape[0], 1), -1, dtype=np.int64)
    _TARGETS_CACHE.clear()
    _TARGETS_CACHE[id(scenario)] = (scenario, slots)
    return slots


def _build_targets(scenario: Any) -> np.ndarray:
    cfg = _config(scenario)
    shells = scenario.section("orbit").shell
    if cfg.topology == "plus_grid":
        parts, first = [], 0
        for j, sh in enumerate(shells):
            if sh.kind not in ("walker_delta", "walker_star"):
                raise ScenarioError(scenario.path, "crosslinks.topology", "the +grid links Walker shells only",
                                    cfg.topology, f"'range' or 'nearest' for orbit.shell[{j}], which is "
                                    f"kind = '{sh.kind}'")
            star, inc = sh.kind == "walker_star", float(np.rad2deg(sh.orbit_shapes()[2][0]))
            shift = topology.nearest_cross_shift(sh.total, sh.planes, sh.phasing or 0, inc, star)
            parts.append(topology.plus_grid(first, sh.total, sh.planes, sh.phasing or 0, star, shift))
            first += sh.total
        width = max(p.shape[1] for p in parts)
        slots = np.full((first, width), -1, dtype=np.int64)
        row = 0
        for p in parts:
            slots[row:row + p.shape[0], :p.shape[1]] = p
            row += p.shape[0]
    else:
        from orbitwin_plugins import orbit

        r = epoch_positions(scenario)
        if cfg.topology == "range":
            _el, shell = orbit.scenario_elements(scenario)
            slots = topology.within_range(r, shell, cfg.max_range_m)
        else:
            if cfg.k >= r.shape[0]:
                raise ScenarioError(scenario.path, "crosslinks.k", "more neighbours than other satellites", cfg.k,
                                    f"at most {r.shape[0] - 1}")
            slots = topology.k_nearest(r, cfg.k)
    return slots


def cluster_cuts(positions_m: np.ndarray) -> np.ndarray:
    """Side bits (u8, bit c for cut c) of the three cuts through a cluster's centre,
    perpendicular to its principal axes (singular vectors of the centred positions),
    each splitting the members at the median (ties by index, so halves differ by at
    most one)."""
    x = positions_m - positions_m.mean(axis=0)
    _u, _s, vt = np.linalg.svd(x, full_matrices=False)
    side = np.zeros(len(x), dtype=np.uint8)
    for c in range(min(3, vt.shape[0])):
        proj = x @ vt[c]
        order = np.argsort(proj, kind="stable")
        upper = np.zeros(len(x), dtype=bool)
        upper[order[len(x) // 2:]] = True
        side |= (upper.astype(np.uint8) << c)
    return side


# -- hooks -----------------------------------------------------------------------------------


@hookimpl
def orbitwin_config_sections() -> dict[str, type]:
    return {"crosslinks": CrosslinksConfig}


@hookimpl
def orbitwin_axes(scenario: Any) -> list[Axis] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    _terminals(cfg, scenario)  # refused here, before anything is allocated, if too few
    return [Axis("link", "optical crosslink slot: satellite link_a's link to satellite link_b", link_targets(scenario))]


def _terminals(cfg: CrosslinksConfig, scenario: Any) -> int:
    """Terminals per satellite: ``terminals``, which must cover the most links any
    satellite has (a terminal holds one link), or that number."""
    slots = link_targets(scenario)
    most = int(topology.degree(slots, slots.shape[0]).max()) if slots.size else 0
    if cfg.terminals is None:
        return max(1, most)
    if cfg.terminals < most:
        raise ScenarioError(scenario.path, "crosslinks.terminals", "fewer terminals than links on one satellite",
                            cfg.terminals, f"at least {most}, the most links a satellite has in this topology "
                            "(a terminal holds one link)")
    return cfg.terminals


LINK_VARIABLES = [
    ("link.range_m", "m", "distance between the link's ends", "f32"),
    ("link.capacity_bps", "bit s-1", "capacity the terminals offer while the link is up, 0 otherwise", "f32"),
    ("link.up", "1", "1 while the link is up", "u8"),
]

SAT_VARIABLES = [
    ("link.degree", "1", "links up at this satellite", "i32"),
    ("link.capacity_total_bps", "bit s-1", "sum of the capacities of this satellite's links up", "f64"),
    ("link.capacity_min_bps", "bit s-1", "smallest capacity among this satellite's links up (0 with none)", "f64"),
    ("link.terminal_power_w", "W", "electrical power of the optical terminals (linked and standby)", "f64"),
]


@hookimpl
def orbitwin_variables(scenario: Any) -> list[Variable] | None:
    cfg = _config(scenario)
    if scenario is not None and cfg is None:
        return None
    out = [Variable(n, u, d, "output", dt, axis="link") for n, u, d, dt in LINK_VARIABLES]
    out += [Variable("link.status", "1", "state of the link", "output", "i8", flags=dict(STATUS), axis="link"),
            Variable("link.visible_s", "s", "time the link's geometry has held (acquisition)", "state", axis="link",
                     record=False)]
    out += [Variable(n, u, d, "output", dt) for n, u, d, dt in SAT_VARIABLES]
    out += [Variable("link.bisection_bps", "bit s-1", "bisection bandwidth of this satellite's cluster (0 outside "
                     "a formation-flying cluster)", "output"),
            Variable("link.cut_share_bps", "bit s-1", "capacity of this satellite's own links up across each of its "
                     "cluster's three cuts", "output", "f64", (3,), record=False),
            Variable("link.payload_cap", "1", "highest payload state the cluster's bisection bandwidth allows",
                     "output", "i8", record=False),
            Variable("link.cluster_lo", "1", "local row of the first member of this satellite's cluster", "parameter",
                     "i32", record=False),
            Variable("link.cluster_hi", "1", "local row after the last member of this satellite's cluster",
                     "parameter", "i32", record=False),
            Variable("link.cut_side", "1", "side of each of the cluster's three cuts (bit c: cut c)", "parameter", "u8",
                     record=False)]
    return out


@hookimpl
def orbitwin_contributions(scenario: Any) -> list[Contribution] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    out = [Contribution("power.bus_demand_w", "link.terminal_power_w")]
    if cfg.training_bisection_gbps > 0:
        out.append(Contribution("payload.requested_state", "link.payload_cap", reason=LINK_LIMITED))
    return out


@hookimpl
def orbitwin_metrics(scenario: Any) -> list[Metric] | None:
    cfg = _config(scenario)
    if scenario is not None and cfg is None:
        return None
    out = [Metric("link.links_up", "link.degree", "sum", "1", "links up in the constellation", scale=0.5),
           Metric("link.capacity_total_bps", "link.capacity_total_bps", "sum", "bit s-1",
                  "total capacity of the links up", scale=0.5),
           Metric("link.capacity_min_bps", "link.capacity_min_bps", "min", "bit s-1",
                  "smallest capacity of a link up (0 when some satellite has no link up)"),
           Metric("link.isolated_fraction", "link.degree", "fraction_below", "1",
                  "share of satellites with no link up", threshold=0.5)]
    if cfg is None or cluster_groups(scenario):
        out.append(Metric("link.bisection_min_bps", "link.bisection_bps", "min", "bit s-1",
                          "smallest bisection bandwidth of a cluster"))
    return out


@hookimpl
def orbitwin_initial_state(scenario: Any, state: Any) -> None:
    cfg = _config(scenario)
    if cfg is None:
        return
    state.set("link.visible_s", cfg.optical.acquisition_s)  # acquired at the epoch where the geometry holds
    lo, hi, held = member_rows(scenario, state, "computing a cluster's bisection bandwidth")
    side = np.zeros(state.n_total, dtype=np.uint8)
    if held:
        r = epoch_positions(scenario)
        for members in held:
            side[members] = cluster_cuts(r[members])
    state.set("link.cluster_lo", lo)
    state.set("link.cluster_hi", hi)
    state.set("link.cut_side", side)


@hookimpl
def orbitwin_stages(scenario: Any, state: Any) -> list[Stage] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    import taichi as ti

    term = cfg.optical
    k_bps_m2, cap_bps, _term_range = linkbudget.capacity_coefficients(term)
    max_range, acq = float(cfg.max_range_m), float(term.acquisition_s)
    rg2 = float((R_EARTH_M + cfg.grazing_altitude_km * 1e3) ** 2)
    p_on, p_standby = float(term.power_w), float(term.standby_power_w)
    n_term = int(_terminals(cfg, scenario))
    need_bps = float(cfg.training_bisection_gbps) * 1e9
    r = state.field("orbit.r_eci_m")
    a, b = state.endpoints("link")
    off, inc = state.incidence("link")
    rng_f, cap_f, up_f = state.field("link.range_m"), state.field("link.capacity_bps"), state.field("link.up")
    status_f, vis_f = state.field("link.status"), state.field("link.visible_s")
    deg_f, tot_f = state.field("link.degree"), state.field("link.capacity_total_bps")
    min_f, pw_f = state.field("link.capacity_min_bps"), state.field("link.terminal_power_w")
    bis_f, cap_state_f = state.field("link.bisection_bps"), state.field("link.payload_cap")
    part_f = state.field("link.cut_share_bps")
    lo_f, hi_f, side_f = state.field("link.cluster_lo"), state.field("link.cluster_hi"), state.field("link.cut_side")
    gated = state.has("sat.active")  # satellites not yet deployed (twin_core.activity) hold no link
    active_f = state.field("sat.active") if gated else r

    @ti.func
    def link_geometry(l, k, t, dt):
        j = b[l]
        status = UNUSED
        rng, cap, vis = 0.0, 0.0, 0.0
        if j >= 0:
            ra = r[a[l]]
            d = r[j] - ra
            dd = d.dot(d)
            rng = ti.sqrt(dd)
            s = 0.0
            if dd > 0.0:
                s = ti.min(1.0, ti.max(0.0, -ra.dot(d) / dd))
            p = ra + s * d
            ends_active = True
            if ti.static(gated):
                ends_active = active_f[a[l]] != 0 and active_f[j] != 0
            if not ends_active:
                status = END_INACTIVE
            elif rng > max_range:
                status = OUT_OF_RANGE
            elif p.dot(p) < rg2:
                status = EARTH_BLOCKED
            else:
                vis = vis_f[l] + dt
                if vis >= acq:
                    status = UP
                    cap = ti.min(cap_bps, k_bps_m2 / ti.max(dd, 1.0))
                else:
                    status = ACQUIRING
        vis_f[l] = vis
        rng_f[l] = ti.cast(rng, ti.f32)
        cap_f[l] = ti.cast(cap, ti.f32)
        up_f[l] = ti.cast(1 if status == UP else 0, ti.u8)
        status_f[l] = ti.cast(status, ti.i8)

    @ti.func
    def link_per_satellite(i, k, t, dt):
        deg, tot, low = 0, 0.0, 0.0
        for p in range(off[i], off[i + 1]):
            l = inc[p]
            if up_f[l] == 1:
                c = ti.cast(cap_f[l], ti.f64)
                low = c if deg == 0 else ti.min(low, c)
                tot += c
                deg += 1
        deg_f[i] = deg
        tot_f[i] = tot
        min_f[i] = low
        pw_f[i] = deg * p_on + ti.max(n_term - deg, 0) * p_standby
        # this satellite's share of its cluster's cuts: its own links up that cross them
        part = ti.Vector([0.0, 0.0, 0.0])
        if lo_f[i] >= 0:
            for p in range(off[i], off[i + 1]):
                l = inc[p]
                if a[l] == i and up_f[l] == 1:
                    x = side_f[i] ^ side_f[b[l]]
                    c = ti.cast(cap_f[l], ti.f64)
                    for q in ti.static(range(3)):
                        if (x >> q) & 1:
                            part[q] += c
        part_f[i] = part

    @ti.func
    def bisection(i, k, t, dt):
        # every member sums its cluster's shares in member order: the same value, deterministic
        bis = 0.0
        if lo_f[i] >= 0:
            cut = ti.Vector([0.0, 0.0, 0.0])
            for m in range(lo_f[i], hi_f[i]):
                cut += part_f[m]
            bis = ti.min(cut[0], ti.min(cut[1], cut[2]))
        bis_f[i] = bis
        cap_state_f[i] = ti.cast(3 if (need_bps <= 0.0 or bis >= need_bps) else 2, ti.i8)

    link_vars = tuple(n for n, *_ in LINK_VARIABLES) + ("link.status", "link.visible_s")
    sat_vars = tuple(n for n, *_ in SAT_VARIABLES) + ("link.cut_share_bps",)
    return [Stage("crosslinks.geometry", link_geometry, writes=link_vars,
                  reads=("orbit.r_eci_m",) + (("sat.active",) if gated else ()), over="link"),
            Stage("crosslinks.per_satellite", link_per_satellite, writes=sat_vars,
                  reads=("link.up", "link.capacity_bps"), phase="coupling"),
            Stage("crosslinks.bisection", bisection, writes=("link.bisection_bps", "link.payload_cap"),
                  reads=("link.cut_share_bps",), phase="coupling")]


def _terminal_source(cfg: CrosslinksConfig) -> str:
    if cfg.custom_terminal is not None:
        return "[crosslinks.custom_terminal]"
    return f"orbitwin_plugins.linkbudget.PRESETS['{cfg.terminal}'] (sources and assumptions there)"


@hookimpl
def orbitwin_mass_budget(scenario: Any) -> list[MassItem] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    n = _terminals(cfg, scenario)
    return [MassItem(f"optical terminals: {n} x {cfg.optical.mass_kg:g} kg", n * cfg.optical.mass_kg,
                     _terminal_source(cfg))]


@hookimpl
def orbitwin_power_budget(scenario: Any) -> list[PowerItem] | None:
    cfg = _config(scenario)
    if cfg is None:
        return None
    n = _terminals(cfg, scenario)
    return [PowerItem(f"optical terminals, all {n} linked", -n * cfg.optical.power_w, _terminal_source(cfg))]


@hookimpl
def orbitwin_finish_store(scenario: Any, store: Any) -> None:
    """Connected components of the link graph at every record (`graph_totals`)."""
    if _config(scenario) is None or "link" not in store or "link.up" not in store["link"]:
        return
    grp = store["link"]
    comps, share = graph_totals(grp, int(store.attrs["n_sats"]))
    for name, data, units, desc in (
            ("components", comps, "1", "connected components of the graph of links up (isolated satellites count)"),
            ("largest_component_share", share, "1", "share of satellites in the largest connected component")):
        grp.create_array(name, data=data, chunks=(max(1, min(len(data), 4096)),), dimension_names=("time",),
                         attributes={"units": units, "description": desc}, overwrite=True)


def graph_totals(grp: Any, n_sats: int) -> tuple[np.ndarray, np.ndarray]:
    """Per record: connected components of the links up and the largest's share of the
    satellites (scipy.sparse.csgraph), reading the store one time chunk at a time."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a = np.asarray(grp["link_a"][...])
    b = np.asarray(grp["link_b"][...])
    up_arr = grp["link.up"]
    n_rec = up_arr.shape[0]
    comps = np.zeros(n_rec, dtype=np.int32)
    share = np.zeros(n_rec, dtype=np.float64)
    step = up_arr.chunks[0]
    for t0 in range(0, n_rec, step):
        block = np.asarray(up_arr[t0:t0 + step])
        for j, row in enumerate(block):
            on = row == 1
            g = coo_matrix((np.ones(int(on.sum()), dtype=np.int8), (a[on], b[on])), shape=(n_sats, n_sats))
            n_c, labels = connected_components(g, directed=False)
            comps[t0 + j] = n_c
            share[t0 + j] = np.bincount(labels).max() / n_sats
    return comps, share


@hookimpl
def orbitwin_summary(store: Any) -> list[tuple[str, str]] | None:
    if "link" not in store or "constellation" not in store:
        return None
    rows: list[tuple[str, str]] = []
    con = store["constellation"]
    if "link.links_up" in con:
        up = np.asarray(con["link.links_up"][...])
        rows.append(("links up", f"{np.nanmean(up):,.0f} mean, {np.nanmin(up):,.0f} min"))
        if "link.capacity_total_bps" in con:
            tot = np.asarray(con["link.capacity_total_bps"][...])
            with np.errstate(invalid="ignore", divide="ignore"):
                per = np.where(up > 0, tot / np.maximum(up, 1), np.nan)
            if np.isfinite(per).any():
                rows.append(("mean link capacity", f"{np.nanmean(per) / 1e9:,.2f} Gbit/s"))
            else:
                rows.append(("mean link capacity", "no link was ever up"))
        if "link.capacity_min_bps" in con:
            rows.append(("smallest link capacity", f"{np.nanmin(con['link.capacity_min_bps'][...]) / 1e9:,.2f} Gbit/s"))
    if "link.bisection_min_bps" in con:
        bis = np.asarray(con["link.bisection_min_bps"][...])
        rows.append(("cluster bisection bandwidth", f"{np.nanmin(bis) / 1e9:,.1f} Gbit/s min, "
                     f"{np.nanmean(bis) / 1e9:,.1f} mean"))
    grp = store["link"]
    if "largest_component_share" in grp:
        share = np.asarray(grp["largest_component_share"][...])
        comps = np.asarray(grp["components"][...])
        most = int(comps.max())
        rows.append(("largest linked component", f"{100 * share.min():.1f} % of satellites at worst, "
                     f"{100 * share.mean():.1f} % on average ({most} component{'s' if most != 1 else ''} at most)"))
    return rows
