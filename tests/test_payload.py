"""The payload plugin: the numpy references against hand-computed cases, the taichi stages
against the references, the policy's step-downs before the battery floor and the thermal
limit, power = supply, loss reasons, metrics, the run summary and configuration errors.

Runs use the toy constellation (tests/plugins/toy_counter.py) and the toy power bus
(tests/plugins/toy_battery.py), which prescribes the state of charge, the supply cap and,
when asked, the temperature."""

from __future__ import annotations

import numpy as np
import pytest

from orbitwin_plugins import payload
from orbitwin_plugins.payload import PayloadConfig
from orbitwin_plugins.payload_stages import PayloadModel, deliver_numpy, demand_numpy, policy_numpy
from twin_core import BuildError, ScenarioError
from twin_core.scenario import parse_scenario
from twin_core.testing import plugin_manager, run_scenario

HEAD = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = {hours}
step_s = 60
record_every_s = 60
[toy]
count = {n}
"""
# 8 x H100-SXM: 1020 / 6120 / 10200 W per satellite; SOC thresholds 0.2 / 0.35 / 0.5
M = PayloadModel.from_config(PayloadConfig(count=8, min_soc_idle=0.2, min_soc_inference=0.35, min_soc_training=0.5))
F_TRAIN, F_INF = 8 * 989.4e12, 0.4 * 8 * 989.4e12


@pytest.fixture(scope="module")
def pm():
    return plugin_manager(["toy_counter", "toy_battery", "toy_scheduler"],
                          disable=["orbit", "environment", "battery", "power", "solar", "thermal"])


@pytest.fixture(scope="module")
def pm_thermal():
    return plugin_manager(["toy_counter", "toy_battery"], disable=["orbit", "environment", "battery", "power", "solar"])


def _previous(a: np.ndarray) -> np.ndarray:
    """Previous-step values when every step is recorded (at the epoch: the initial value,
    which the toy plugin sets equal to the first record)."""
    return np.concatenate([a[:1], a[:-1]])


# --------------------------------------------------------------------------------------
# numpy references, by hand
# --------------------------------------------------------------------------------------


def test_state_powers_from_the_catalog() -> None:
    # 8 x (700 W x (1 + 0.8214 host overhead)) = the DGX H100's 10.2 kW; idle 10 %, inference 60 %
    np.testing.assert_allclose(M.power_w, [0.0, 1020.0, 6120.0, 10200.0], rtol=1e-12)
    np.testing.assert_allclose(M.flops, [0.0, 0.0, F_INF, F_TRAIN], rtol=1e-12)


@pytest.mark.parametrize("soc,temp,state,reason", [
    (0.9, 300.0, 3, 0), (0.5, 323.15, 3, 0),       # thresholds are inclusive
    (0.45, 300.0, 2, 1), (0.3, 300.0, 1, 1), (0.1, 300.0, 0, 1),   # battery steps down to off
    (0.9, 325.0, 2, 2), (0.9, 330.0, 1, 2), (0.4, 330.0, 1, 2),   # temperature steps down
    (0.3, 330.0, 1, 1),                              # a tie goes to the battery
])
def test_policy_reference(soc: float, temp: float, state: int, reason: int) -> None:
    r, why = policy_numpy(M, [soc], [temp])
    assert (r[0], why[0]) == (state, reason)


def test_inference_workload_is_not_a_loss_of_its_own() -> None:
    """With ``workload = "inference"`` the policy's top state is inference: asked for at
    full battery with reason none; the battery still steps it down to idle."""
    m = PayloadModel.from_config(PayloadConfig(count=8, workload="inference"))
    r, why = policy_numpy(m, [0.9, 0.05], [300.0, 300.0])
    assert r.tolist() == [2, 1] and why.tolist() == [0, 1]
    out = deliver_numpy(m, [6120.0], [2], policy_reason=[0])
    assert out["payload.loss_reason"].tolist() == [0] and out["payload.flops"][0] == pytest.approx(F_INF)


def test_deliver_reference_power_capping_and_reasons() -> None:
    supply = np.array([10200.0, 8160.0, 3570.0, 500.0, 0.0])
    out = deliver_numpy(M, supply, [3, 3, 3, 3, 0], policy_reason=[0, 0, 0, 0, 1])
    np.testing.assert_array_equal(out["payload.power_w"], supply)
    np.testing.assert_array_equal(out["payload.heat_w"], supply)
    np.testing.assert_array_equal(out["payload.state"], [3, 2, 1, 0, 0])
    np.testing.assert_array_equal(out["payload.loss_reason"], [0, 1, 1, 3, 4])
    # halfway between inference and training power, and between idle and inference
    np.testing.assert_allclose(out["payload.flops"], [F_TRAIN, (F_INF + F_TRAIN) / 2, F_INF / 2, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(out["payload.lost_flops"], F_TRAIN - out["payload.flops"], rtol=1e-12)


def test_hardware_thermal_protection_holds_idle() -> None:
    assert demand_numpy(M, [3, 2, 1, 0], [333.15] * 4).tolist() == [1020.0, 1020.0, 1020.0, 0.0]
    out = deliver_numpy(M, [1020.0, 1020.0], [3, 1], [340.0, 340.0])
    assert out["payload.state"].tolist() == [1, 1] and out["payload.loss_reason"].tolist() == [2, 0]


# --------------------------------------------------------------------------------------
# taichi stages
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid(pm):
    """20 satellites spanning every battery, temperature and supply case, constant in time."""
    text = HEAD.format(hours=0.2, n=20) + """
[toy_battery]
soc0 = 1.0
soc_per_sat = -0.05
temperature_k = 337.5
temp_per_sat = -2.5
supply_w = [1e9, 8000.0, 500.0, 1e9, 3000.0]
[payload]
count = 8
min_soc_idle = 0.2
min_soc_inference = 0.35
min_soc_training = 0.5
"""
    return run_scenario(text, pm=pm)


def test_stages_match_the_numpy_reference(grid) -> None:
    s = grid.sat
    req, why = policy_numpy(M, s["battery.soc"], s["thermal.temperature_k"])
    np.testing.assert_array_equal(s["payload.requested_state"], req)
    np.testing.assert_allclose(s["payload.demand_w"], demand_numpy(M, req, s["thermal.temperature_k"]), rtol=1e-7)
    ref = deliver_numpy(M, s["power.payload_supply_w"], req, s["thermal.temperature_k"], why)
    for name in ("payload.state", "payload.loss_reason"):
        np.testing.assert_array_equal(s[name], ref[name], err_msg=name)
    for name in ("payload.power_w", "payload.heat_w", "payload.flops", "payload.lost_flops"):
        np.testing.assert_allclose(s[name], ref[name], rtol=1e-6, atol=1e6, err_msg=name)  # float32
    assert set(np.unique(s["payload.loss_reason"])) == {0, 1, 2, 3, 4}  # the grid covers every reason


def test_power_equals_supply_exactly(grid) -> None:
    s = grid.sat
    np.testing.assert_array_equal(s["payload.power_w"], s["power.payload_supply_w"])
    np.testing.assert_array_equal(s["payload.heat_w"], s["payload.power_w"])
    assert np.all(s["power.payload_supply_w"] <= s["payload.demand_w"])


def test_metrics_add_up(grid) -> None:
    s, m = grid.sat, grid.metrics_at_records
    n = s["payload.flops"].shape[1]
    np.testing.assert_allclose(m["constellation.delivered_pflops"],
                               s["payload.flops"].astype(np.float64).sum(axis=1) * 1e-15, rtol=1e-12)
    reason = s["payload.loss_reason"]
    lost = s["payload.lost_flops"].astype(np.float64)
    for key, code in (("power_limited", 1), ("thermal_limited", 2), ("shed", 3), ("off", 4)):
        np.testing.assert_allclose(m[f"constellation.{key}_fraction"], (reason == code).sum(axis=1) / n)
        np.testing.assert_allclose(m[f"constellation.lost_pflops_{key}"],
                                   np.where(reason == code, lost, 0.0).sum(axis=1) * 1e-15, rtol=1e-12)
    np.testing.assert_allclose(m["constellation.payload_power_w"], s["payload.power_w"].astype(float).sum(axis=1))


def test_policy_steps_down_before_the_battery_floor(pm) -> None:
    """SOC falls from 0.3 to 0 in half an hour, no battery section (floor 0): training,
    then inference below 0.2, idle below 0.1 and off only below 0.02, the default
    thresholds (the previous step's SOC decides)."""
    text = HEAD.format(hours=0.5, n=2) + "[toy_battery]\nsoc0 = 0.3\nsoc_per_h = -0.6\n[payload]\ncount = 8\n"
    s = run_scenario(text, pm=pm).sat
    soc, state, reason = _previous(s["battery.soc"][:, 0]), s["payload.state"][:, 0], s["payload.loss_reason"][:, 0]
    expected = np.where(soc >= 0.2, 3, np.where(soc >= 0.1, 2, np.where(soc >= 0.02, 1, 0)))
    np.testing.assert_array_equal(state, expected)
    assert np.all(np.diff(state) <= 0) and set(state) == {0, 1, 2, 3}
    np.testing.assert_array_equal(reason, np.select([state == 3, state == 0], [0, 4], 1))


def test_policy_steps_down_before_the_thermal_limit(pm) -> None:
    """Temperature ramps 310 -> 340 K in half an hour: inference above 323.15 K (limit - 10 K), idle above
    328.15 K (limit - 5 K), before the 333.15 K limit, each marked thermal-limited."""
    text = HEAD.format(hours=0.5, n=2) + "[toy_battery]\ntemperature_k = 310\ntemp_per_h = 60\n[payload]\ncount = 8\n"
    s = run_scenario(text, pm=pm).sat
    temp, state, reason = _previous(s["thermal.temperature_k"][:, 0]), s["payload.state"][:, 0], \
        s["payload.loss_reason"][:, 0]
    np.testing.assert_array_equal(state, np.where(temp <= 323.15, 3, np.where(temp <= 328.15, 2, 1)))
    np.testing.assert_array_equal(reason, np.where(state == 3, 0, 2))
    assert temp[state == 1].min() < 333.15  # idle is reached before the limit


def test_external_policy_follows_the_scheduler_and_hardware_protection(pm) -> None:
    text = HEAD.format(hours=0.5, n=4) + """
[toy_scheduler]
states = [0, 1, 2, 3]
[toy_battery]
temperature_k = 320
temp_per_h = 40
[payload]
count = 8
policy = "external"
"""
    s = run_scenario(text, pm=pm).sat
    hot = _previous(s["thermal.temperature_k"][:, 0]) >= 333.15
    assert hot.any() and not hot.all()
    np.testing.assert_array_equal(s["payload.state"][~hot], np.tile([0, 1, 2, 3], (int((~hot).sum()), 1)))
    # the scheduler's limit bound satellites 0-2: its own reason (code 5, after the payload's
    # four), satellite 3 runs as asked; the hardware's thermal protection stays the payload's
    np.testing.assert_array_equal(s["payload.loss_reason"][~hot], np.tile([5, 5, 5, 0], (int((~hot).sum()), 1)))
    np.testing.assert_array_equal(s["payload.state"][hot], np.tile([0, 1, 1, 1], (int(hot.sum()), 1)))
    np.testing.assert_array_equal(s["payload.loss_reason"][hot], np.tile([5, 5, 2, 2], (int(hot.sum()), 1)))
    assert "payload.soc_cap" not in s


def test_external_policy_without_a_scheduler_is_a_clear_error(pm) -> None:
    with pytest.raises(BuildError, match="policy = 'external' needs a plugin"):
        run_scenario(HEAD.format(hours=0.2, n=2) + "[payload]\ncount = 8\npolicy = 'external'\n", pm=pm)


def test_self_regulates_below_the_limit_with_the_thermal_plugin(pm_thermal) -> None:
    """A radiator too small for training (equilibrium 345 K) but ample for inference
    (304 K): the node climbs to limit - 10 K and the policy holds it there, never near the
    333.15 K limit. Overshoot bound: one 30 s step of net heating at full load at 323.15 K
    (the policy sees the previous step's temperature), 0.35 K."""
    text = HEAD.format(hours=1, n=2).replace("step_s = 60\nrecord_every_s = 60", "step_s = 30\nrecord_every_s = 30") \
        + "[payload]\ncount = 8\n[thermal]\nradiator_area_m2 = 6.975\nheat_capacity_j_k = 2e5\n" \
        + "initial_temperature_k = 315\n"
    s = run_scenario(text, pm=pm_thermal).sat
    temp = s["thermal.temperature_k"][:, 0]
    k = 0.91 * 5.670374419e-8 * 2 * 6.975
    overshoot = (10200.0 - k * 323.15**4) * 30.0 / 2e5
    assert 323.15 - overshoot < temp.max() <= 323.15 + overshoot
    reasons = s["payload.loss_reason"][:, 0]
    assert (reasons == 2).any() and set(np.unique(reasons)) <= {0, 2}
    assert np.all(s["payload.state"][:, 0][_previous(temp) > 323.15] < 3)


# --------------------------------------------------------------------------------------
# summary, budgets, configuration
# --------------------------------------------------------------------------------------


def _store(values: dict[str, np.ndarray], t_s: np.ndarray):
    import zarr

    root = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    root.attrs["record_every_s"] = 60.0
    con = root.create_group("constellation")
    con.create_array("time", data=np.round(t_s * 1000).astype(np.int64))
    for name, y in values.items():
        con.create_array(name, data=np.asarray(y, dtype=np.float64))
    return root


def test_summary_integrates_with_the_right_point_rule() -> None:
    """2 PFLOP/s for a day is 2 PFLOP/s-days; lost 2 PFLOP/s split 1 / 0.5 / rest (exact)."""
    t = np.arange(1441) * 60.0
    one = np.ones_like(t)
    lost = {"power_limited": one, "thermal_limited": 0.5 * one, "shed": 0 * one, "off": 0 * one}
    root = _store({"constellation.delivered_pflops": 2 * one, "constellation.lost_pflops": 2 * one,
                   **{f"constellation.lost_pflops_{k}": v for k, v in lost.items()}}, t)
    rows = dict(payload.orbitwin_summary(root))
    assert rows["delivered compute"].startswith("2 PFLOP/s-days")
    assert rows["share of installed compute delivered"] == "50.0 %"
    assert rows["lost compute: power-limited"] == "50.0 % of lost"
    assert rows["lost compute: thermal-limited"] == "25.0 % of lost"
    assert rows["lost compute: none (idle by choice, throughput below peak)"] == "25.0 % of lost"
    # an interrupted run: unwritten samples are NaN and left out (half a day written)
    half = np.where(t <= 43200.0, 2.0, np.nan)
    root = _store({"constellation.delivered_pflops": half, "constellation.lost_pflops": half}, t)
    assert dict(payload.orbitwin_summary(root))["delivered compute"].startswith("1 PFLOP/s-days")
    assert payload.orbitwin_summary(_store({}, t)) is None


class _Scenario:
    path = "s.toml"

    def __init__(self, **sections):
        self.sections = sections

    def section(self, name):
        return self.sections.get(name)


class _Battery:
    min_soc = 0.6


def test_soc_thresholds_follow_the_battery_floor() -> None:
    """Defaults sit 0.02 / 0.1 / 0.2 above ``[battery] min_soc``; a threshold the user set
    that the defaults cross is an error naming it."""
    cfg = PayloadConfig(count=8)
    assert payload._model(_Scenario(battery=_Battery()), cfg).min_soc == pytest.approx((0.62, 0.7, 0.8))
    assert payload._model(_Scenario(), cfg).min_soc == pytest.approx((0.02, 0.1, 0.2))
    with pytest.raises(ScenarioError) as err:
        payload._model(_Scenario(battery=_Battery()), PayloadConfig(count=8, min_soc_training=0.65))
    assert err.value.key == "payload.min_soc_training"


def test_budgets() -> None:
    sc = _Scenario(payload=PayloadConfig(count=8))
    (mass,) = payload.orbitwin_mass_budget(sc)
    assert mass.mass_kg == pytest.approx(130.45) and "DGX H100" in mass.source
    chips, host = payload.orbitwin_power_budget(sc)
    assert chips.power_w == -5600.0 and chips.power_w + host.power_w == pytest.approx(-10_200.0)


SECTIONS = {"payload": (PayloadConfig, "payload")}
TOP = '[scenario]\nepoch = "2026-03-20T00:00:00Z"\nduration_h = 1\nstep_s = 60\nrecord_every_s = 600\n'


@pytest.mark.parametrize("body,key", [
    ("count = -1", "payload.count"),
    ("count = 8\naccelerator = 'H100'", "payload.accelerator"),
    ("count = 8\npolicy = 'greedy'", "payload.policy"),
    ("count = 8\ninference_throughput = 1.5", "payload.inference_throughput"),
    ("count = 8\nmin_soc_training = 0.3\nmin_soc_inference = 0.4", "payload.min_soc_training"),
    ("count = 8\ninference_power_fraction = 0.05", "payload.inference_power_fraction"),
    ("count = 8\n[payload.custom_accelerator]\nname = 'X'\ntdp_w = -5.0\nidle_w = 1.0\npeak_bf16_flops = 1e15\n"
     "server_mass_kg = 3.0", "payload.custom_accelerator.tdp_w"),
    ("count = 8\naccelerator = 'B200'\n[payload.custom_accelerator]\nname = 'X'\ntdp_w = 500.0\nidle_w = 50.0\n"
     "peak_bf16_flops = 1e15\nserver_mass_kg = 3.0", "payload.accelerator"),
])
def test_bad_values_name_the_key(body: str, key: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(TOP + "[payload]\n" + body + "\n", "s.toml", SECTIONS)
    assert err.value.key == key, str(err.value)


def test_custom_accelerator_is_used() -> None:
    text = TOP + ("[payload]\ncount = 2\n[payload.custom_accelerator]\nname = 'X'\ntdp_w = 500.0\nidle_w = 50.0\n"
                  "peak_bf16_flops = 1e15\nserver_mass_kg = 3.0\n")
    cfg = parse_scenario(text, "s.toml", SECTIONS).section("payload")
    assert cfg.hardware.name == "X" and PayloadModel.from_config(cfg).power_w == (0.0, 100.0, 600.0, 1000.0)
    assert PayloadModel.from_config(cfg).peak_flops == 2e15 and cfg.server_mass_kg == 6.0


FULL_CHAIN = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 2
step_s = 60
record_every_s = 60
[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
altitude_km = 550
inclination = 53
[solar]
area_m2 = 45
[battery]
capacity_wh = 20000
min_soc = 0.6
[payload]
count = 8
[thermal]
radiator_area_m2 = 12
"""


def test_full_chain_in_orbit() -> None:
    """The built-in chain (orbit, environment, solar, battery, power, payload, thermal):
    the payload draws exactly what the bus supplies, steps down below floor + 0.2 = 0.8,
    turns off only below floor + 0.02, and its heat reaches the thermal node."""
    res = run_scenario(FULL_CHAIN)
    s = res.sat
    np.testing.assert_array_equal(s["payload.power_w"], s["power.payload_supply_w"])
    # at the epoch the policy reads the battery's initial state of charge
    soc, state = _previous(s["battery.soc"]), s["payload.state"]
    assert np.all(s["battery.soc"] >= 0.6 - 1e-12)
    assert np.all(state[soc < 0.8] < 3) and np.all(soc[state == 0] < 0.62)
    assert (state == 3).any() and (state < 3).any()  # it trained, and stepped down in eclipse
    assert np.all(np.abs(s["payload.heat_w"] - s["payload.power_w"]) == 0)
    assert res.metrics["constellation.delivered_pflops"].max() > 0
