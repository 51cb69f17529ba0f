"""Contributions (issue 9, item 1): several plugins add to or limit one quantity that
none of them owns; the engine folds them in a fixed order inside the fused kernel and
records which limit bound, with reason codes plugins register."""

import warnings

import numpy as np
import pytest
import zarr

from twin_core import Combined, Contribution, Metric, Variable
from twin_core.contributions import expand_metrics, resolve
from twin_core.errors import BuildError
from twin_core.runner import parse, run_to_store
from twin_core.testing import plugin_manager, run_scenario

TOY = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
[toy]
count = 6
planes = 3
"""
OFF = ["orbit", "environment", "solar", "battery", "power", "payload", "thermal"]


@pytest.fixture(scope="module")
def pm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plugin_manager(["toy_counter", "toy_owner", "toy_limiter"], disable=OFF)


def test_sums_and_limits_fold_in_the_kernel_with_the_binding_reason(pm):
    """load = 10 + i W, read by the owner in the same step; cap = min(3, rule, i % 3) with
    the owner's rule (2, then 1 after 30 min) first: on a tie the owner's rule is named
    (code 1); the limiter's reason gets the next free code (2)."""
    res = run_scenario(TOY, pm=pm)
    i = np.arange(6)
    np.testing.assert_array_equal(res.sat["toy_owner.seen_w"], np.broadcast_to(10.0 + i, (7, 6)))
    t = res.times_s[:, None]
    rule = np.where(t < 1800.0, 2, 1)
    lim = i % 3
    np.testing.assert_array_equal(res.sat["toy_owner.cap"], np.minimum(rule, lim))
    expected = np.where(lim < rule, 2, 1)  # the limiter binds only when strictly lower
    np.testing.assert_array_equal(res.sat["toy_owner.cap_reason"], expected)
    assert res.layout.plan.variable("toy_owner.cap_reason").flags == {0: "none", 1: "owner rule", 2: "limiter"}


def test_reason_codes_reach_the_store_and_a_shared_label_shares_its_code(pm, tmp_path):
    sc = parse(TOY + "[toy_limiter]\nalso_owner_rule = true\n", pm, "c.toml")
    run_to_store(sc, pm, tmp_path / "c.zarr")
    arr = zarr.open_group(str(tmp_path / "c.zarr"), mode="r")["sat"]["toy_owner.cap_reason"]
    assert list(arr.attrs["flag_values"]) == [0, 1, 2]
    assert arr.attrs["flag_meanings"] == "none owner_rule limiter"


def test_sharded_ranges_fold_the_same(pm):
    whole = run_scenario(TOY, pm=pm)
    part = run_scenario(TOY, pm=pm, sat_range=(2, 4))
    for name in ("toy_owner.cap", "toy_owner.cap_reason", "toy_owner.seen_w"):
        np.testing.assert_array_equal(part.sat[name], whole.sat[name][:, 2:4])


# -- resolution, before anything is allocated ---------------------------------------------

SUM = Combined("a.load_w", "W", "load", "sum")
CAP = Combined("a.cap", "1", "cap", "min", start=3.0, dtype="i8", reason="a.why")
WHY = Variable("a.why", "1", "why", "output", "i8", flags={0: "none", 1: "mine"})
LOSS = Variable("a.loss", "1", "loss", "output", "i8", flags={0: "none", 1: "mine"}, flags_like="a.why")
X_W = Variable("b.x_w", "W", "x", "output", "f32")
X_KW = Variable("b.x_kw", "kW", "x", "output", "f32")
X_CAP = Variable("b.cap", "1", "cap", "output", "i8")
VEC = Variable("b.v_w", "W", "v", "output", shape=(3,))


def test_resolve_orders_parts_assigns_codes_and_shares_tables():
    raw = (("a", SUM), ("a", CAP), ("a", WHY), ("a", LOSS), ("b", X_W), ("b", X_CAP))
    offered = (("b", Contribution("a.load_w", "b.x_w")), ("b", Contribution("a.cap", "b.cap", reason="radiation")),
               ("c", Contribution("a.cap", "b.cap", reason="mine")), ("d", Contribution("z.nobody_w", "b.x_w")))
    variables, combined, dropped = resolve(raw, offered)
    declared = dict((v.name, v) for _p, v in variables)
    assert declared["a.load_w"].role == "output" and declared["a.cap"].dtype == "i8"
    assert declared["a.why"].flags == {0: "none", 1: "mine", 2: "radiation"} == declared["a.loss"].flags
    [load, cap] = combined
    assert [(p, c.variable, code) for p, c, code in cap.parts] == [("b", "b.cap", 2), ("c", "b.cap", 1)]
    assert [p for p, _c, _code in load.parts] == ["b"]
    assert [p for p, _c in dropped] == ["d"]
    metrics = expand_metrics((Metric("a.lost_{flag}", "b.x_w", "sum", "W", "lost to {flag}", where_variable="a.loss",
                                     per_flag=True),), declared)
    assert [(m.name, m.where_equal, m.description) for m in metrics] == [
        ("a.lost_mine", 1.0, "lost to mine"), ("a.lost_radiation", 2.0, "lost to radiation")]


@pytest.mark.parametrize("raw, offered, message", [
    ((("a", SUM),), (("b", Contribution("a.load_w", "b.ghost_w")),),
     "plugin 'b' contributes 'b.ghost_w' to 'a.load_w', but no loaded plugin declares that variable"),
    ((("a", SUM), ("b", X_KW)), (("b", Contribution("a.load_w", "b.x_kw")),),
     "plugin 'b' contributes 'b.x_kw' in 'kW' to 'a.load_w', which is in 'W'"),
    ((("a", SUM), ("b", VEC)), (("b", Contribution("a.load_w", "b.v_w")),),
     "plugin 'b' contributes the vector 'b.v_w' to 'a.load_w'; contribute a scalar"),
    ((("a", SUM), ("b", X_W)), (("b", Contribution("a.load_w", "b.x_w", reason="why")),),
     "plugin 'b' gives the reason 'why' for its contribution to 'a.load_w', which records no reason"),
    ((("a", X_W), ("b", X_W)), (), "variable 'b.x_w' is declared by both plugins 'a' and 'b'"),
    ((("a", X_W),), (("c", Contribution("b.x_w", "b.x_w")),),
     "plugin 'c' contributes to 'b.x_w', which plugin 'a' declares as a plain Variable, not a Combined quantity"),
    ((("a", CAP),), (), "the reason of 'a.cap' is 'a.why', which must be an integer scalar variable"),
])
def test_resolve_refuses_what_does_not_fit_naming_the_plugin(raw, offered, message):
    with pytest.raises(BuildError) as info:
        resolve(raw, offered)
    assert message in str(info.value)


def test_optional_contributions_and_required_quantities():
    raw = (("a", SUM),)
    _v, [load], dropped = resolve(raw, (("b", Contribution("a.load_w", "b.ghost_w", optional=True)),))
    assert load.parts == () and [c.variable for _p, c in dropped] == ["b.ghost_w"]
    from twin_core.contributions import check_required

    need = Combined("a.cap", "1", "cap", "min", start=3.0, required="load the scheduler plugin")
    _v, combined, _d = resolve((("a", need),), ())
    with pytest.raises(BuildError, match="no loaded plugin contributes to 'a.cap' \\(plugin 'a'\\): load the "
                                         "scheduler plugin"):
        check_required(combined)


def test_plugins_lists_contributions_and_those_left_out(tmp_path):
    """`orbitwin plugins --scenario` shows who contributes what, and a contribution whose
    quantity nobody declares (no [thermal] table: the payload's heat has no node)."""
    import subprocess
    import sys

    scenario = tmp_path / "p.toml"
    scenario.write_text("""
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
[[orbit.shell]]
kind = "walker_delta"
total = 8
planes = 2
altitude_km = 550
inclination = 53.0
[solar]
area_m2 = 20
[battery]
capacity_wh = 2000
[payload]
count = 2
""")
    r = subprocess.run([sys.executable, "-m", "twin_core", "plugins", "--scenario", str(scenario)],
                       capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "COLUMNS": "160"})
    assert r.returncode == 0, r.stderr
    assert "+ payload.soc_cap -> payload.requested_state (power-limited)" in r.stdout
    assert "power.bus_demand_w (sum of contributions)" in r.stdout
    assert ("left out: plugin 'payload' contributes payload.heat_w to thermal.heat_in_w, which no loaded plugin "
            "declares") in r.stdout


AMPLE = """
[scenario]
epoch = "2026-06-21T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 300
[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
altitude_km = 550
inclination = 53.0
[solar]
area_m2 = 200
[battery]
capacity_wh = 200000
[payload]
count = 8
accelerator = "H100-SXM"
[thermal]
radiator_area_m2 = 60
"""


def test_an_availability_limit_scales_power_and_compute_and_names_its_reason():
    """Half the accelerators available (tests/plugins/toy_derate.py): the payload asks
    for half the power, delivers half the peak, and the loss is booked to "derated"; with
    nothing limiting availability the value is compiled in and the run is unchanged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = plugin_manager(["toy_derate"])
    full = run_scenario(AMPLE, pm=pm)
    half = run_scenario(AMPLE + "[toy_derate]\nshare = 0.5\n", pm=pm)
    training = full.sat["payload.state"] == 3
    assert training.all()
    np.testing.assert_allclose(half.sat["payload.demand_w"], 0.5 * full.sat["payload.demand_w"], rtol=1e-6)
    np.testing.assert_allclose(half.sat["payload.flops"], 0.5 * full.sat["payload.flops"], rtol=1e-6)
    flags = half.layout.plan.variable("payload.loss_reason").flags
    derated = next(code for code, meaning in flags.items() if meaning == "derated")
    assert derated == 5 and np.all(half.sat["payload.loss_reason"] == derated)
    assert np.all(full.sat["payload.loss_reason"] == 0)
    lost = half.metrics_at_records["constellation.lost_pflops_derated"]
    np.testing.assert_allclose(lost, half.sat["payload.lost_flops"].astype(np.float64).sum(axis=1) * 1e-15,
                               rtol=1e-6)


def test_a_misspelt_target_and_a_float_into_codes_are_refused():
    """A typo in a target (`a.lod_w` beside the declared `a.load_w`) is refused with the
    close name, not silently left out; a float cannot limit integer codes."""
    raw = (("a", SUM), ("a", CAP), ("a", WHY), ("b", X_W))
    with pytest.raises(BuildError, match="plugin 'b' contributes 'b.x_w' to 'a.lod_w', which no loaded plugin "
                                         "declares; did you mean 'a.load_w'"):
        resolve(raw, (("b", Contribution("a.lod_w", "b.x_w")),))
    frac = Variable("b.share", "1", "share", "output", "f32")
    with pytest.raises(BuildError, match="contributes the f32 'b.share' to 'a.cap', which holds integer codes"):
        resolve(raw + (("b", frac),), (("b", Contribution("a.cap", "b.share")),))
