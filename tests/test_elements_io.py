"""Element-set readers (orbitwin_plugins.elements_io): the shipped TLE files read as the
``sgp4`` library reads them (angles and mean motion bit for bit, epoch to 1 µs), their OMM
JSON, KVN and XML read to equal `MeanElements`, malformed input of every kind gives an
`ElementsError` naming file, line or record and field, fuzzed input gives nothing else,
and the filters, duplicates and reference-epoch rule."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import os
import pickle
from importlib import resources
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec
from sgp4.conveniences import sat_epoch_datetime

from orbitwin_plugins import elements_io as eio
from orbitwin_plugins.elements_io import ElementsError, MeanElements

DATA = Path(str(resources.files("orbitwin_plugins").joinpath("data", "elements")))
NEAR = DATA / "vallado_near_earth.tle"
DEEP = DATA / "vallado_deep_space.tle"
PUBLIC = DATA / "public_leo.tle"
DEG = math.pi / 180.0
XPDOTP = 1440.0 / (2.0 * math.pi)  # [min/rad] as sgp4: rev/day -> rad/min
UTC = dt.timezone.utc

CBERS = """0 CBERS 2
1 28057U 03049A   06177.78615833  .00000060  00000-0  35940-4 0  1836
2 28057  98.4283 247.6961 0000884  88.1964 271.9322 14.35478080140550
"""
# real sets quoted in the sgp4 package's own tests: day 366 of 2019 (ISS), signs written as
# '+', a catalog number with leading blanks, a 7-character international designator
VARIANTS = [
    ("1 25544U 98067A   19366.82137887  .00016717  00000-0  10270-3 0  9129",
     "2 25544  51.6392  96.6358 0005156  88.7140 271.4601 15.49497216  6061"),
    ("1 44160U 19006AX  20162.79712247 +.00816806 +19088-3 +34711-2 0  9997",
     "2 44160 095.2472 272.0808 0216413 032.6694 328.7739 15.58006382062511"),
    ("1  4859U 21001A   21007.63955392  .00000000  00000+0  00000+0 0  9990",
     "2  4859 000.0000 000.0000 0000000 000.0000 000.0000 01.00000000    09"),
    ("1 39444U 13066AE  20110.89708219  .00000236  00000-0  35029-4 0  9992",
     "2 39444  97.5597 114.3769 0059573 102.0933 258.6965 14.82098949344697"),
]


def _pairs(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text().splitlines()
    return [(line, lines[i + 1]) for i, line in enumerate(lines) if line.startswith("1 ")]


def _fix(line: str) -> str:
    """The line with its checksum made right."""
    return line[:68] + str(eio._checksum(line))


def _same_as_sgp4(e: MeanElements, l1: str, l2: str) -> None:
    sat = Satrec.twoline2rv(l1, l2)
    assert e.catalog_number == sat.satnum
    assert (e.inclination_deg * DEG, e.raan_deg * DEG, e.argp_deg * DEG, e.mean_anomaly_deg * DEG) == (
        sat.inclo, sat.nodeo, sat.argpo, sat.mo)
    assert e.mean_motion_rev_per_day / XPDOTP == sat.no_kozai
    assert e.eccentricity == sat.ecco
    assert e.bstar_per_earth_radius == pytest.approx(sat.bstar, rel=1e-15, abs=0)
    assert e.ndot_rev_per_day2 == pytest.approx(sat.ndot * XPDOTP * 1440.0, rel=1e-14, abs=0)
    assert e.nddot_rev_per_day3 == pytest.approx(sat.nddot * XPDOTP * 1440.0 ** 2, rel=1e-14, abs=1e-30)
    assert abs(e.epoch - sat_epoch_datetime(sat)) <= dt.timedelta(microseconds=1)
    jd, fraction = e.epoch_jd
    assert jd == sat.jdsatepoch and fraction == pytest.approx(sat.jdsatepochF, abs=2e-11)
    assert e.epoch_sgp4_days == pytest.approx(sat.jdsatepoch - 2433281.5 + sat.jdsatepochF, abs=2e-11)
    assert (e.element_set_number, e.rev_number, e.classification) == (sat.elnum, sat.revnum, sat.classification)
    year, rest = e.international_designator[:4], e.international_designator[5:]
    assert (year[2:] + rest if rest else "") == sat.intldesg


@pytest.mark.parametrize("path", [NEAR, DEEP, PUBLIC], ids=lambda p: p.name)
def test_shipped_tle_files_read_as_sgp4_reads_them(path):
    sets = eio.read_elements(path)
    pairs = _pairs(path)
    assert len(sets) == len(pairs) == {NEAR: 5, DEEP: 6, PUBLIC: 19}[path]
    for e, (l1, l2) in zip(sets, pairs):
        _same_as_sgp4(e, l1, l2)
        assert e.epoch.tzinfo is not None and e.epoch.utcoffset() == dt.timedelta(0)
        assert e.source.startswith(f"{path}:")
    assert [e.name for e in sets][:3] == {NEAR: ["", "DELTA 1 DEB", "CBERS 2"],
                                          DEEP: ["MOLNIYA 2-14", "SL-6 R/B(2)", "ARIANE 42P+3 R/B"],
                                          PUBLIC: ["HST", "NOAA 19", "ISS (ZARYA)"]}[path]


@pytest.mark.parametrize("l1, l2", VARIANTS, ids=["iss-day-366", "plus-signs", "leading-blanks", "intl-7"])
def test_real_variants_read_as_sgp4_reads_them(l1, l2):
    (e,) = eio.parse_tle_text(f"{l1}\n{l2}\n")
    _same_as_sgp4(e, l1, l2)


def test_day_366_of_a_common_year_is_next_new_year():
    (e,) = eio.parse_tle_text("\n".join(VARIANTS[0]))
    assert e.epoch == dt.datetime(2020, 1, 1, 19, 42, 47, 134368, tzinfo=UTC)  # sgp4's test_december_32
    assert e.epoch_day == 1.82137887


@pytest.mark.parametrize("yy, year", [("57", 1957), ("99", 1999), ("00", 2000), ("56", 2056)])
def test_two_digit_years(yy, year):
    l1, l2 = CBERS.splitlines()[1:]
    (e,) = eio.parse_tle_text(_fix(l1[:18] + yy + l1[20:]) + "\n" + l2)
    assert e.epoch.year == year and e.epoch.timetuple().tm_yday == 177


@pytest.mark.parametrize("alpha5, number", [("A0000", 100000), ("H9999", 179999), ("J0001", 180001),
                                            ("P1234", 231234), ("Z9999", 339999)])
def test_alpha5_catalog_numbers(alpha5, number):
    l1, l2 = CBERS.splitlines()[1:]
    (e,) = eio.parse_tle_text(_fix(l1[:2] + alpha5 + l1[7:]) + "\n" + _fix(l2[:2] + alpha5 + l2[7:]))
    assert e.catalog_number == number


def test_implied_decimal_fields():
    e = eio.read_elements(DEEP, catalog_numbers=[16925])[0]  # nddot -30915-6
    assert (e.nddot_rev_per_day3, e.bstar_per_earth_radius, e.ndot_rev_per_day2) == (-0.30915e-6, 0.18784e-3,
                                                                                      0.02550794)


@pytest.mark.parametrize("ext", ["json", "kvn", "xml"])
def test_omm_files_give_the_same_elements(ext):
    tle = eio.read_elements(NEAR)
    omm = eio.read_elements(NEAR.with_suffix(f".{ext}"))
    assert omm == tle  # every field, bit for bit; `source` aside
    assert [e.epoch_day for e in omm] == [e.epoch_day for e in tle]
    assert all(e.source.startswith(str(NEAR.with_suffix(f".{ext}"))) for e in omm)


def test_omm_json_is_what_sgp4_reads_too():
    """The shipped JSON initialises sgp4's own OMM reader to the TLE's satellite."""
    for fields, (l1, l2) in zip(json.loads(NEAR.with_suffix(".json").read_text()), _pairs(NEAR)):
        sat, ref = Satrec(), Satrec.twoline2rv(l1, l2)
        sgp4_omm.initialize(sat, {"OBJECT_ID": "0000-000A", **fields})
        assert (sat.inclo, sat.ecco, sat.satnum) == (ref.inclo, ref.ecco, ref.satnum)
        assert sat.no_kozai == pytest.approx(ref.no_kozai, rel=1e-15)  # sgp4 divides differently
        assert sat.jdsatepoch + sat.jdsatepochF == pytest.approx(ref.jdsatepoch + ref.jdsatepochF, abs=1e-9)


def test_files_are_what_make_elements_writes():
    # the generator lives in the source tree only (it is not package data): compare it with
    # the files the source tree ships, and those with the installed package's
    source = Path(__file__).resolve().parent.parent / "plugins" / "data" / "elements"
    spec = importlib.util.spec_from_file_location("make_elements", source / "make_elements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.files().items():
        assert (source / name).read_text() == text, f"{name} is stale: run {source / 'make_elements.py'}"
        assert (DATA / name).read_text() == text, f"the installed {name} differs from the source tree's"


def test_mean_elements_is_frozen_and_checks_its_fields():
    (e,) = eio.parse_tle_text(CBERS)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        e.eccentricity = 0.5
    with pytest.raises(ValueError, match="eccentricity"):
        attrs.evolve(e, eccentricity=1.0)
    with pytest.raises(ValueError, match="epoch"):
        attrs.evolve(e, epoch=dt.datetime(2006, 6, 26))
    assert e.period_min == pytest.approx(1440 / 14.35478080)


# --------------------------------------------------------------------------------------
# malformed input: ElementsError naming file, line or record, and field
# --------------------------------------------------------------------------------------

L0, L1, L2 = CBERS.splitlines()


def _tle(l1=L1, l2=L2, name=L0):
    return "\n".join(x for x in (name, l1, l2) if x is not None) + "\n"


TLE_CASES = {
    "checksum line 2": (_tle(l2=L2[:68] + "7"), 3, "checksum", "got 7; expected 0 (modulo-10 sum of line 2)"),
    "checksum line 1": (_tle(l1=L1[:68] + "0"), 2, "checksum", "expected 6 (modulo-10 sum of line 1)"),
    "truncated line 1": (_tle(l1=L1[:50]), 2, "line length", "got 50 columns"),
    "truncated line 2": (_tle(l2=L2[:60]), 3, "line length", "truncated"),
    "verification columns": (_tle(l2=L2 + "      0.0      2880.0"), 3, "line length", "nothing after the checksum"),
    "shifted column": (_tle(l1=_fix(L1[:17] + " " + L1[17:68])), 2, "epoch year", "columns 19-20"),
    "shifted line 2": (_tle(l2=_fix(L2[:8] + L2[9:17] + " " + L2[17:68])), 3, "inclination", "columns 9-16"),
    "flipped digit": (_tle(l2=L2[:30] + "9" + L2[31:]), 3, "checksum", "modulo-10"),
    "letter in eccentricity": (_tle(l2=_fix(L2[:28] + "x" + L2[29:])), 3, "eccentricity", "7 digits"),
    "catalog mismatch": (_tle(l2=_fix(L2[:2] + "28058" + L2[7:])), 3, "catalog number", "28057 (as on line 1"),
    "bad alpha5": (_tle(l1=_fix(L1[:2] + "I0001" + L1[7:])), 2, "catalog number", "Alpha-5"),
    "exponent": (_tle(l1=_fix(L1[:59] + "x4" + L1[61:])), 2, "bstar", "±NNNNN±N"),
    "ndot": (_tle(l1=_fix(L1[:33] + "0.0000006" + L1[42:])), 2, "ndot", "±.NNNNNNNN"),
    "classification": (_tle(l1=_fix(L1[:7] + "X" + L1[8:])), 2, "classification", "U, C or S"),
    "inclination > 180": (_tle(l2=_fix(L2[:8] + "181.0000" + L2[16:])), 3, "inclination", "[0, 180]"),
    "raan > 360": (_tle(l2=_fix(L2[:17] + "360.0001" + L2[25:])), 3, "raan", "[0, 360]"),
    "mean motion 0": (_tle(l2=_fix(L2[:52] + " 0.00000000" + L2[63:])), 3, "mean motion", "> 0"),
    "epoch day 0": (_tle(l1=_fix(L1[:20] + "000.50000000" + L1[32:])), 2, "epoch day", ">= 1"),
    "epoch day 367": (_tle(l1=_fix(L1[:20] + "367.00000000" + L1[32:])), 2, "epoch day", "< 367"),
    "SGP4-XP": (_tle(l1=_fix(L1[:62] + "4" + L1[63:])), 2, "ephemeris type", "SGP4-XP"),
    "line 2 missing": (_tle(l2=None), 3, "line number", "got end of file"),
    "line 2 not next": (_tle(l2="X" + L2[1:]), 3, "line number", "expected '2'"),
    "line 1 broken": (_tle(l1="X" + L1[1:]), 2, "line number", "expected '1'"),
    "line 1 missing": (_tle(l1=None), 2, "line number", "a set begins with line 1"),
    "two names": (_tle(l1="ANOTHER NAME\n" + L1), 2, "line number", "set named on line 1"),
    "name at end": (CBERS + "0 LONELY\n", 5, "line number", "set named on line 4"),
    "blank line between": (_tle(l2="\n" + L2), 3, "line number", "got a blank line"),
    "tab": (_tle(l1=L1.replace(" ", "\t", 1)), 2, "column 2", "a blank in column 2 of line 1"),
}


@pytest.mark.parametrize("case", sorted(TLE_CASES))
def test_malformed_tle_names_file_line_and_field(case):
    text, line, field, words = TLE_CASES[case]
    with pytest.raises(ElementsError) as info:
        eio.parse_tle_text(text, "sats.tle")
    err = info.value
    assert (err.file, err.line, err.field) == ("sats.tle", line, field), str(err)
    assert str(err).startswith(f"sats.tle, line {line}: field '{field}': got ")
    if words:
        assert words in str(err)


def test_the_checksum_message_reads_as_documented():
    text = "\n" * 11 + _tle(l2=L2[:68] + "7")
    with pytest.raises(ElementsError, match=r"^sats\.tle, line 14: field 'checksum': got 7; expected 0 "
                       r"\(modulo-10 sum of line 2\)$"):
        eio.parse_tle_text(text, "sats.tle")


JSON_RECORDS = json.loads(NEAR.with_suffix(".json").read_text())


def _json(change: dict | None = None, drop: str | None = None, record: int = 2) -> str:
    records = [dict(r) for r in JSON_RECORDS]
    records[record - 1].update(change or {})
    records[record - 1].pop(drop, None)
    return json.dumps(records)


JSON_CASES = {
    "unknown field": (_json({"ECCENTRICTY": 0.1}), "ECCENTRICTY", "did you mean 'ECCENTRICITY'?"),
    "lowercase field": (_json({"epoch": "2006-01-01T00:00:00"}), "epoch", "did you mean 'EPOCH'?"),
    "SGP4-XP": (_json({"MEAN_ELEMENT_THEORY": "SGP4-XP"}), "MEAN_ELEMENT_THEORY", "SGP4-XP propagator"),
    "SGP": (_json({"MEAN_ELEMENT_THEORY": "SGP"}), "MEAN_ELEMENT_THEORY", "expected SGP4"),
    "BTERM": (_json({"BTERM": 0.01}), "BTERM", "SGP4-XP"),
    "frame": (_json({"REF_FRAME": "GCRF"}), "REF_FRAME", "expected TEME"),
    "eccentricity 1": (_json({"ECCENTRICITY": 1.0}), "ECCENTRICITY", "in [0, 1)"),
    "mean motion 0": (_json({"MEAN_MOTION": 0}), "MEAN_MOTION", "> 0"),
    "negative inclination": (_json({"INCLINATION": -0.1}), "INCLINATION", "[0, 180]"),
    "inclination > 180": (_json({"INCLINATION": 180.5}), "INCLINATION", "[0, 180]"),
    "missing epoch": (_json(drop="EPOCH"), "EPOCH", "got nothing"),
    "bad epoch": (_json({"EPOCH": "2006-13-01T00:00:00"}), "EPOCH", "ISO date-time"),
    "text number": (_json({"BSTAR": "1.2.3"}), "BSTAR", "a number"),
    "NaN": (_json({"BSTAR": float("nan")}), "BSTAR", "a finite number"),
    "float catalog": (_json({"NORAD_CAT_ID": 6251.5}), "NORAD_CAT_ID", "a whole number"),
    "nested": (_json({"MEAN_MOTION": [1, 2]}), "MEAN_MOTION", "a number or text"),
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_malformed_omm_json_names_record_and_field(case):
    text, field, words = JSON_CASES[case]
    with pytest.raises(ElementsError) as info:
        eio.parse_omm_json(text, "sats.json")
    err = info.value
    assert (err.file, err.record, err.name, err.field) == ("sats.json", 2, "DELTA 1 DEB", field), str(err)
    assert str(err).startswith(f"sats.json, record 2 (DELTA 1 DEB): field '{field}': got ")
    assert words in str(err)


def test_space_track_json_strings_and_keys_read():
    record = {k: str(v) for k, v in JSON_RECORDS[2].items()}
    record.update(CCSDS_OMM_VERS="2.0", TLE_LINE1="...", PERIOD="100.3", DECAY_DATE=None, CENTER_NAME="EARTH")
    (e,) = eio.parse_omm_json(json.dumps(record))
    assert e == eio.read_elements(NEAR)[2]


KVN = NEAR.with_suffix(".kvn").read_text()
KVN_CASES = {
    "unknown keyword": (KVN.replace("RA_OF_ASC_NODE", "RA_OF_ASC_NOD", 1), 16, "RA_OF_ASC_NOD",
                        "did you mean 'RA_OF_ASC_NODE'?"),
    "wrong unit": (KVN.replace("34.2682 [deg]", "0.598 [rad]", 1), 15, "INCLINATION", "[deg]"),
    "no equals": (KVN.replace("ECCENTRICITY = ", "ECCENTRICITY ", 1), 14, "line", "KEYWORD = value"),
    "twice": (KVN.replace("ECCENTRICITY", "MEAN_ANOMALY", 1), 18, "MEAN_ANOMALY", "line 14 too"),
    "no version": (KVN.split("\n", 1)[1], 1, "CREATION_DATE", "CCSDS_OMM_VERS"),
    "version 1": (KVN.replace("= 2.0", "= 1.0", 1), 1, "CCSDS_OMM_VERS", "2.0 or 3.0"),
    "SGP4-XP": (KVN.replace("= SGP4", "= SGP4-XP", 1), 10, "MEAN_ELEMENT_THEORY", "SGP4-XP"),
    "missing bstar": (KVN.replace("BSTAR = 2.8098e-05 [1/ER]\n", "", 1), 1, "BSTAR", "required"),
}


@pytest.mark.parametrize("case", sorted(KVN_CASES))
def test_malformed_omm_kvn_names_line_and_field(case):
    text, line, field, words = KVN_CASES[case]
    with pytest.raises(ElementsError) as info:
        eio.parse_omm_kvn(text, "sats.kvn")
    err = info.value
    assert (err.file, err.line, err.field) == ("sats.kvn", line, field), str(err)
    assert words in str(err)


XML = NEAR.with_suffix(".xml").read_text()
XML_CASES = {
    "unknown tag": (XML.replace("<ECCENTRICITY>0.0030035</ECCENTRICITY>", "<ECCENTRICTY>0.0030035</ECCENTRICTY>"),
                    2, "ECCENTRICTY", "did you mean 'ECCENTRICITY'?"),
    "unknown container": (XML.replace("meanElements>", "meanElement>", 4), 1, "meanElement", "'meanElements'"),
    "syntax": (XML.replace("</INCLINATION>", "</INCLINATIO>", 1), None, "XML", "well-formed XML"),
    "frame": (XML.replace("<REF_FRAME>TEME", "<REF_FRAME>ITRF", 2), 1, "REF_FRAME", "TEME"),
    "wrong unit": (XML.replace("<INCLINATION>58.0579", '<INCLINATION units="rad">58.0579'), 2, "INCLINATION",
                   "[deg]"),
    "missing": (XML.replace("<MEAN_MOTION>15.56387291</MEAN_MOTION>", ""), 2, "MEAN_MOTION", "required"),
}


@pytest.mark.parametrize("case", sorted(XML_CASES))
def test_malformed_omm_xml_names_record_and_field(case):
    text, record, field, words = XML_CASES[case]
    with pytest.raises(ElementsError) as info:
        eio.parse_omm_xml(text, "sats.xml")
    err = info.value
    assert (err.file, err.field) == ("sats.xml", field), str(err)
    if record is None:
        assert err.line == text[:text.index("</INCLINATIO>")].count("\n") + 1  # the syntax error's line
    else:
        assert err.record == record
    assert words in str(err)


@pytest.mark.parametrize("content, field", [
    (b"", "content"), (b"\n  \n", "content"), (b"\xff\xfe\x00garbage", "encoding"), (b"# only comments\n", "content"),
    (b"OBJECT_NAME,OBJECT_ID,EPOCH\n", "content"), (b"[]", "JSON"), (b"{\"EPOCH\": }", "JSON"),
    (b"<ndm></ndm>", "segment"), (b"<opm/>", "opm"),
])
def test_files_that_hold_no_element_sets(tmp_path, content, field):
    path = tmp_path / "sats.txt"
    path.write_bytes(content)
    with pytest.raises(ElementsError) as info:
        eio.read_elements(path)
    assert info.value.field == field and str(info.value).startswith(str(path))


def test_the_error_pickles_whole():
    with pytest.raises(ElementsError) as info:
        eio.parse_omm_json(JSON_CASES["unknown field"][0], "sats.json")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (str(copy), copy.record, copy.name, copy.field, copy.value) == (
        str(info.value), 2, "DELTA 1 DEB", "ECCENTRICTY", 0.1)


def test_a_missing_file():
    with pytest.raises(ElementsError, match="nowhere.tle: field 'path': got FileNotFoundError"):
        eio.read_elements("nowhere.tle")


# --------------------------------------------------------------------------------------
# filters, duplicates, reference epoch
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("names, numbers, expected", [
    ("cbers*", None, [28057]), (["DELTA*", "sl-12 ?EB"], None, [6251, 29238]), (None, [88888, 5], [5, 88888]),
    ("CBERS 2", [5], [5, 28057]), ("*", None, [5, 6251, 28057, 29238, 88888]), (None, 6251, [6251]),
])
def test_filters(names, numbers, expected):
    for path in (NEAR, NEAR.with_suffix(".json")):
        sets = eio.read_elements(path, names=names, catalog_numbers=numbers)
        assert [e.catalog_number for e in sets] == expected


def test_a_filter_that_matches_nothing_names_it():
    with pytest.raises(ElementsError, match=r"field 'names': got 'CBERS 3'.*closest names: CBERS 2"):
        eio.read_elements(NEAR, names=["CBERS*", "CBERS 3"])
    with pytest.raises(ElementsError, match=r"field 'catalog_numbers': got 25544"):
        eio.read_elements(NEAR, catalog_numbers=[5, 25544])
    with pytest.raises(ElementsError, match=r"field 'names': got no patterns and no catalog numbers"):
        eio.read_elements(NEAR, names=[], catalog_numbers=[])


def test_duplicates_keep_the_latest_epoch_unless_keep_all(tmp_path):
    later = _tle(l1=_fix(L1[:20] + "178.00000000" + L1[32:]), name="0 CBERS 2 (later)")
    path = tmp_path / "history.tle"
    path.write_text(later + CBERS + NEAR.read_text())
    sets = eio.read_elements(path)
    assert [e.catalog_number for e in sets] == [28057, 5, 6251, 29238, 88888]
    assert sets[0].name == "CBERS 2 (later)" and sets[0].source == f"{path}:2"
    assert len(eio.read_elements(path, keep_all=True)) == 7


def test_reference_epoch_years_away_is_refused():
    reference = dt.datetime(2003, 7, 1, tzinfo=UTC)
    assert len(eio.read_elements(NEAR, names="CBERS*", reference=reference)) == 1
    with pytest.raises(ElementsError, match=r"vallado_near_earth.tle, line 12: field 'epoch': got "
                       r"'1980-10-01T23:41:24.113760\+00:00'; expected within 5 years of the reference"):
        eio.read_elements(NEAR, reference=reference)
    with pytest.raises(ElementsError, match=r"kvn, line 113: field 'epoch'"):
        eio.read_elements(NEAR.with_suffix(".kvn"), reference=reference)
    with pytest.raises(ElementsError, match=r"line 10 \(SL-12 DEB\): field 'epoch'"):
        eio.read_elements(NEAR, names="SL-12*", reference=dt.datetime(1985, 1, 1, tzinfo=UTC))
    with pytest.raises(ElementsError, match=r"record 5: field 'epoch'"):
        eio.read_elements(NEAR.with_suffix(".json"), reference=reference)
    assert len(eio.read_elements(NEAR, reference=reference, max_epoch_offset_years=30)) == 5
    with pytest.raises(TypeError, match="timezone-aware"):
        eio.read_elements(NEAR, reference=dt.datetime(2006, 7, 1))


# --------------------------------------------------------------------------------------
# fuzz: whatever the content, only ElementsError escapes
# --------------------------------------------------------------------------------------

TEXTS = {"tle": NEAR.read_text(), "deep": DEEP.read_text(), "json": NEAR.with_suffix(".json").read_text(),
         "kvn": KVN, "xml": XML}
SYMBOLS = st.sampled_from(list("0123456789 .-+\n\r\t<>{}[]=\",:/AEIOUZaez#_") + ["\x00", "é", "\u2028", "𝟙", "١"])
CHARS = st.one_of(SYMBOLS, st.characters())


@st.composite
def mutated(draw, kinds=tuple(TEXTS)):
    text = TEXTS[draw(st.sampled_from(kinds))]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "line", "swap"]))
        if op == "flip":
            text = text[:i] + draw(CHARS) + text[i + 1:]
        elif op == "insert":
            text = text[:i] + draw(st.text(CHARS, min_size=1, max_size=3)) + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 5)):]
        elif op == "truncate":
            text = text[:i]
        else:
            lines = text.split("\n")
            j, k = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
            if op == "line":
                lines.pop(j)
            else:
                lines[j], lines[k] = lines[k], lines[j]
            text = "\n".join(lines)
    return text


def _only_elements_error(parse, content) -> None:
    try:
        sets = parse(content)
    except ElementsError as err:
        assert str(err).startswith("fuzz")
        assert isinstance(err.field, str)
    else:
        assert all(isinstance(e, MeanElements) for e in sets)


# ELEMENTS_FUZZ_EXAMPLES=20000 for a long hunt
FUZZ = settings(max_examples=int(os.environ.get("ELEMENTS_FUZZ_EXAMPLES", 250)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated())
def test_fuzz_mutated_files(text):
    _only_elements_error(lambda t: eio.parse_elements(t, "fuzz"), text)
    _only_elements_error(lambda t: eio.parse_elements(t.encode("utf-8", "surrogatepass"), "fuzz"), text)


@FUZZ
@given(mutated(("tle", "deep")))
def test_fuzz_tle_lines(text):
    _only_elements_error(lambda t: eio.parse_tle_text(t, "fuzz"), text)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data):
    _only_elements_error(lambda d: eio.parse_elements(d, "fuzz"), data)
    _only_elements_error(lambda d: eio.parse_elements(CBERS.encode() + d, "fuzz"), data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from(["", " ", "1e999", "0x10", "1_0", "nan", "2006-06-26T18:52:04", "2006-366T00:00:60",
                       "SGP4", "TEME", "SGP4-XP", "٣", "+.5E-3"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=5)
KEYS = st.sampled_from(sorted(eio.OMM_FIELDS | eio.SPACETRACK_JSON_KEYS)) | st.text(max_size=15)


@st.composite
def perturbed_records(draw):
    records = [dict(r) for r in JSON_RECORDS]
    for _ in range(draw(st.integers(1, 4))):
        record = draw(st.sampled_from(records))
        op = draw(st.sampled_from(["set", "drop", "rename", "add"]))
        key = draw(st.sampled_from(sorted(record)))
        if op == "set":
            record[key] = draw(JSON_VALUES)
        elif op == "drop":
            record.pop(key)
        elif op == "rename":
            record[draw(KEYS)] = record.pop(key)
        else:
            record[draw(KEYS)] = draw(JSON_VALUES)
    return records


@FUZZ
@given(perturbed_records())
def test_fuzz_omm_json_kvn_xml_fields(records):
    _only_elements_error(lambda r: eio.parse_omm_json(json.dumps(r), "fuzz"), records)
    kvn = "".join("CCSDS_OMM_VERS = 2.0\n" + "".join(f"{k} = {v}\n" for k, v in r.items()) for r in records)
    _only_elements_error(lambda t: eio.parse_omm_kvn(t, "fuzz"), kvn)
    _only_elements_error(lambda t: eio.parse_elements(t, "fuzz"), kvn)
    xml = "<ndm>" + "".join("<omm><body><segment><data><meanElements>" + "".join(
        f"<{k}>{v}</{k}>" for k, v in r.items() if str(k).isidentifier() and ">" not in str(v) and "<" not in str(v)
        and "&" not in str(v)) + "</meanElements></data></segment></body></omm>" for r in records) + "</ndm>"
    _only_elements_error(lambda t: eio.parse_omm_xml(t, "fuzz"), xml)
