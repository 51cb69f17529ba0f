"""The taichi SGP4 function and its numpy reference against the ``sgp4`` library.

Element sets (no network in tests, so only data the ``sgp4`` package ships or quotes):

- every near-Earth set of Vallado's verification file ``SGP4-VER.TLE`` (9 of its 33; the
  others are deep space and serve the refusal test);
- three real sets quoted in the ``sgp4`` package (its README's ISS, and VANGUARD 1 and
  MARIO from its tests);
- the 19 newer real sets orbitwin ships in ``public_leo.tle`` (2018-2024: HST, four
  sun-synchronous weather and Earth-observation satellites, the ISS, six Starlink and
  seven OneWeb; provenance in the data folder's README), so 31 real sets in all;
- element sets built with ``sgp4init`` for the orbit classes and branches the file does
  not reach (Starlink-like 53 deg, sun-synchronous, OneWeb- and Iridium-like polar shells,
  retrograde, equatorial with e = 0, i within 1e-4 deg of 180, perigee below 156 km and
  below 98 km, zero and negative B*, periods of 224-224.5 min just under the deep-space
  limit, and 226 min just over it).

Each is propagated every 10 min over 7 days. The standard is the issue's: 1 m in position
and 1 mm/s in velocity, with the same error codes (and NaN) where the library reports an
error. After a satellite's first error (it has decayed) the library goes on returning
numbers for some times, unphysical ones up to 1e10 km; there positions are compared
relative to their size (1e-9).
"""

import math
from pathlib import Path

import numpy as np
import pytest
import sgp4
from sgp4.api import WGS72, WGS84, Satrec

from orbitwin_plugins import sgp4_propagation as sp
from orbitwin_plugins.elements_io import read_elements

PUBLIC_LEO = Path(sp.__file__).parent / "data" / "elements" / "public_leo.tle"

VER_TLE = Path(sgp4.__file__).with_name("SGP4-VER.TLE")
DAYS = 7
TIMES_MIN = np.arange(0.0, DAYS * 1440.0 + 1.0, 10.0)
EPOCH_DAYS = 27760.0  # 2026-01-01 00:00 UT in days since 1949 December 31 00:00 UT

#: Real element sets quoted in the sgp4 package (README and sgp4/tests.py).
PACKAGE_TLES = {
    "ISS (ZARYA)": ("1 25544U 98067A   19343.69339541  .00001764  00000-0  38792-4 0  9991",
                    "2 25544  51.6439 211.2001 0007417  17.6667  85.6398 15.50103472202482"),
    "VANGUARD 1": ("1 00005U 58002B   20287.20333880 -.00000016  00000-0 -22483-4 0  9998",
                   "2 00005  34.2443 225.5254 1845686 162.2516 205.2356 10.84869164218149"),
    "MARIO": ("1 55123U 98067UQ  23115.44827133  .00787702  29408-3  15680-2 0  9999",
              "2 55123  51.6242 216.2930 0014649 331.8976  28.1241 15.99081912 18396"),
}


def _n_e(perigee_km: float, apogee_km: float) -> tuple[float, float]:
    """Mean motion [rev/day] and eccentricity of an orbit with these altitudes."""
    a = 6378.135 + 0.5 * (perigee_km + apogee_km)
    period_min = 2.0 * math.pi * math.sqrt(a**3 / 398600.8) / 60.0
    return 1440.0 / period_min, (apogee_km - perigee_km) / (2.0 * a)


#: Element sets built for orbit classes and branches: name -> (catalog number, mean motion
#: [rev/day], e, i, RAAN, omega, M [deg], B* [1/ER]).
BUILT = {
    "Starlink-like 550 km 53 deg": (90001, *_n_e(550, 552), 53.0, 10, 0, 30, 2e-4),
    "SSO 550 km": (90002, *_n_e(549, 551), 97.6, 100, 90, 200, 1e-4),
    "OneWeb-like 1200 km 87.9 deg": (90003, *_n_e(1199, 1201), 87.9, 200, 90, 300, 1e-5),
    "Iridium-like 780 km 86.4 deg": (90004, *_n_e(779, 781), 86.4, 300, 80, 40, 3e-5),
    "retrograde 600 km 140 deg": (90005, *_n_e(599, 601), 140.0, 20, 10, 50, 5e-5),
    "equatorial e = 0": (90006, _n_e(700, 700)[0], 0.0, 0.0, 0, 0, 100, 1e-4),
    "i = 179.9999 deg": (90007, *_n_e(800, 810), 179.9999, 0, 0, 10, 1e-4),
    "perigee 140 km (decays)": (90008, *_n_e(140, 160), 51.6, 0, 0, 10, 1e-4),
    "perigee 95 km": (90009, *_n_e(95, 1500), 63.4, 0, 270, 10, 1e-4),
    "period 224.0 min circular": (90010, 1440.0 / 224.0, 0.001, 60, 0, 0, 10, 1e-5),
    "period 224.5 min e = 0.45": (90011, 1440.0 / 224.5, 0.45, 27, 0, 180, 10, 1e-4),
    "B* = 0": (90013, *_n_e(400, 420), 51.6, 0, 0, 10, 0.0),
    "B* < 0": (90014, *_n_e(500, 520), 45.0, 0, 0, 10, -1e-4),
    "perigee 300 km apogee 3000 km": (90015, *_n_e(300, 3000), 63.4, 0, 270, 10, 1e-4),
}


def built_satrec(satnum, rev_day, e, i, raan, argp, m, bstar, whichconst=WGS72):
    s = Satrec()
    s.sgp4init(whichconst, "i", satnum, EPOCH_DAYS, bstar, 0.0, 0.0, e, math.radians(argp), math.radians(i),
               math.radians(m), rev_day * 2.0 * math.pi / 1440.0, math.radians(raan))
    return s


def ver_sets() -> list[tuple[str, Satrec]]:
    """Every element set of SGP4-VER.TLE (columns after 69 are the test's time range),
    named by the comment above it."""
    lines = VER_TLE.read_text().splitlines()
    out, comment = [], ""
    for k, line in enumerate(lines):
        if line.startswith("#"):
            comment = line.strip("# ").strip() or comment
        elif line.startswith("1 "):
            s = Satrec.twoline2rv(line[:69], lines[k + 1][:69], WGS72)
            out.append((f"VER {s.satnum} {comment[:40]}", s))
    return out


def _tle_lines(e) -> tuple[str, str]:
    """The two lines of a set read from a TLE file, as the file has them."""
    lines = PUBLIC_LEO.read_text().splitlines()
    k = next(k for k, line in enumerate(lines) if line.startswith(f"1 {e.catalog_number:05d}"))
    return lines[k], lines[k + 1]


@pytest.fixture(scope="module")
def cases():
    """Names, library Satrecs, parameter table, library results, numpy and taichi results."""
    named = [(n, s) for n, s in ver_sets() if not sp.is_deep_space(s)]
    named += [(n, Satrec.twoline2rv(*lines, WGS72)) for n, lines in PACKAGE_TLES.items()]
    named += [(f"public {e.name}", Satrec.twoline2rv(*_tle_lines(e), WGS72)) for e in read_elements(PUBLIC_LEO)]
    named += [(n, built_satrec(*el)) for n, el in BUILT.items()]
    names = [n for n, _ in named]
    sats = [s for _, s in named]
    params = sp.sgp4_parameters(sats, names)
    k, n = len(TIMES_MIN), len(sats)
    err, r, v = np.zeros((k, n), int), np.zeros((k, n, 3)), np.zeros((k, n, 3))
    for i, s in enumerate(sats):
        for j, t in enumerate(TIMES_MIN):
            err[j, i], r[j, i], v[j, i] = s.sgp4_tsince(t)
    return dict(names=names, sats=sats, params=params, lib=(err, r, v),
                numpy=sp.propagate_numpy(params, TIMES_MIN), taichi=sp.propagate_taichi(params, TIMES_MIN))


def test_the_set_covers_the_orbit_classes(cases):
    p, names = cases["params"], cases["names"]
    period = 2.0 * np.pi / p["no_unkozai"]
    inc = np.degrees(p["inclo"])
    real = [n for n in names if n.startswith(("VER", "public")) or n in PACKAGE_TLES]
    assert len(real) == 31 >= 20  # the standard: at least 20 real sets
    assert sum(n.startswith("VER") for n in names) == 9  # every near-Earth set of the file
    assert sum(n.startswith("public") for n in names) == 19
    assert np.any((inc > 96) & (inc < 100))  # sun-synchronous
    assert np.any((inc > 80) & (inc < 96)) and np.any(inc > 100)  # polar, retrograde
    assert np.any(period > 224.0) and period.max() < sp.DEEP_SPACE_PERIOD_MIN  # the boundary
    assert np.any(p["isimp"] == 1.0) and np.any(p["isimp"] == 0.0)  # both drag branches
    assert np.any(p["bstar"] > 1e-3) and np.any(p["bstar"] < 0)  # high drag, negative B*
    err = cases["lib"][0]
    assert {1, 4, 6} <= set(np.unique(err))  # the library's near-Earth errors occur


def _compare(cases, which):
    err, r, v = cases["lib"]
    got = cases[which]
    assert np.array_equal(got.error, err), "error codes differ"
    bad = err != 0
    assert np.isnan(got.r_km[bad]).all() and np.isnan(got.v_km_s[bad]).all()
    assert np.isfinite(got.r_km[~bad]).all() and np.isfinite(got.v_km_s[~bad]).all()
    # before each satellite's first error: absolute standard
    physical = np.cumsum(bad, axis=0) == 0
    dr = np.linalg.norm(got.r_km - r, axis=-1)[physical]
    dv = np.linalg.norm(got.v_km_s - v, axis=-1)[physical]
    # after it, where the library still returns numbers: relative
    late = ~physical & ~bad
    rel = (np.linalg.norm(got.r_km - r, axis=-1) / np.linalg.norm(r, axis=-1))[late]
    return dr.max() * 1e3, dv.max() * 1e3, rel.max(initial=0.0)


@pytest.mark.parametrize("which", ["taichi", "numpy"])
def test_matches_the_sgp4_library(cases, which):
    dr_m, dv_m_s, rel = _compare(cases, which)
    print(f"\n{which}: max |dr| = {dr_m * 1e3:.3g} mm, max |dv| = {dv_m_s * 1e3:.3g} mm/s "
          f"over {DAYS} days, {len(cases['names'])} element sets; after decay, relative {rel:.2g}")
    assert dr_m < 1.0
    assert dv_m_s < 1e-3
    assert rel < 1e-9


def test_taichi_and_numpy_agree(cases):
    a, b = cases["taichi"], cases["numpy"]
    assert np.array_equal(a.error, b.error)
    ok = a.error == 0
    physical = np.cumsum(~ok, axis=0) == 0
    assert np.abs(a.r_km - b.r_km)[physical].max() < 1e-5  # 1 cm
    assert np.abs(a.v_km_s - b.v_km_s)[physical].max() < 1e-8  # 10 um/s


def test_scalar_time_and_matrix_input(cases):
    p = cases["params"]
    one = sp.propagate_taichi(sp.parameter_matrix(p), 90.0)
    ref = sp.propagate_numpy(p, 90.0)
    assert one.r_km.shape == (len(p), 3) and one.error.shape == (len(p),)
    assert ref.r_km.shape == (len(p), 3) and ref.error.shape == (len(p),)
    np.testing.assert_allclose(one.r_km, ref.r_km, atol=1e-6, rtol=0)


def test_function_signature_lists_the_fields():
    import inspect

    func = sp.make_sgp4_func()
    params = list(inspect.signature(func).parameters)
    assert params == list(sp.FIELDS) + ["tsince_min"]


def test_deep_space_sets_are_refused():
    deep = [(n, s) for n, s in ver_sets() if sp.is_deep_space(s)]
    assert len(deep) >= 20
    for name, s in deep:
        with pytest.raises(sp.Sgp4ElementsError, match=str(s.satnum)):
            sp.sgp4_parameters([s], [name])
    s = next(s for _, s in deep if s.satnum == 16925)  # SL-6 R/B, 295 min
    with pytest.raises(sp.DeepSpaceElementsError, match=r"SL-6 R/B \(catalog number 16925\).*225 min"):
        sp.sgp4_parameters([s], ["SL-6 R/B"])


def test_the_225_minute_boundary():
    near = built_satrec(90010, 1440.0 / 224.0, 0.001, 60, 0, 0, 10, 1e-5)
    deep = built_satrec(90012, 1440.0 / 226.0, 0.001, 60, 0, 0, 10, 1e-5)
    assert len(sp.sgp4_parameters([near])) == 1
    with pytest.raises(sp.DeepSpaceElementsError, match="catalog number 90012.*226.0 min"):
        sp.sgp4_parameters([near, deep], ["near", None])


def test_initialization_errors_are_refused():
    n, e = _n_e(-300, 1000)  # perigee 300 km below the surface: error 6 at the epoch
    with pytest.raises(sp.Sgp4InitializationError, match="BURIED.*error 6"):
        sp.sgp4_parameters([built_satrec(90016, n, e, 63.4, 0, 270, 10, 1e-4)], ["BURIED"])


def test_other_gravity_constants_are_refused():
    s = built_satrec(*BUILT["SSO 550 km"], whichconst=WGS84)
    with pytest.raises(sp.Sgp4ElementsError, match="WGS 72"):
        sp.sgp4_parameters([s])


def test_tle_pairs_and_element_arrays_give_the_same_table():
    lines = PACKAGE_TLES["ISS (ZARYA)"]
    a = sp.sgp4_parameters([lines])
    s = Satrec.twoline2rv(*lines)
    b = sp.sgp4_parameters_from_elements(s.satnum, s.jdsatepoch - 2433281.5 + s.jdsatepochF, s.bstar, s.ndot,
                                         s.nddot, s.ecco, s.argpo, s.inclo, s.mo, s.no_kozai, s.nodeo)
    assert a.dtype == sp.PARAMS_DTYPE and a.tobytes() == b.tobytes()
