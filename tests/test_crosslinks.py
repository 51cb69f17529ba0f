"""Crosslinks on the link axis: the kernel's links against the numpy physics
(`orbitwin_plugins.linkbudget`: closed-form line of sight, the link budget), +grid
degree, the store's link group in xarray, resume and sharding bitwise, bad values."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from orbitwin_plugins import linkbudget
from twin_core.engine import Engine
from twin_core.errors import BuildError, ScenarioError
from twin_core.runner import parse, plugin_manager, run_to_store
from twin_core.testing import MemorySink, run_scenario

ONLY_LINKS = ("solar", "battery", "power", "payload", "thermal", "ground", "formation")

SHELL = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = {hours}
step_s = 30
record_every_s = 600
[[orbit.shell]]
kind = "walker_delta"
total = {total}
planes = {planes}
phasing = 1
altitude_km = 550
inclination = 53.0
[output]
chunk_records = 2
{output}
[crosslinks]
topology = "plus_grid"
"""

FULL = """
[solar]
area_m2 = 55.0
[battery]
capacity_wh = 25000
[power]
[payload]
count = 8
accelerator = "H100-SXM"
[thermal]
radiator_area_m2 = 13.0
"""


def quiet_pm(disable=ONLY_LINKS, plugins=()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager(plugins, disable)


def test_links_match_the_numpy_physics_at_every_record():
    """At each record the coupling pass has just run on that instant's positions: range,
    line of sight (closed form), the range limit and the capacity of every link equal the
    numpy reference computed from the recorded positions."""
    res = run_scenario(SHELL.format(output="", hours=2, total=48, planes=6), pm=quiet_pm())
    term = linkbudget.PRESETS["tesat_scot80"]
    k = res.layout.plan.axis("link").slots
    targets = res.layout.plan.axis("link").targets
    a = np.repeat(np.arange(48), k)
    b = targets.reshape(-1)
    used = b >= 0
    r = res.sat["orbit.r_eci_m"]
    for t in range(res.n_records):
        ra, rb = r[t, a[used]], r[t, b[used]]
        rng = np.linalg.norm(rb - ra, axis=-1)
        los = linkbudget.line_of_sight(ra, rb, linkbudget.GRAZING_RADIUS_M)
        up = los & (rng <= term.max_range_km * 1e3)
        np.testing.assert_allclose(res.sat["link.range_m"][t, used], rng, rtol=1e-6)
        status = res.sat["link.status"][t, used]
        assert np.array_equal((status == 1) | (status == 4), up)  # up, or acquiring (geometry just came)
        up = res.sat["link.up"][t, used] == 1
        assert np.array_equal(up, status == 1)
        cap = np.where(up, linkbudget.capacity_bps(term, rng), 0.0)
        np.testing.assert_allclose(res.sat["link.capacity_bps"][t, used], cap, rtol=1e-6)
        assert np.all(res.sat["link.up"][t, ~used] == 0) and np.all(res.sat["link.status"][t, ~used] == 0)
        blocked = ~los & (rng <= term.max_range_km * 1e3)
        assert np.array_equal(res.sat["link.status"][t, used] == 3, blocked)
        deg = np.bincount(a[used][up], minlength=48) + np.bincount(b[used][up], minlength=48)
        assert np.array_equal(res.sat["link.degree"][t], deg)
    assert (res.sat["link.status"] == 3).any() and (res.sat["link.up"] == 1).any()  # both cases occur


def test_plus_grid_of_a_starlink_like_shell_has_four_links_everywhere():
    """72 x 22 at 550 km: in-plane neighbours 1,972 km apart and cross-plane ones within
    621 km, all in sight: every satellite has degree 4, 3,168 links up, one component."""
    text = SHELL.format(output="", hours=1, total=1584, planes=72).replace("record_every_s = 600", "record_every_s = 1800")
    res = run_scenario(text, pm=quiet_pm())
    assert np.all(res.sat["link.degree"] == 4)
    assert np.all(res.metrics_at_records["link.links_up"] == 3168)
    assert np.all(res.sat["link.terminal_power_w"] == 4 * linkbudget.PRESETS["tesat_scot80"].power_w)


def test_store_link_group_opens_in_xarray_with_endpoints_and_graph_totals(tmp_path):
    import xarray as xr

    out = tmp_path / "run.zarr"
    run_scenario(SHELL.format(output="", hours=1, total=48, planes=6), pm=quiet_pm(), store=out)
    ds = xr.open_zarr(out, group="link")
    assert ds["link.capacity_bps"].dims == ("time", "link")
    assert "link_a" in ds.coords and "link_b" in ds.coords
    touches = ((ds.link_a == 5) | (ds.link_b == 5)).values
    mine = ds["link.capacity_bps"].isel(link=touches)
    assert mine.sizes["link"] == 4  # satellite 5's two own slots and two links ending at it
    assert ds["largest_component_share"].dims == ("time",)
    assert 0 < float(ds["largest_component_share"].min()) <= 1
    info = subprocess.run([sys.executable, "-m", "twin_core", "info", str(out)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert "links up" in info.stdout and "largest linked component" in info.stdout


def test_resume_from_a_mid_run_snapshot_continues_bitwise():
    """The link states (acquisition timers) and the coupled values are in the snapshot:
    an engine restored at record 3 gives records 4.. byte for byte."""
    pm = quiet_pm(disable=("ground", "formation"))
    sc = parse(SHELL.format(output="", hours=2, total=48, planes=6) + FULL, pm, "resume.toml")

    class Keep(MemorySink):
        def record(self, index, sat, common, snapshot=None):
            super().record(index, sat, common, snapshot)
            if index == 3:
                self.kept = snapshot()

    first = Engine(sc, pm)
    try:
        whole = Keep()
        first.run(whole)
    finally:
        first.close()
    second = Engine(sc, pm)
    try:
        second.restore(whole.kept)
        rest = MemorySink()
        second.run(rest, start_record=4)
    finally:
        second.close()
    for name, arr in whole.sat.items():
        assert arr[4:].tobytes() == rest.sat[name][4:].tobytes(), name


def test_a_sharded_run_with_links_equals_an_unsharded_one(tmp_path):
    """Two shards of three planes each: the +grid links of each shard reach the other's
    planes (the halo); every array of every group, the link group and the graph totals
    included, is the same bytes."""
    from twin_core.shards import run_sharded

    from test_resume import arrays

    disable = ("ground", "formation")
    pm = quiet_pm(disable=disable)
    sc = parse(SHELL.format(output="chunk_sats = 8", hours=1, total=48, planes=6) + FULL, pm, "shards.toml")
    run_to_store(sc, pm, tmp_path / "one.zarr")
    run_sharded(sc, pm, tmp_path / "two.zarr", shards=2, workers=2, disable=disable)
    one, two = arrays(tmp_path / "one.zarr"), arrays(tmp_path / "two.zarr")
    assert "link/link.capacity_bps" in one and "link/largest_component_share" in one
    for name in one:
        if name.startswith("checkpoint") or name.startswith("partials"):
            continue
        assert one[name].tobytes() == two[name].tobytes(), name


def test_a_halo_shard_equals_the_same_satellites_of_the_whole_run():
    """In memory: a shard of plane 1 only (its halo: planes 0 and 2) records the same
    bytes for its satellites and link slots as the unsharded run."""
    text = SHELL.format(output="chunk_sats = 8", hours=1, total=48, planes=6) + FULL
    pm = quiet_pm(disable=("ground", "formation"))
    whole = run_scenario(text, pm=pm)
    part = run_scenario(text, pm=pm, sat_range=(8, 16))
    for name, arr in part.sat.items():
        k = 1 if name in {v.name for v in whole.layout.variables} else whole.layout.plan.axis("link").slots
        assert arr.tobytes() == whole.sat[name][:, 8 * k:16 * k].tobytes(), name


def test_a_link_stage_reading_a_coupled_value_is_refused():
    """A link that reads what depends on links (through the bus) would differ in a halo:
    refused with the chain named."""
    pm = quiet_pm(disable=("ground", "formation"), plugins=("toy_tainted_link",))
    sc = parse(SHELL.format(output="", hours=1, total=48, planes=6) + FULL, pm, "taint.toml")
    with pytest.raises(BuildError, match="battery.soc.*coupled"):
        Engine(sc, pm)


@pytest.mark.parametrize("table, key", [
    ('[crosslinks]\ntopology = "mesh"\n', "topology"),
    ('[crosslinks]\nterminal = "laser9000"\n', "terminal"),
    ('[crosslinks]\nmax_range_km = -5\n', "max_range_km"),
    ('[[crosslinks.custom_terminal]]\ntx_power_w = 1\n', "custom_terminal.*array of tables"),
    ('[crosslinks]\nmax_range_km = 20000\n', "max_range_km.*at most the terminal's maximum range, 8000 km"),
    ('[crosslinks.custom_terminal]\ntx_power_w = 1\naperture_m = -0.1\nwavelength_nm = 1550\npointing_loss_db = 1\n'
     'optics_loss_db = 1\nphotons_per_bit = 40\nchannels = 1\nchannel_rate_bps = 1e10\nmax_range_km = 5000\n',
     "aperture_m"),
])
def test_bad_values_name_the_key(table, key):
    text = SHELL.format(output="", hours=1, total=48, planes=6).replace('[crosslinks]\ntopology = "plus_grid"\n', "") + table
    with pytest.raises(ScenarioError, match=key):
        parse(text, quiet_pm(), "bad.toml")


def test_plus_grid_on_a_cluster_shell_is_a_clear_error():
    text = SHELL.format(output="", hours=1, total=48, planes=6)
    text += ('\n[[orbit.shell]]\nkind = "elements"\nsets = [{altitude_km = 700, inclination_deg = 98.2, '
             'raan_deg = 10, mean_anomaly_deg = 0}]\n')
    pm = quiet_pm()
    sc = parse(text, pm, "mixed.toml")
    with pytest.raises(ScenarioError, match="crosslinks.topology.*Walker shells only"):
        Engine(sc, pm)


CLUSTER = """
[scenario]
epoch = "2027-06-21T00:00:00Z"
duration_h = 2
step_s = 10
record_every_s = 600
[[orbit.shell]]
kind = "cluster"
altitude_km = 650
inclination = "sso"
ltan_h = 18.0
grid = [3, 3]
spacing_m = 100
[solar]
area_m2 = 90.0
[battery]
capacity_wh = 40000
[power]
[payload]
count = 32
accelerator = "TPU-v6e"
workload = "training"
[thermal]
radiator_area_m2 = 24.0
[crosslinks]
topology = "range"
terminal = "suncatcher"
max_range_km = 0.25
training_bisection_gbps = {need}
[formation]
warn_separation_m = {warn}
"""


def cluster_run(need, warn=50):
    return run_scenario(CLUSTER.format(need=need, warn=warn), pm=quiet_pm(disable=("ground",)))


def test_cluster_geometry_and_bisection_against_numpy():
    """3 x 3 grid: nearest and farthest member distances and the bisection bandwidth
    recomputed in numpy from the recorded positions and links."""
    from orbitwin_plugins.crosslinks import cluster_cuts, epoch_positions

    res = cluster_run(need=0)
    r = res.sat["orbit.r_eci_m"]
    d = np.linalg.norm(r[:, :, None] - r[:, None, :], axis=-1)
    d[:, np.arange(9), np.arange(9)] = np.nan
    np.testing.assert_allclose(res.sat["formation.nearest_m"], np.nanmin(d, axis=2), rtol=1e-6)
    np.testing.assert_allclose(res.metrics_at_records["formation.extent_m"], np.nanmax(d, axis=(1, 2)), rtol=1e-6)
    assert np.all(res.metrics_at_records["formation.too_close_count"] == 0)
    assert 90 < res.metrics_at_records["formation.min_separation_m"].min() < 110
    plan = res.layout.plan
    side = cluster_cuts(epoch_positions(plan.scenario))
    b = plan.axis("link").targets.reshape(-1)
    a = np.repeat(np.arange(9), plan.axis("link").slots)
    used = b >= 0
    for t in range(res.n_records):
        cap = res.sat["link.capacity_bps"][t].astype(np.float64) * (res.sat["link.up"][t] == 1)
        cross = side[a[used]] ^ side[b[used]]
        cuts = [cap[used][(cross >> q) & 1 == 1].sum() for q in range(3)]
        np.testing.assert_allclose(res.sat["link.bisection_bps"][t], min(cuts), rtol=1e-12)
    assert res.sat["link.bisection_bps"].min() > 0


def test_too_little_bisection_limits_training_to_inference_as_link_limited():
    res = cluster_run(need=1e6)  # 1 Pbit/s: more than any 3 x 3 cluster's links carry
    assert np.all(res.sat["payload.state"] <= 2)
    assert np.all(res.metrics["constellation.lost_pflops_link_limited"] > 0)
    reason = res.layout.plan.variable("payload.loss_reason")
    code = {v: k for k, v in reason.flags.items()}["link-limited"] if reason.flags else None
    assert code is None or np.any(res.sat["payload.loss_reason"] == code)
    free = cluster_run(need=0)  # no requirement: the reason does not exist, nothing is lost to it
    assert "constellation.lost_pflops_link_limited" not in free.metrics
    assert np.any(free.sat["payload.state"] == 3)


def test_members_closer_than_the_warning_distance_are_counted():
    res = cluster_run(need=0, warn=150)  # radial neighbours 100-200 m apart: some always closer than 150 m
    assert res.metrics_at_records["formation.too_close_count"].min() > 0


@pytest.mark.parametrize("table, match", [
    ("[crosslinks]\nterminals = 1\n", "crosslinks.terminals.*at least 4"),
    ("[crosslinks]\ntraining_bisection_gbps = 100\n", "crosslinks.training_bisection_gbps.*clusters only"),
    ('[crosslinks]\nterminal = "suncatcher"\n[crosslinks.custom_terminal]\ntx_power_w = 1\naperture_m = 0.1\n'
     'wavelength_nm = 1550\npointing_loss_db = 1\noptics_loss_db = 1\nphotons_per_bit = 40\nchannels = 1\n'
     'channel_rate_bps = 1e10\nmax_range_km = 5000\n', "crosslinks.terminal.*both a preset"),
    ('[crosslinks]\ntopology = "nearest"\nk = 60\n', "crosslinks.k.*at most 47"),
])
def test_settings_that_cannot_hold_are_refused_before_the_run(table, match):
    from twin_core.plan import make_plan

    text = SHELL.format(output="", hours=1, total=48, planes=6).replace('[crosslinks]\ntopology = "plus_grid"\n', "")
    pm = quiet_pm()
    with pytest.raises(ScenarioError, match=match):
        make_plan(parse(text + table, pm, "bad.toml"), pm)


def test_a_link_that_goes_non_finite_is_named_by_its_slot():
    pm = quiet_pm(disable=("ground", "formation", "solar", "battery", "power", "payload", "thermal"),
                  plugins=("toy_nan_link",))
    with pytest.raises(Exception, match="toylink.bad_m.*link slot 7"):
        run_scenario(SHELL.format(output="", hours=1, total=48, planes=6), pm=pm)
