"""Regenerate the element-set files of this folder from Vallado's SGP4 verification set,
``SGP4-VER.TLE`` in the installed ``sgp4`` package (see README.md)::

    python plugins/data/elements/make_elements.py

Each set is read with `orbitwin_plugins.elements_io` (the three sets of the verification
file whose checksums fail, 33333-33335, are left out), classed with ``sgp4``'s own
near-earth/deep-space choice, and the near-earth ones kept that ``sgp4`` propagates
without error over 7 days at 1-minute steps. The TLE lines are copied as they are, cut
at column 69; the OMM files are written here from the parsed values (floats as Python
writes them, so they read back bit for bit). ``tests/test_elements_io.py`` checks that
the files are what this script writes.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

import attrs
import numpy as np
from sgp4.api import Satrec

from orbitwin_plugins.elements_io import MeanElements, parse_tle_text

HERE = Path(__file__).parent
SOURCE = "SGP4-VER.TLE"
#: Fixed, so that the files regenerate byte for byte.
CREATION_DATE = "2026-12-01T00:00:00"
ORIGINATOR = "orbitwin (from Vallado's SGP4-VER.TLE)"
#: Deep-space sets kept (catalog numbers): 12 h Molniya, near the 225 min boundary,
#: GTO-like, GEO, GPS, high-eccentricity rocket body.
DEEP_SPACE = (8195, 16925, 23599, 24208, 28129, 28623)
WEEK_MIN = 7 * 1440


def verification_sets() -> list[tuple[MeanElements, str, str]]:
    """(elements, line 1, line 2) of every valid set of SGP4-VER.TLE, named from the
    comment lines before it where they name it, first occurrence of each catalog number."""
    text = resources.files("sgp4").joinpath(SOURCE).read_text()
    lines = [line.rstrip("\r") for line in text.split("\n")]
    out, seen, comments = [], set(), []
    for i, line in enumerate(lines):
        if line.startswith("#"):
            comments.append(line)
            continue
        if not line.startswith("1 "):
            comments = []
            continue
        l1, l2 = line[:69], lines[i + 1][:69]
        names = [c[1:].split("#")[0].strip() for c in comments]
        name = next((n for n in names if n and not n.startswith("-")), "")
        comments = []
        try:
            (elements,) = parse_tle_text(f"{l1}\n{l2}\n", SOURCE)
        except ValueError:
            continue  # the checksum-failing synthetic cases
        if elements.catalog_number not in seen:
            seen.add(elements.catalog_number)
            out.append((attrs.evolve(elements, name=name), l1, l2))
    return out


def survives_a_week(l1: str, l2: str) -> bool:
    sat = Satrec.twoline2rv(l1, l2)
    minutes = np.arange(WEEK_MIN + 1, dtype=float)
    jd = np.full_like(minutes, sat.jdsatepoch)
    error, _, _ = sat.sgp4_array(jd, sat.jdsatepochF + minutes / 1440.0)
    return not error.any()


def is_deep_space(l1: str, l2: str) -> bool:
    return Satrec.twoline2rv(l1, l2).method == "d"


def tle_text(sets, zero_prefix: bool) -> str:
    out = []
    for e, l1, l2 in sets:
        if e.name:
            out.append(("0 " if zero_prefix else "") + e.name)
        out += [l1, l2]
    return "\n".join(out) + "\n"


def omm_fields(e: MeanElements) -> dict:
    """The OMM keywords of a set, in CelesTrak's GP JSON order (blank names and ids left
    out, as CelesTrak does for analyst objects)."""
    fields = {"OBJECT_NAME": e.name, "OBJECT_ID": e.international_designator,
              "EPOCH": e.epoch.strftime("%Y-%m-%dT%H:%M:%S.%f"), "MEAN_MOTION": e.mean_motion_rev_per_day,
              "ECCENTRICITY": e.eccentricity, "INCLINATION": e.inclination_deg, "RA_OF_ASC_NODE": e.raan_deg,
              "ARG_OF_PERICENTER": e.argp_deg, "MEAN_ANOMALY": e.mean_anomaly_deg,
              "EPHEMERIS_TYPE": e.ephemeris_type, "CLASSIFICATION_TYPE": e.classification,
              "NORAD_CAT_ID": e.catalog_number, "ELEMENT_SET_NO": e.element_set_number,
              "REV_AT_EPOCH": e.rev_number, "BSTAR": e.bstar_per_earth_radius,
              "MEAN_MOTION_DOT": e.ndot_rev_per_day2, "MEAN_MOTION_DDOT": e.nddot_rev_per_day3}
    return {k: v for k, v in fields.items() if v != ""}


UNITS = {"MEAN_MOTION": "rev/day", "INCLINATION": "deg", "RA_OF_ASC_NODE": "deg", "ARG_OF_PERICENTER": "deg",
         "MEAN_ANOMALY": "deg", "BSTAR": "1/ER", "MEAN_MOTION_DOT": "rev/day**2", "MEAN_MOTION_DDOT": "rev/day**3"}
METADATA = ("OBJECT_NAME", "OBJECT_ID")
MEAN = ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER",
        "MEAN_ANOMALY")
TLE_PARAMETERS = ("EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH",
                  "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT")


def json_text(sets) -> str:
    return json.dumps([omm_fields(e) for e, _, _ in sets], indent=1) + "\n"


def kvn_text(sets) -> str:
    """One CCSDS 502.0-B-2 OMM per set, one after the other; units in brackets."""
    out = []
    for e, _, _ in sets:
        f = omm_fields(e)
        out += ["CCSDS_OMM_VERS = 2.0", f"CREATION_DATE = {CREATION_DATE}", f"ORIGINATOR = {ORIGINATOR}", "",
                f"OBJECT_NAME = {e.name}".rstrip(), f"OBJECT_ID = {e.international_designator}".rstrip(),
                "CENTER_NAME = EARTH",
                "REF_FRAME = TEME", "TIME_SYSTEM = UTC", "MEAN_ELEMENT_THEORY = SGP4", ""]
        for group in (MEAN, TLE_PARAMETERS):
            for key in group:
                unit = f" [{UNITS[key]}]" if key in UNITS else ""
                out.append(f"{key} = {f[key]}{unit}")
            out.append("")
    return "\n".join(out)


def xml_text(sets) -> str:
    """CCSDS NDM/XML (505.0-B-2, OMM 2.0) as CelesTrak serves it: one <omm> per set."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<ndm xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:noNamespaceSchemaLocation="https://sanaregistry.org/r/ndmxml_unqualified/ndmxml-2.0.0-master-2.0.xsd">']
    for e, _, _ in sets:
        f = omm_fields(e)
        meta = {"OBJECT_NAME": e.name, "OBJECT_ID": e.international_designator, "CENTER_NAME": "EARTH",
                "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC", "MEAN_ELEMENT_THEORY": "SGP4"}
        out += ['<omm id="CCSDS_OMM_VERS" version="2.0">',
                f"<header><CREATION_DATE>{CREATION_DATE}</CREATION_DATE>"
                f"<ORIGINATOR>{escape(ORIGINATOR)}</ORIGINATOR></header>", "<body><segment>", "<metadata>"]
        out += [f"<{k}>{escape(v)}</{k}>" if v else f"<{k}/>" for k, v in meta.items()]
        out += ["</metadata>", "<data>", "<meanElements>"]
        out += [f"<{k}>{f[k]}</{k}>" for k in MEAN]
        out += ["</meanElements>", "<tleParameters>"]
        out += [f"<{k}>{f[k]}</{k}>" for k in TLE_PARAMETERS]
        out += ["</tleParameters>", "</data>", "</segment></body>", "</omm>"]
    return "\n".join(out + ["</ndm>"]) + "\n"


def files() -> dict[str, str]:
    """The files of this folder (README.md aside), by name."""
    sets = verification_sets()
    near = [s for s in sets if not is_deep_space(s[1], s[2]) and survives_a_week(s[1], s[2])]
    deep = [s for s in sets if s[0].catalog_number in DEEP_SPACE]
    assert all(is_deep_space(s[1], s[2]) and survives_a_week(s[1], s[2]) for s in deep)
    return {"vallado_near_earth.tle": tle_text(near, zero_prefix=True),
            "vallado_deep_space.tle": tle_text(deep, zero_prefix=False),
            "vallado_near_earth.json": json_text(near),
            "vallado_near_earth.kvn": kvn_text(near),
            "vallado_near_earth.xml": xml_text(near)}


if __name__ == "__main__":
    for name, text in files().items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}", file=sys.stderr)
