"""Constellation builders and the [orbit] table: Walker geometry, sun-synchronous design,
and every bad value reported as one ScenarioError naming its key."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitwin_plugins import constellations as cons
from orbitwin_plugins.constants import R_EARTH_M
from orbitwin_plugins.orbit import OrbitConfig
from twin_core.errors import ScenarioError
from twin_core.scenario import parse_scenario
from twin_core.validators import SpecValueError

UTC = dt.timezone.utc
EPOCH = dt.datetime(2026, 3, 20, tzinfo=UTC)
SECTIONS = {"orbit": (OrbitConfig, "orbit")}
HEAD = """
[scenario]
epoch = "2026-03-20T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
"""
WALKER = """
[[orbit.shell]]
kind = "walker_delta"
total = 12
planes = 3
phasing = 1
altitude_km = 550
inclination = 53
"""


def _wrap_deg(x: np.ndarray) -> np.ndarray:
    """Angle differences folded into [-180, 180)."""
    return (np.asarray(x) + 180.0) % 360.0 - 180.0


@settings(max_examples=60, deadline=None)
@given(planes=st.integers(1, 24), per_plane=st.integers(1, 30), data=st.data(),
       raan0=st.floats(-360, 360), star=st.booleans())
def test_walker_geometry(planes, per_plane, data, raan0, star):
    """Planes contiguous; nodes 360/P apart (delta) or 180/P (star); slots 360/S apart in
    a plane; plane j+1 leads plane j by 360 F / T (Walker 1984)."""
    total = planes * per_plane
    phasing = data.draw(st.integers(0, planes - 1))
    build = cons.walker_star if star else cons.walker_delta
    el = build(total, planes, phasing, 550.0, 53.0, raan0_deg=raan0)
    assert el.count == total
    np.testing.assert_array_equal(el.plane, np.repeat(np.arange(planes), per_plane))
    raan = np.degrees(el.raan_rad).reshape(planes, per_plane)
    u = np.degrees(el.mean_anomaly_rad + el.arg_perigee_rad).reshape(planes, per_plane)
    spread = 180.0 if star else 360.0
    assert np.all(np.ptp(raan, axis=1) == 0.0)
    np.testing.assert_allclose(_wrap_deg(raan[:, 0] - raan0 - np.arange(planes) * spread / planes), 0.0, atol=1e-9)
    np.testing.assert_allclose(_wrap_deg(np.diff(u, axis=1) - 360.0 / per_plane), 0.0, atol=1e-9)
    np.testing.assert_allclose(_wrap_deg(np.diff(u[:, 0]) - 360.0 * phasing / total), 0.0, atol=1e-9)
    np.testing.assert_allclose(el.semi_major_axis_m, R_EARTH_M + 550e3)
    assert np.all(el.eccentricity == 0.0) and np.allclose(np.degrees(el.inclination_rad), 53.0)


def test_walker_starlink_like_shell():
    """A Starlink-like 53 deg: 1584/72/39 shell at 550 km: 22 per plane, 5 deg between
    nodes, 39 * 360 / 1584 = 8.864 deg phase step between planes."""
    el = cons.walker_delta(1584, 72, 39, 550.0, 53.0)
    raan = np.degrees(el.raan_rad)
    assert el.count == 1584 and np.isclose(raan[22] - raan[0], 5.0)
    assert np.isclose(np.degrees(el.mean_anomaly_rad[22] - el.mean_anomaly_rad[0]), 39 * 360 / 1584)


@pytest.mark.parametrize("args, key", [((10, 3, 0), "planes"), ((12, 3, 3), "phasing"), ((0, 1, 0), "total"),
                                       ((12, 0, 0), "planes"), ((12, 3, -1), "phasing")])
def test_walker_builder_checks(args, key):
    with pytest.raises(SpecValueError) as info:
        cons.walker_delta(*args, altitude_km=550.0, inclination_deg=53.0)
    assert info.value.key == key


def test_sun_synchronous_inclination_published_values():
    """650 km circular: 97.98 deg (the value in the orbitwin issue; it follows from the
    J2 condition of Vallado 4th ed. sec. 11.4.1 with WGS 84 / EGM96 constants). Landsat 8:
    705 km, 98.2 deg (USGS, Landsat 8 Data Users Handbook), independent."""
    assert cons.sun_synchronous_inclination_deg(650.0) == pytest.approx(97.98, abs=0.01)
    assert cons.sun_synchronous_inclination_deg(705.0) == pytest.approx(98.2, abs=0.05)
    # eccentricity enters through p = a (1 - e^2): a little less inclination for e > 0
    assert cons.sun_synchronous_inclination_deg(650.0, 0.05) < cons.sun_synchronous_inclination_deg(650.0)


def test_no_sun_synchronous_orbit_above_5970_km():
    assert cons.sun_synchronous_inclination_deg(5900.0) > 160.0
    with pytest.raises(SpecValueError) as info:
        cons.sun_synchronous_inclination_deg(6000.0)
    assert info.value.key == "altitude_km" and "sun-synchronous" in str(info.value)


def _astropy_sun_ra_deg(epoch: dt.datetime) -> float:
    pytest.importorskip("astropy")
    from astropy.utils import iers

    iers.conf.auto_download = False
    from astropy.coordinates import get_sun
    from astropy.time import Time

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(get_sun(Time(epoch)).ra.deg)


@pytest.mark.parametrize("ltan_h", [6.0, 10.5, 18.0])
def test_ltan_puts_node_at_local_mean_solar_time(ltan_h):
    """The node sits (ltan - 12) h x 15 deg/h east of the mean Sun, which leads astropy's
    apparent Sun (GCRS) by the equation of time: published (NOAA solar calculator) +16.4
    min on 3 November and -14.2 min on 11 February, 0.25 deg per minute; tolerance 0.1 deg
    (the equation of time varies by ~0.2 min from year to year)."""
    for epoch, eot_min in ((dt.datetime(2026, 11, 3, 12, 0, tzinfo=UTC), 16.4),
                           (dt.datetime(2026, 2, 11, 12, 0, tzinfo=UTC), -14.2)):
        expect = _astropy_sun_ra_deg(epoch) + eot_min * 0.25 + (ltan_h - 12.0) * 15.0
        assert abs(_wrap_deg(cons.ltan_raan_deg(ltan_h, epoch) - expect)) < 0.1
    el = cons.sun_synchronous(8, 2, 1, 650.0, ltan_h, EPOCH, star=True)
    assert np.isclose(_wrap_deg(np.degrees(el.raan_rad[4] - el.raan_rad[0])), 90.0)  # star: 180 / P
    assert np.allclose(np.degrees(el.inclination_rad), cons.sun_synchronous_inclination_deg(650.0))


def test_element_sets_group_consecutive_planes_and_concatenate():
    sets = [cons.ElementSet(53.0, altitude_km=550.0, raan_deg=0.0),
            cons.ElementSet(53.0, altitude_km=550.0, raan_deg=0.0, mean_anomaly_deg=90.0),
            cons.ElementSet(53.0, semi_major_axis_km=7000.0, raan_deg=10.0, eccentricity=0.01),
            cons.ElementSet(97.0, altitude_km=700.0, raan_deg=10.0)]
    el = cons.element_sets(sets)
    np.testing.assert_array_equal(el.plane, [0, 0, 1, 2])
    assert el.semi_major_axis_m[2] == 7.0e6 and el.eccentricity[2] == 0.01
    both, shell = cons.Elements.concatenate([cons.walker_delta(6, 3, 0, 550.0, 53.0), el])
    np.testing.assert_array_equal(both.plane, [0, 0, 1, 1, 2, 2, 3, 3, 4, 5])
    np.testing.assert_array_equal(shell, [0] * 6 + [1] * 4)


def test_scenario_table_builds_shells():
    text = HEAD + WALKER + WALKER.replace("walker_delta", "walker_star").replace(
        "inclination = 53", 'inclination = "sso"\nltan_h = 18')
    cfg = parse_scenario(text, "t.toml", SECTIONS).section("orbit")
    el, shell = cfg.elements(EPOCH)
    assert el.count == 24 and list(np.unique(el.plane)) == list(range(6))
    assert np.allclose(np.degrees(el.inclination_rad[12:]), cons.sun_synchronous_inclination_deg(550.0))


BAD = [
    (WALKER.replace("planes = 3", "planes = 5"), "orbit.shell[0].planes", "divides total = 12"),
    (WALKER.replace("phasing = 1", "phasing = 3"), "orbit.shell[0].phasing", "[0, planes - 1 = 2]"),
    (WALKER.replace("altitude_km = 550", "altitude_km = 50"), "orbit.shell[0].altitude_km", "[100, 100000] km"),
    (WALKER.replace("inclination = 53", "inclination = 190"), "orbit.shell[0].inclination", "'sso'"),
    (WALKER.replace("inclination = 53", 'inclination = "polar"'), "orbit.shell[0].inclination", "'polar'"),
    (WALKER.replace("inclination = 53", 'inclination = "sso"'), "orbit.shell[0].ltan_h", "present"),
    (WALKER.replace("inclination = 53", 'inclination = "sso"\nltan_h = 24'), "orbit.shell[0].ltan_h", "[0, 24)"),
    (WALKER.replace("inclination = 53", 'inclination = "sso"\nltan_h = 6').replace("= 550", "= 7000"),
     "orbit.shell[0].altitude_km", "sun-synchronous"),
    (WALKER.replace("inclination = 53", "inclination = 53\nltan_h = 6"), "orbit.shell[0].ltan_h", "absent"),
    (WALKER.replace("walker_delta", "walker_delat"), "orbit.shell[0].kind", "'walker_delta'"),
    (WALKER.replace("total = 12", "total = 12.5"), "orbit.shell[0].total", "whole number"),
    (WALKER.replace("total = 12\n", ""), "orbit.shell[0].total", "required"),
    (WALKER.replace("altitude_km", "altitude_m"), "orbit.shell[0].altitude_m", "did you mean 'altitude_km'"),
    (WALKER + WALKER.replace("total = 12", "total = 7"), "orbit.shell[1].planes", "divides total = 7"),
    ("\n[orbit]\nshell = []\n", "orbit.shell", "at least one"),
    ('\n[[orbit.shell]]\nkind = "elements"\n', "orbit.shell[0].sets", "non-empty"),
    ('\n[[orbit.shell]]\nkind = "elements"\nplanes = 2\nsets = [{altitude_km = 550, inclination_deg = 53}]\n',
     "orbit.shell[0].planes", "absent"),
    ('\n[[orbit.shell]]\nkind = "elements"\nsets = [{altitude_km = 550, inclination_deg = 53}, '
     '{altitude_km = 550, inclination_deg = 53, eccentricity = 1.0}]\n', "orbit.shell[0].sets[1].eccentricity",
     "[0, 1)"),
    ('\n[[orbit.shell]]\nkind = "elements"\nsets = [{altitude_km = 550, inclination_deg = 53, eccentricity = 0.5}]\n',
     "orbit.shell[0].sets[0].eccentricity", "perigee altitude"),
    ('\n[[orbit.shell]]\nkind = "elements"\nsets = [{inclination_deg = 53}]\n',
     "orbit.shell[0].sets[0].altitude_km", "semi_major_axis_km"),
    ('\n[[orbit.shell]]\nkind = "elements"\nsets = [{semi_major_axis_km = 6400, inclination_deg = 53}]\n',
     "orbit.shell[0].sets[0].semi_major_axis_km", "a - R_E"),
    ('\n[[orbit.shell]]\nkind = "elements"\nsets = [{altitude_km = 550, inclination_deg = 53, raan = 3}]\n',
     "orbit.shell[0].sets[0].raan", "did you mean 'raan_deg'"),
]


@pytest.mark.parametrize("snippet, key, fragment", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_orbit_table_names_key(snippet, key, fragment):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(HEAD + snippet, "t.toml", SECTIONS)
    assert info.value.key == key
    assert fragment in str(info.value) and str(info.value).startswith("t.toml: ")


def test_count_and_orbit_shapes_agree_with_the_elements_without_building_them():
    """What the orbit plugin decides from the tables alone (the satellite count, and the
    fastest mean motion, which picks the trig-free path) is what the elements give."""
    from orbitwin_plugins.orbit import j2_secular_rates

    text = HEAD + WALKER + WALKER.replace("walker_delta", "walker_star").replace(
        "inclination = 53", 'inclination = "sso"\nltan_h = 18') + (
        '\n[[orbit.shell]]\nkind = "elements"\nsets = [{altitude_km = 400, inclination_deg = 51.6}, '
        '{semi_major_axis_km = 7200, eccentricity = 0.01, inclination_deg = 45}]\n')
    cfg = parse_scenario(text, "t.toml", SECTIONS).section("orbit")
    el, _shell = cfg.elements(EPOCH)
    assert cfg.count == el.count == 26 and [s.count for s in cfg.shell] == [12, 12, 2]
    a, e, inc = (np.concatenate(col) for col in zip(*(s.orbit_shapes() for s in cfg.shell)))
    assert set(a) == set(el.semi_major_axis_m) and set(e) == set(el.eccentricity)
    assert set(inc) == set(el.inclination_rad)
    fast = np.max(np.abs(j2_secular_rates(a, e, inc)[2]))
    assert fast == np.max(np.abs(j2_secular_rates(el.semi_major_axis_m, el.eccentricity, el.inclination_rad)[2]))


def test_module_docstring_example_parses():
    """The [orbit] example in the module docstring is a valid table (docs kept honest)."""
    import textwrap

    doc = cons.__doc__.split("Scenario table ``[orbit]``", 1)[1].split("::\n", 1)[1]
    cfg = parse_scenario(HEAD + textwrap.dedent(doc), "doc.toml", SECTIONS).section("orbit")
    el, shell = cfg.elements(EPOCH)
    assert el.count == 1584 + 8 + 2 and shell.max() == 2


def test_hooks_without_orbit_table_do_nothing():
    from orbitwin_plugins import orbit

    sc = parse_scenario(HEAD, "t.toml", SECTIONS)
    assert sc.section("orbit") is None
    assert orbit.orbitwin_satellites(sc) is None and orbit.orbitwin_variables(sc) is None
