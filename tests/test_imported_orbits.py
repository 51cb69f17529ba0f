"""Constellations from published element sets (`kind = "tle"` / `"omm"`): SGP4 in the
kernel against the `sgp4` library, the J2 propagator from converted elements, decayed
satellites leaving the run, and errors that name the file and key."""

import datetime as dt
from importlib import resources

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec, jday

from orbitwin_plugins.frames import teme_to_eci_matrix
from twin_core.errors import ScenarioError
from twin_core.runner import parse, plugin_manager
from twin_core.testing import run_scenario

DATA = resources.files("orbitwin_plugins") / "data" / "elements"
TLE = str(DATA / "vallado_near_earth.tle")
EPOCH = dt.datetime(2006, 6, 27)
#: The shipped near-Earth sets with epochs in June 2006 (DELTA 1 DEB, CBERS 2, SL-12 DEB).
CATALOG = [6251, 28057, 29238]
ONLY = ("environment", "solar", "battery", "power", "payload", "thermal", "formation", "crosslinks", "ground",
        "launch", "costs", "radiation", "latency")

SCENARIO = f"""
[scenario]
epoch = "2006-06-27T00:00:00Z"
duration_h = 24
step_s = 60
record_every_s = 1800

[orbit]
propagator = "{{propagator}}"

[[orbit.shell]]
kind = "{{kind}}"
file = "{{file}}"
catalog_numbers = {CATALOG}
"""


def _library_eci_m(times_s: np.ndarray) -> np.ndarray:
    """The sgp4 library's positions of CATALOG, rotated to ECI with the same matrices."""
    lines = open(TLE).read().splitlines()
    pairs = {int(l[2:7]): (l, lines[k + 1]) for k, l in enumerate(lines) if l.startswith("1 ")}
    out = np.empty((len(times_s), len(CATALOG), 3))
    for j, cat in enumerate(CATALOG):
        sat = Satrec.twoline2rv(*pairs[cat], WGS72)
        for k, t in enumerate(times_s):
            when = EPOCH + dt.timedelta(seconds=float(t))
            jd, fr = jday(when.year, when.month, when.day, when.hour, when.minute, when.second)
            err, r, _v = sat.sgp4(jd, fr)
            assert err == 0
            out[k, j] = teme_to_eci_matrix(float(t), EPOCH) @ np.array(r) * 1000.0
    return out


@pytest.fixture(scope="module")
def sgp4_run():
    return run_scenario(SCENARIO.format(propagator="sgp4", kind="tle", file=TLE), disable=ONLY)


def test_sgp4_in_the_kernel_matches_the_library(sgp4_run):
    want = _library_eci_m(sgp4_run.times_s)
    got = sgp4_run.sat["orbit.r_eci_m"]
    assert np.max(np.linalg.norm(got - want, axis=-1)) < 1e-3  # 1 mm (measured: under 1 um)
    assert np.all(sgp4_run.sat["orbit.sgp4_error"] == 0)


@pytest.mark.parametrize("name", ["vallado_near_earth.json", "vallado_near_earth.kvn", "vallado_near_earth.xml"])
def test_the_same_sets_as_omm_give_the_same_run(sgp4_run, name):
    res = run_scenario(SCENARIO.format(propagator="sgp4", kind="omm", file=str(DATA / name)), disable=ONLY)
    np.testing.assert_array_equal(res.sat["orbit.r_eci_m"], sgp4_run.sat["orbit.r_eci_m"])


def test_the_j2_propagator_from_the_same_sets_parts_from_sgp4_as_stated(sgp4_run):
    """Converted to J2 mean elements (imported_orbits.j2_elements): within the short-period
    amplitude plus a day's drift for the low-drag sets (12-32 km), and by drag for SL-12 DEB
    (ndot/2 = 0.0077 rev/day^2: ~950 km in a day), which the J2 propagator does not model."""
    res = run_scenario(SCENARIO.format(propagator="j2", kind="tle", file=TLE), disable=ONLY)
    d_km = np.linalg.norm(res.sat["orbit.r_eci_m"] - sgp4_run.sat["orbit.r_eci_m"], axis=-1) / 1e3
    assert d_km[:, :2].max() < 35.0
    assert d_km[0, :2].max() < 15.0  # at the epoch: short-period terms only
    assert d_km[-1, 2] > 300.0  # the drag the J2 propagator leaves out


def test_a_decayed_satellite_leaves_the_run_instead_of_stopping_it(tmp_path):
    import sgp4

    lines = (resources.files(sgp4) / "SGP4-VER.TLE").read_text().splitlines()
    k = next(i for i, l in enumerate(lines) if l.startswith("1 28350"))
    (tmp_path / "decay.tle").write_text(lines[k][:69] + "\n" + lines[k + 1][:69] + "\n")
    text = f"""
[scenario]
epoch = "2006-06-16T06:00:00Z"
duration_days = 3
step_s = 60
record_every_s = 3600

[orbit]
propagator = "sgp4"

[[orbit.shell]]
kind = "tle"
file = "{tmp_path / 'decay.tle'}"

[[orbit.shell]]
kind = "tle"
file = "{TLE}"
catalog_numbers = [28057]
"""
    res = run_scenario(text, disable=ONLY)
    err, active = res.sat["orbit.sgp4_error"], res.sat["sat.active"]
    assert err[-1, 0] != 0 and np.all(err[:, 1] == 0)
    np.testing.assert_array_equal(active[:, 0], (err[:, 0] == 0).astype(active.dtype))
    assert np.all(np.isfinite(res.sat["orbit.r_eci_m"]))


ISS_DECAY = f"""
[scenario]
epoch = "{{epoch}}"
duration_h = 24
step_s = 60
record_every_s = 300

[orbit]
propagator = "sgp4"

[[orbit.shell]]
kind = "tle"
file = "{DATA / 'public_leo.tle'}"
names = ["ISS*", "STARLINK-1007"]
"""


def test_a_decayed_satellite_stays_out_though_sgp4_says_no_error_again():
    """The ISS set of June 2024 carried to 22 October 2027: SGP4 reports it decayed near
    perigee, then no error again half an orbit later, at an altitude of a few km. From
    the first error on it stays inactive, keeps that error's code and its last state."""
    res = run_scenario(ISS_DECAY.format(epoch="2027-10-22T06:00:00Z"), disable=ONLY)
    err, active = res.sat["orbit.sgp4_error"][:, 0], res.sat["sat.active"][:, 0]
    first = int(np.argmax(err != 0))
    assert 0 < first < len(err) - 5 and err[first] == 6  # decayed during the day
    assert np.all(err[first:] == 6) and np.all(active[first:] == 0) and np.all(active[:first] == 1)
    r = res.sat["orbit.r_eci_m"][:, 0]
    assert np.all(r[first:] == r[first])  # its last good state, held
    assert np.all(res.sat["sat.active"][:, 1] == 1)  # the Starlink set is unaffected


def test_a_set_decayed_within_the_orbit_before_the_epoch_is_refused():
    """Started an hour after the first decay, at a time SGP4 reports no error: refused."""
    first = run_scenario(ISS_DECAY.format(epoch="2027-10-22T06:00:00Z"), disable=ONLY)
    k = int(np.argmax(first.sat["orbit.sgp4_error"][:, 0] != 0))
    start = dt.datetime(2027, 10, 22, 6) + dt.timedelta(seconds=float(first.times_s[k]) + 3600)
    with pytest.raises(ScenarioError) as info:
        run_scenario(ISS_DECAY.format(epoch=start.strftime("%Y-%m-%dT%H:%M:%SZ")), disable=ONLY)
    err = info.value
    assert "public_leo.tle" in str(err) and "ISS (ZARYA)" in str(err) and "decayed" in str(err)


def test_a_failing_set_in_a_later_shell_is_named_with_its_own_file_and_line(tmp_path):
    lines = open(TLE).read().splitlines()
    k = next(i for i, l in enumerate(lines) if l.startswith("1 28057"))
    l2 = lines[k + 1]
    l2 = l2[:52] + "50.56000000" + l2[63:68]  # a mean motion of 50 rev/day: SGP4's initialization fails
    l2 += str(sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in l2) % 10)
    (tmp_path / "mm50.tle").write_text("\n".join([lines[k - 1], lines[k], l2]) + "\n")
    text = SCENARIO.format(propagator="sgp4", kind="tle", file=TLE).replace("catalog_numbers = [6251, 28057, 29238]",
                                                                            "catalog_numbers = [6251]")
    text += f'\n[[orbit.shell]]\nkind = "tle"\nfile = "{tmp_path / "mm50.tle"}"\n'
    with pytest.raises(ScenarioError) as info:
        run_scenario(text, disable=ONLY)
    err = info.value
    assert str(err.value).endswith("mm50.tle:2") and "vallado" not in str(err.value)  # the set's first line
    assert err.key == "orbit.shell[1].file"


def _error(text: str, path: str = "sc.toml") -> ScenarioError:
    pm = plugin_manager(disable=ONLY)
    from twin_core.plan import make_plan

    with pytest.raises(ScenarioError) as info:
        make_plan(parse(text, pm, path), pm)
    return info.value


def test_a_relative_file_is_found_beside_the_scenario(tmp_path):
    (tmp_path / "sats.tle").write_text(open(TLE).read())
    text = SCENARIO.format(propagator="sgp4", kind="tle", file="sats.tle")
    pm = plugin_manager(disable=ONLY)
    sc = parse(text, pm, str(tmp_path / "sc.toml"))
    assert sc.section("orbit").count == 3


@pytest.mark.parametrize("change, key, words", [
    (("file = ", 'file = "missing.tle"\n#'), "orbit.shell.file", "looked for"),
    (('propagator = "sgp4"', 'propagator = "sgp5"'), "orbit.propagator", "sgp4"),
    (("catalog_numbers = [6251, 28057, 29238]", "catalog_numbers = [99999]"), "orbit.shell.file", "99999"),
    (('epoch = "2006-06-27T00:00:00Z"', 'epoch = "2016-06-27T00:00:00Z"'), "orbit.shell.file", "5 years"),
    (('kind = "tle"', 'kind = "omm"'), "orbit.shell.file",
     "expected a file of kind 'omm' (it holds two-line element sets: set kind = \"tle\")"),
    (("vallado_near_earth.tle", "vallado_near_earth.json"), "orbit.shell.file",
     "expected a file of kind 'tle' (it holds OMM as JSON: set kind = \"omm\")"),
])
def test_bad_imports_name_their_key(change, key, words):
    text = SCENARIO.format(propagator="sgp4", kind="tle", file=TLE).replace(*change)
    err = _error(text)
    assert err.key.startswith(key.rsplit(".", 1)[0]) and key.rsplit(".", 1)[1] in err.key
    assert words in str(err)


def test_a_corrupt_line_is_named_with_its_file_and_line(tmp_path):
    lines = open(TLE).read().splitlines()
    k = next(i for i, l in enumerate(lines) if l.startswith("2 28057"))
    lines[k] = lines[k][:-1] + str((int(lines[k][-1]) + 1) % 10)  # break the checksum
    (tmp_path / "bad.tle").write_text("\n".join(lines) + "\n")
    err = _error(SCENARIO.format(propagator="sgp4", kind="tle", file=str(tmp_path / "bad.tle")))
    assert "bad.tle" in str(err) and f"line {k + 1}" in str(err) and "checksum" in str(err)


def test_sgp4_refuses_built_shells_and_deep_space_sets():
    walker = """
[scenario]
epoch = "2006-06-27T00:00:00Z"
duration_h = 1
step_s = 60
record_every_s = 600
[orbit]
propagator = "sgp4"
[[orbit.shell]]
kind = "walker_delta"
total = 4
planes = 2
altitude_km = 550
inclination = 53
"""
    assert _error(walker).key == "orbit.propagator"
    deep = SCENARIO.format(propagator="sgp4", kind="tle", file=str(DATA / "vallado_deep_space.tle")).replace(
        "catalog_numbers = [6251, 28057, 29238]\n", "").replace("2006-06-27", "2006-06-25")
    err = _error(deep)
    assert "deep" in str(err).lower()


def test_the_store_names_the_real_satellites(tmp_path):
    import zarr

    from twin_core.runner import run_to_store

    pm = plugin_manager(disable=ONLY)
    sc = parse(SCENARIO.format(propagator="sgp4", kind="tle", file=TLE).replace("duration_h = 24", "duration_h = 1"),
               pm, "sc.toml")
    run_to_store(sc, pm, tmp_path / "s.zarr")
    sat = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")["sat"]
    assert list(sat["catalog_number"][...]) == CATALOG
    assert list(sat["name"][...]) == ["DELTA 1 DEB", "CBERS 2", "SL-12 DEB"]


@pytest.mark.parametrize("pole", ["mean", "true"])
def test_the_j2_kernel_about_the_pole_of_date_is_its_numpy_reference(pole):
    """[orbit] j2_pole: the elements in the frame of date, the kernel's positions rotated
    to ECI, as `orbit.propagate_numpy` with `orbit.eci_rotation` (tests/test_orbit_frames.py
    shows the node-rate improvement against SGP4 this buys)."""
    from orbitwin_plugins import orbit

    text = SCENARIO.format(propagator="j2", kind="tle", file=TLE).replace(
        'propagator = "j2"', f'propagator = "j2"\nj2_pole = "{pole}"')
    res = run_scenario(text, disable=ONLY)
    sc = res.layout.plan.scenario
    el, _ = orbit.scenario_elements(sc)
    r, _v = orbit.propagate_numpy(orbit.mean_parameters(el), res.times_s, rotation=orbit.eci_rotation(sc))
    assert np.max(np.linalg.norm(res.sat["orbit.r_eci_m"] - r, axis=-1)) < 1e-3
    j2000 = run_scenario(SCENARIO.format(propagator="j2", kind="tle", file=TLE).replace(
        'propagator = "j2"', 'propagator = "j2"\nj2_pole = "j2000"'), disable=ONLY)
    # the same orbits, carried from each set's epoch (0.2-1.2 days before the scenario's)
    # about a different axis: apart by the axis tilt (0.3 deg) times the node's travel
    d0 = np.linalg.norm(res.sat["orbit.r_eci_m"][0] - j2000.sat["orbit.r_eci_m"][0], axis=-1)
    assert np.all(d0 < 2000.0) and np.any(d0 > 1.0)


def test_the_true_pole_of_date_is_the_default():
    from orbitwin_plugins import orbit

    plain = run_scenario(SCENARIO.format(propagator="j2", kind="tle", file=TLE), disable=ONLY)
    sc = plain.layout.plan.scenario
    assert sc.section("orbit").j2_pole is None and sc.section("orbit").pole == "true"
    true = orbit.eci_rotation(sc)
    # the pole moves 20.04 arcsec a year from J2000 (IAU 1976), plus nutation (< 10 arcsec)
    assert true is not None and np.degrees(np.arccos(true[2, 2])) == pytest.approx(6.49 * 20.04 / 3600, abs=0.003)


def test_j2_pole_with_sgp4_is_refused():
    text = SCENARIO.format(propagator="sgp4", kind="tle", file=TLE).replace(
        'propagator = "sgp4"', 'propagator = "sgp4"\nj2_pole = "true"')
    assert _error(text).key == "orbit.j2_pole"


@pytest.mark.parametrize("content, words", [(b"", "got an empty file"), (b"\xff\xfe\x00junk", "UTF-8"),
                                            (None, "not a folder")])
def test_an_unreadable_file_gets_the_readers_error_whatever_the_kind(tmp_path, content, words):
    path = tmp_path / "sets.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    for kind in ("tle", "omm"):
        err = _error(SCENARIO.format(propagator="j2", kind=kind, file=path).replace(
            "catalog_numbers = [6251, 28057, 29238]", ""))
        assert words in str(err) and "it holds" not in str(err)
