"""orbitwin size: the beta = 0 closed form (plugins/steady_sizing.py) against a hand
calculation and the shadow model, the search on toy functions, the sizing scenario, and
one small end-to-end run of the command."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from orbitwin_plugins import sizing, steady_sizing
from orbitwin_plugins.battery import BatteryConfig
from orbitwin_plugins.shadow import illumination_numpy
from orbitwin_plugins.solar import SolarConfig
from orbitwin_plugins.thermal import ThermalConfig
from twin_core.cli import main
from twin_core.errors import UserError
from twin_core.runner import load
from twin_core.testing import plugin_manager

EXAMPLES = Path(__file__).parent.parent / "examples"

# One satellite at beta ~ 0: a 53 deg orbit whose node is at the Sun's right ascension at
# the March equinox (the Sun in the orbit plane), a small payload, four orbits at 60 s.
BETA0 = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 6.4
step_s = 60
record_every_s = 3840
[[orbit.shell]]
kind = "elements"
sets = [{altitude_km = 550, inclination_deg = 53.0, raan_deg = 0.0}]
[solar]
area_m2 = 60.0
[battery]
capacity_wh = 30000
[power]
[payload]
count = 8
accelerator = "H100-SXM"
[thermal]
radiator_area_m2 = 12.0
"""


def test_eclipse_fraction_against_known_value_and_shadow_model():
    # asin(6378.137 / 6778.137) / pi at 400 km: 0.3901 (the ISS's longest eclipse, ~36 of 92.6 min)
    assert steady_sizing.eclipse_fraction(400.0) == pytest.approx(0.39010, abs=1e-5)
    # the cylindrical shadow of orbitwin_plugins.shadow over a circular orbit with the Sun in its plane
    a = 6378137.0 + 550e3
    u = np.linspace(0.0, 2 * np.pi, 200_001)[:-1]
    r = a * np.stack([np.cos(u), np.sin(u), np.zeros_like(u)], axis=-1)
    lit = illumination_numpy(r, np.array([1.0, 0.0, 0.0]), 1.496e11, model="cylindrical")
    assert 1.0 - lit.mean() == pytest.approx(steady_sizing.eclipse_fraction(550.0), abs=1e-4)


def test_beta0_sizing_against_hand_calculation():
    # 500 km: f = 0.377882, T = 5676.98 s (T_e = 2145.2 s, T_d = 3531.7 s); load 1,100 W
    solar = SolarConfig(area_m2=1.0, efficiency_bol=0.3, packing_factor=1.0, assembly_factor=1.0,
                        temperature_coefficient_per_k=0.0)
    battery = BatteryConfig(capacity_wh=1.0, charge_efficiency=0.9, discharge_efficiency=0.9, min_soc=0.5)
    thermal = ThermalConfig(radiator_area_m2=1.0, emissivity=0.9, absorptivity=0.2, earth_view_factor=0.3)
    s = steady_sizing.beta0_sizing(altitude_km=500.0, payload_w=1000.0, bus_w=100.0, solar=solar, battery=battery,
                                   thermal=thermal, soc_run=0.7, temperature_k=320.0, irradiance_min_w_m2=1300.0,
                                   irradiance_max_w_m2=1400.0, degradation=0.9, earth_ir_w_m2=237.0, albedo=0.3)
    assert s.eclipse_fraction == pytest.approx(0.3778815, rel=1e-6)
    assert s.period_s == pytest.approx(5676.978, rel=1e-6)
    # P_c = 1100 x 2145.2 / (0.81 x 3531.7) = 824.88 W; P_sa = 1924.88 W; A = P_sa / (1300 x 0.3 x 0.9)
    assert s.charge_w == pytest.approx(824.879, rel=1e-5)
    assert s.array_area_m2 == pytest.approx(5.48399, rel=1e-5)
    # 1100 W x 2145.2 s / 0.9 = 728.32 Wh stored, over a usable depth of 1 - 0.7 = 0.3: 2,427.7 Wh
    # (above 1C: 1,100 Wh, and C/2: 1,649.8 Wh)
    assert s.battery_capacity_wh == pytest.approx(2427.72, rel=1e-5)
    assert s.battery_binding == "energy"
    # q_net = 0.9 sigma 320^4 - 0.9 x 0.3 x 237 x 0.8599 - 0.2 x 0.3 x 0.3 x 1400 x 0.8599 = 458.43 W/m2;
    # Q = 1100 + 0.1 x 824.88 = 1182.49 W over two faces
    assert s.radiator_net_flux_w_m2 == pytest.approx(458.430, rel=1e-5)
    assert s.radiator_area_m2 == pytest.approx(1.28972, rel=1e-5)
    # a rate limit binds when the usable depth is large
    deep = steady_sizing.beta0_sizing(altitude_km=500.0, payload_w=1000.0, bus_w=100.0, solar=solar,
                                      battery=battery, thermal=thermal, soc_run=0.0, temperature_k=320.0)
    assert deep.battery_binding == "charge rate (C/2)" and deep.battery_capacity_wh == pytest.approx(1649.76, rel=1e-5)


def _toy(root: float, power: float = 1.0):
    calls = []

    def share(x: float) -> float:
        calls.append(x)
        return min(1.0, 0.99 * (x / root) ** power)

    return share, calls


@pytest.mark.parametrize("root,power", [(0.3721, 0.7), (0.3721, 3.0), (1.3, 1.0), (0.9, 1.0)])
def test_refine_converges_to_tolerance(root, power):
    share, calls = _toy(root, power)
    lo, hi = sizing.refine(share, 0.99, 0.25, share(0.25), 2.0, share(2.0), tol=0.01)
    assert lo < root <= hi * (1 + 1e-12) and (hi - lo) / hi <= 0.01
    assert len(calls) <= 14


def test_bracket_down_and_lower_bound():
    share, _ = _toy(0.3)
    lo, s_lo, hi, s_hi = sizing.bracket_down(share, 0.99, 2.0, share(2.0))
    assert (lo, hi) == (0.25, 0.5) and s_lo < 0.99 <= s_hi
    lo, _s, hi, _ = sizing.bracket_down(lambda x: 1.0, 0.99, 1.0, 1.0, lo_min=0.1)
    assert lo is None and hi == 0.125


class _ToyRuns:
    """Stands for `SizingRuns`: the share is the worst of the three sizes' shares."""

    def __init__(self, need, cap=1.0):
        self.need, self.cap, self.n = need, cap, 0

    def share(self, sizes):
        self.n += 1
        return min(self.cap, *(min(1.0, 0.99 * s / n) for s, n in zip(sizes, self.need)))


def test_size_by_simulation_on_toy_and_unreachable_target():
    runs = _ToyRuns((0.6, 1.4, 0.95))
    res = sizing.size_by_simulation(runs, (1.0, 1.0, 1.0), 0.99, tol=0.01)
    for got, need in zip(res.sizes, (0.6, 1.4, 0.95)):
        assert need <= got * (1 + 1e-9) <= need * 1.0102
    assert res.share >= 0.99 and res.common_factor == 1.0
    with pytest.raises(UserError, match="not reached even with every size"):
        sizing.size_by_simulation(_ToyRuns((1, 1, 1), cap=0.95), (1.0, 1.0, 1.0), 0.99)


def test_representative_scenario_of_the_walker_example():
    pm = plugin_manager()
    sc = load(EXAMPLES / "walker_550km.toml", pm)
    raw, notes = sizing.representative_raw(pm, sc, sat=0, days=0.5, step_s=60)
    assert "crosslinks" not in raw and "ground" not in raw
    assert len(raw["orbit"]["shell"][0]["sets"]) == 1
    assert raw["power"]["avionics_w"] == pytest.approx(50.0 + 240.0)  # the four terminals' load, kept
    assert raw["scenario"]["duration_h"] == 12.0 and raw["scenario"]["record_every_s"] == 43200.0
    assert any("left out: [crosslinks], [ground]" in n for n in notes)
    with pytest.raises(UserError, match="whole number of steps"):
        sizing.representative_raw(pm, sc, days=0.5, step_s=7)
    with pytest.raises(UserError, match="--sat 5000"):
        sizing.representative_raw(pm, sc, sat=5000)


def _size(capsys, *args):
    try:
        main(["size", *map(str, args)])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_size_end_to_end_at_beta_zero(tmp_path, capsys):
    """At beta ~ 0 the twin agrees with the closed form: the beta = 0 sizing delivers
    ~100 % and the simulated sizes are within a coarse tolerance of it."""
    path = tmp_path / "beta0.toml"
    path.write_text(BETA0)
    code, out, err = _size(capsys, path, "--deliver", "0.97", "--tolerance", "0.5", "-q")
    assert code == 0, err
    row = lambda label: re.search(re.escape(label) + r".*", out).group(0)  # noqa: E731
    shares = [float(x) for x in re.findall(r"([\d.]+) %", row("delivered share"))]
    assert shares[1] >= 99.0 and shares[2] >= 97.0  # beta = 0 sizing, simulated sizing
    for label in ("array (", "battery (", "radiator ("):
        ratio = float(row(label).split()[-1])
        assert 0.5 <= ratio <= 1.0 + 1e-9, row(label)  # the twin needs no more than beta = 0 here
    assert "mass per satellite" in out and "cost per PFLOP-day" in out
    assert re.search(r"\d+ runs in [\d.]+ s", out)


@pytest.mark.parametrize("args,message", [
    (["walker", "--deliver", "1.5"], "--deliver must be a share of the installed compute in (0, 1]: 1.5"),
    (["walker", "--deliver", "0"], "--deliver must be a share"),
    (["dawn_dusk", "--deliver", "0.99"], "has no [payload] table"),
    (["nothermal", "--deliver", "0.99"], "has no [thermal] table"),
])
def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys, args, message):
    nothermal = tmp_path / "nothermal.toml"
    nothermal.write_text(BETA0.split("[thermal]")[0])
    files = {"walker": EXAMPLES / "walker_550km.toml", "dawn_dusk": EXAMPLES / "dawn_dusk_650km.toml",
             "nothermal": nothermal}
    code, _out, err = _size(capsys, files[args[0]], *args[1:])
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
