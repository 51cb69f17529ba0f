"""Real orbits in: readers of two-line element sets (TLE) and CCSDS Orbit Mean-Elements
Messages (OMM: KVN, XML and the JSON public catalogs serve). Pure Python, no taichi, no
hooks: the constellation builders and the SGP4 propagator take their `MeanElements` from
here.

What the numbers are
--------------------
Every reader yields `MeanElements`: **SGP4 mean elements** in the **TEME** frame (true
equator, mean equinox of the epoch), with the **Kozai** mean motion the TLE format and
OMM ``MEAN_MOTION`` carry. They are neither osculating elements nor Brouwer mean
elements, and J2000 angles typed in from them are wrong by tens of kilometres: only SGP4
(or a stated conversion) may use them. Angles in degrees, mean motion in revolutions per
day, B* in 1/earth radii, the mean-motion derivatives as the TLE prints them (half the
first derivative [rev/day**2], a sixth of the second [rev/day**3]; SGP4 ignores both).
Epochs are UTC, kept twice: a timezone-aware `datetime` (microseconds: every TLE epoch,
eight decimals of a day, is a whole number of microseconds) and the fractional day of
year as a float (the TLE's own figure, or the OMM epoch's to full precision).

Formats
-------
`read_elements` decodes the file as UTF-8 and looks at its first non-blank character and
line: ``<`` is OMM XML (CCSDS 505.0 NDM/XML, ``<ndm>`` or ``<omm>`` root), ``[`` or ``{``
OMM JSON (CelesTrak's GP JSON, Space-Track's GP JSON), a line ``KEYWORD = value``
(``CCSDS_OMM_VERS = 2.0`` first) OMM KVN, anything else TLE. CSV is refused by name.

- **TLE** (CelesTrak, "NORAD Two-Line Element Set Format"): sets of two 69-column lines,
  each optionally after a name line, bare (3-line format) or as ``0 NAME`` (Space-Track
  3LE); blank lines and ``#`` comment lines between sets are skipped. Checked: the line
  numbers, every fixed column (blanks where the format has them, digits, decimal points,
  signs), the modulo-10 checksum of both lines (digits count their value, ``-`` counts 1),
  the same catalog number on both lines, Alpha-5 catalog numbers (``A0000`` = 100000,
  letters I and O unused), the implied-decimal fields ``±NNNNN±N`` (B*, nddot), the epoch
  (two-digit year 57-99 is 19xx, 00-56 is 20xx; day 1.0 is 1 January 0h UTC; day 366 of a
  common year, which real sets carry, is 1 January of the next), inclination in [0, 180],
  the other angles in [0, 360], mean motion > 0, ephemeris type 0, 2 or 3 (blank is 0;
  4, SGP4-XP, is refused: its elements are not SGP4's).
- **OMM** (CCSDS 502.0-B-2 and 502.0-B-3): every field name must be a known OMM keyword
  (the error suggests the closest); ``MEAN_ELEMENT_THEORY``, where given, must be ``SGP4``
  (or ``SGP/SGP4``, the spelling of 502.0-B-2's example); SGP, SGP4-XP, DSST and others are
  refused, and so are the SGP4-XP parameters ``BTERM`` and ``AGOM``. ``CENTER_NAME``,
  ``REF_FRAME`` and ``TIME_SYSTEM``, where given, must be ``EARTH``, ``TEME`` and ``UTC``;
  KVN units in brackets and XML ``units`` attributes must be the standard's. Required:
  ``EPOCH``, ``MEAN_MOTION``, ``ECCENTRICITY``, ``INCLINATION``, ``RA_OF_ASC_NODE``,
  ``ARG_OF_PERICENTER``, ``MEAN_ANOMALY``, ``NORAD_CAT_ID``, ``BSTAR``,
  ``MEAN_MOTION_DOT`` and ``MEAN_MOTION_DDOT``; a missing or blank ``OBJECT_NAME`` or
  ``OBJECT_ID`` (CelesTrak's analyst objects) reads as ``""``, ``EPHEMERIS_TYPE`` 0,
  ``CLASSIFICATION_TYPE`` U, ``ELEMENT_SET_NO`` and ``REV_AT_EPOCH`` 0. Header,
  spacecraft, covariance and ``USER_DEFINED_*`` fields are accepted and ignored; in JSON
  also Space-Track's extra keys (``TLE_LINE1``, ``PERIOD``, ...). KVN files may hold
  several messages, each from its ``CCSDS_OMM_VERS`` line; XML several ``<omm>`` in an
  ``<ndm>``; JSON a list of objects or one object.

Errors
------
Anything wrong raises `ElementsError` (a `ValueError`) naming the file, the line (TLE,
KVN) or the record (XML, JSON: numbered from 1, with the object's name), the field, what
was found and what was expected::

    sats.tle, line 14: field 'checksum': got 7; expected 3 (modulo-10 sum of line 2)

No other exception escapes for any file content (``tests/test_elements_io.py`` fuzzes
every format with hypothesis). The whole file is refused at its first bad set.

Validation
----------
``tests/test_elements_io.py``: every set of the shipped files (``data/elements``, from
Vallado's SGP4 verification set) against ``sgp4.api.Satrec.twoline2rv`` (angles and mean
motion bit for bit, epoch to 1 µs); their OMM JSON, KVN and XML give equal
`MeanElements`; malformed input of every kind names file, line or record and field.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import json
import math
import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

import attrs

from twin_core.validators import SpecValueError, finite, in_range, int_range, one_of, positive

#: How far [years] an element set's epoch may lie from the ``reference`` time given to
#: `read_elements`. SGP4 elements serve days to weeks; five years apart is no longer an
#: old set but a wrong file or a two-digit year read in the wrong century.
EPOCH_TOLERANCE_YEARS = 5.0

UTC = dt.timezone.utc
_SECONDS_PER_DAY = 86400
_JD_OF_ORDINAL_0 = 1721424.5  # Julian date of 0h UTC on date.fromordinal(0) (proleptic Gregorian)
_JD_SGP4_EPOCH0 = 2433281.5   # 1949-12-31 0h UTC, the origin of sgp4init's epoch [days]


class ElementsError(ValueError):
    """An element-set file does not parse or fails a check.

    Attributes:
        file: the file as the caller named it (``"<text>"`` for text).
        line: 1-based line number (TLE, KVN), or None.
        record: 1-based record number (XML, JSON), or None.
        name: the object's name where known, or None.
        field: the field (TLE field, OMM keyword, ``"JSON"``, ``"names"``, ...).
        value: what was found.
        expected: what was expected, in words.
    """

    def __init__(self, file: str, field: str, value: Any, expected: str, *, line: int | None = None,
                 record: int | None = None, name: str | None = None, got: str | None = None):
        self.file, self.field, self.value, self.expected = file, field, value, expected
        self.line, self.record, self.name, self.got = line, record, name, got
        where = [str(file)]
        if line is not None:
            where.append(f"line {line}")
        elif record is not None:
            where.append(f"record {record}")
        if name:
            where[-1] += f" ({name})"
        shown = got if got is not None else _show(value)
        super().__init__(f"{', '.join(where)}: field '{field}': got {shown}; expected {expected}")

    def __reduce__(self):  # pickles whole (dask workers hand errors back)
        return _elements_error, (self.file, self.field, self.value, self.expected, self.line, self.record,
                                 self.name, self.got)


def _elements_error(file, field, value, expected, line, record, name, got) -> ElementsError:
    return ElementsError(file, field, value, expected, line=line, record=record, name=name, got=got)


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _utc(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() != dt.timedelta(0):
        raise SpecValueError(attribute.name, value, "a timezone-aware datetime in UTC")


@attrs.frozen(kw_only=True)
class MeanElements:
    """One element set: SGP4 mean elements in TEME with Kozai mean motion (not osculating,
    not Brouwer), as a TLE or an OMM with ``MEAN_ELEMENT_THEORY = SGP4`` carries them.
    Equality ignores ``source``: the same set read from a TLE and from its OMM is equal.

    Attributes:
        name: object name (TLE name line, OMM OBJECT_NAME); "" if none.
        catalog_number: NORAD catalog number (Alpha-5 decoded).
        international_designator: COSPAR id as in OMM OBJECT_ID (``1958-002B``); "" if none.
        epoch: epoch, timezone-aware UTC, to the microsecond.
        epoch_day: [day] day of year of ``epoch.year`` with its fraction, 1.0 = 1 January
            0h UTC (TLE columns 21-32), at full precision.
        mean_motion_rev_per_day: [rev/day] Kozai mean motion.
        eccentricity: [1] in [0, 1).
        inclination_deg: [deg] to the TEME equator, in [0, 180].
        raan_deg: [deg] right ascension of the ascending node from the TEME x axis.
        argp_deg: [deg] argument of perigee.
        mean_anomaly_deg: [deg] mean anomaly.
        bstar_per_earth_radius: [1/earth radii] SGP4 drag term B*.
        ndot_rev_per_day2: [rev/day**2] first derivative of mean motion over 2 (unused by SGP4).
        nddot_rev_per_day3: [rev/day**3] second derivative of mean motion over 6 (unused by SGP4).
        element_set_number: element set number.
        rev_number: revolution number at epoch.
        classification: U, C or S.
        ephemeris_type: 0 (2 or 3 where a source says SGP4 or SDP4 explicitly).
        source: where it was read, ``"file:line"`` or ``"file:record N"``.
    """

    name: str = ""
    catalog_number: int = attrs.field(validator=int_range(0, 999_999_999))
    international_designator: str = ""
    epoch: dt.datetime = attrs.field(validator=_utc)
    epoch_day: float = attrs.field(validator=in_range(1.0, 367.0, hi_open=True))
    mean_motion_rev_per_day: float = attrs.field(validator=positive)
    eccentricity: float = attrs.field(validator=in_range(0.0, 1.0, hi_open=True))
    inclination_deg: float = attrs.field(validator=in_range(0.0, 180.0))
    raan_deg: float = attrs.field(validator=in_range(0.0, 360.0))
    argp_deg: float = attrs.field(validator=in_range(0.0, 360.0))
    mean_anomaly_deg: float = attrs.field(validator=in_range(0.0, 360.0))
    bstar_per_earth_radius: float = attrs.field(default=0.0, validator=finite)
    ndot_rev_per_day2: float = attrs.field(default=0.0, validator=finite)
    nddot_rev_per_day3: float = attrs.field(default=0.0, validator=finite)
    element_set_number: int = attrs.field(default=0, validator=int_range(0, 9999))
    rev_number: int = attrs.field(default=0, validator=int_range(0, 999_999_999))
    classification: str = attrs.field(default="U", validator=one_of("UCS"))
    ephemeris_type: int = attrs.field(default=0, validator=one_of((0, 2, 3)))
    source: str = attrs.field(default="", eq=False)

    @property
    def period_min(self) -> float:
        """[min] 1440 / Kozai mean motion (SGP4 calls a set deep-space from 225 min of the
        un-Kozai'd period)."""
        return 1440.0 / self.mean_motion_rev_per_day

    @property
    def epoch_jd(self) -> tuple[float, float]:
        """[day] Julian date of the epoch as (0h UTC of its date, fraction of that day), as
        ``sgp4``'s ``jdsatepoch`` and ``jdsatepochF``."""
        whole = math.floor(self.epoch_day)
        jan1 = dt.date(self.epoch.year, 1, 1).toordinal() + _JD_OF_ORDINAL_0
        return jan1 + (whole - 1), self.epoch_day - whole

    @property
    def epoch_sgp4_days(self) -> float:
        """[day] days since 1949-12-31 0h UTC, the ``epoch`` argument of ``sgp4init``."""
        jd, fraction = self.epoch_jd
        return (jd - _JD_SGP4_EPOCH0) + fraction


# --------------------------------------------------------------------------------------
# epochs
# --------------------------------------------------------------------------------------

def _days_in_year(year: int) -> int:
    return 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365


def _epoch(year: int, day: Fraction) -> tuple[dt.datetime, float]:
    """(UTC datetime rounded to the microsecond, float day of year) of day ``day`` (exact,
    1 = 1 January 0h) of ``year``; day 366 of a common year moves to the next year.
    Raises ValueError or OverflowError outside datetime's years."""
    if day >= _days_in_year(year) + 1:
        day -= _days_in_year(year)
        year += 1
    microseconds = round((day - 1) * _SECONDS_PER_DAY * 1_000_000)
    when = dt.datetime(year, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=microseconds)
    return when, float(day)


_ISO = re.compile(r"([0-9]{4})-(?:([0-9]{2})-([0-9]{2})|([0-9]{3}))"
                  r"T([0-9]{2}):([0-9]{2}):([0-9]{2}(?:\.[0-9]*)?)Z?")
_ISO_FORM = "an ISO date-time YYYY-MM-DDThh:mm:ss[.s...] or YYYY-DDDThh:mm:ss[.s...], UTC"


def _omm_epoch(text: str) -> tuple[dt.datetime, float] | None:
    m = _ISO.fullmatch(text)
    if not m:
        return None
    year, month, mday, doy, hour, minute, sec = m.groups()
    seconds = Fraction(sec)
    if int(hour) > 23 or int(minute) > 59 or seconds >= 60:
        return None
    try:
        if doy is not None:
            day = int(doy)
            if not 1 <= day <= _days_in_year(int(year)):
                return None
        else:
            day = dt.date(int(year), int(month), int(mday)).timetuple().tm_yday
        fraction = (int(hour) * 3600 + int(minute) * 60 + seconds) / _SECONDS_PER_DAY
        return _epoch(int(year), day + fraction)
    except (ValueError, OverflowError):
        return None


# --------------------------------------------------------------------------------------
# TLE
# --------------------------------------------------------------------------------------

def _rjust(n: int) -> str:
    """A right-aligned whole number in ``n`` columns (leading blanks, at least one digit)."""
    return "(?:" + "|".join(f" {{{k}}}[0-9]{{{n - k}}}" for k in range(n)) + ")"


_BLANK = (" ", "a blank")
_EXP = r"[ +-][0-9]{5}[+-][0-9]"
_ANGLE = (_rjust(3) + r"\.[0-9]{4}", "NNN.NNNN (degrees)")
# (first column, last column (1-based, inclusive), field, pattern, what it holds)
_LINE1 = [
    (1, 1, "line number", "1", "'1'"), (2, 2, "column 2", *_BLANK),
    (3, 7, "catalog number", f"(?:[A-HJ-NP-Z][0-9]{{4}}|{_rjust(5)})", "5 digits, or Alpha-5 (a letter, 4 digits)"),
    (8, 8, "classification", "[UCS ]", "U, C or S"), (9, 9, "column 9", *_BLANK),
    (10, 17, "international designator", "(?:[0-9]{5}[A-Z]{1,3} *| {8})",
     "YYNNNPPP (launch year, launch number, piece) or blanks"),
    (18, 18, "column 18", *_BLANK), (19, 20, "epoch year", "[0-9]{2}", "two digits"),
    (21, 32, "epoch day", _rjust(3) + r"\.[0-9]{8}", "DDD.DDDDDDDD (day of year)"),
    (33, 33, "column 33", *_BLANK),
    (34, 43, "ndot", r"[ +-]\.[0-9]{8}", "±.NNNNNNNN [rev/day**2]"), (44, 44, "column 44", *_BLANK),
    (45, 52, "nddot", _EXP, "±NNNNN±N (implied decimal point and power of ten) [rev/day**3]"),
    (53, 53, "column 53", *_BLANK),
    (54, 61, "bstar", _EXP, "±NNNNN±N (implied decimal point and power of ten) [1/earth radii]"),
    (62, 62, "column 62", *_BLANK), (63, 63, "ephemeris type", "[0-9 ]", "a digit"),
    (64, 64, "column 64", *_BLANK),
    (65, 68, "element set number", f"(?:{_rjust(4)}| {{4}})", "up to 4 digits"),
    (69, 69, "checksum", "[0-9]", "a digit"),
]
_LINE2 = [
    (1, 1, "line number", "2", "'2'"), (2, 2, "column 2", *_BLANK),
    _LINE1[2], (8, 8, "column 8", *_BLANK),
    (9, 16, "inclination", *_ANGLE), (17, 17, "column 17", *_BLANK),
    (18, 25, "raan", *_ANGLE), (26, 26, "column 26", *_BLANK),
    (27, 33, "eccentricity", "[0-9]{7}", "7 digits (implied leading decimal point)"),
    (34, 34, "column 34", *_BLANK),
    (35, 42, "argument of perigee", *_ANGLE), (43, 43, "column 43", *_BLANK),
    (44, 51, "mean anomaly", *_ANGLE), (52, 52, "column 52", *_BLANK),
    (53, 63, "mean motion", _rjust(2) + r"\.[0-9]{8}", "NN.NNNNNNNN [rev/day]"),
    (64, 68, "revolution number", f"(?:{_rjust(5)}| {{5}})", "up to 5 digits"),
    (69, 69, "checksum", "[0-9]", "a digit"),
]
_LAYOUT = {n: [(a, b, f, re.compile(p), w) for a, b, f, p, w in spec] for n, spec in ((1, _LINE1), (2, _LINE2))}


def _checksum(line: str) -> int:
    return sum(int(c) if c in "0123456789" else c == "-" for c in line[:68]) % 10


def _alpha5(text: str) -> int:
    text = text.strip()
    if text[0].isdigit():
        return int(text)
    letter = ord(text[0]) - ord("A") + 10 - (text[0] > "I") - (text[0] > "O")
    return letter * 10000 + int(text[1:])


def _implied(field: str) -> float:
    """``±NNNNN±N`` = ±0.NNNNN × 10^±N."""
    return float(f"{'-' if field[0] == '-' else ''}0.{field[1:6]}e{field[6:8]}")


def _tle_fields(line: str, number: int, file: str, lineno: int) -> dict[str, str]:
    """Check one line's fixed columns and checksum; its fields by name."""
    fields = {}
    for first, last, field, pattern, what in _LAYOUT[number]:
        cols = f"column {first}" if first == last else f"columns {first}-{last}"
        if last > len(line):
            raise ElementsError(file, "line length", len(line), f"69 columns (line {number} stops inside "
                                f"'{field}', {cols}: truncated?)", line=lineno, got=f"{len(line)} columns")
        text = line[first - 1:last]
        if not pattern.fullmatch(text):
            raise ElementsError(file, field, text, f"{what} in {cols} of line {number}", line=lineno)
        fields[field] = text
    if len(line) > 69:
        raise ElementsError(file, "line length", line[69:], "69 columns (nothing after the checksum "
                            "in column 69)", line=lineno,
                            got=f"{len(line)} columns (from column 70: {line[69:][:20]!r})")
    if int(line[68]) != _checksum(line):
        raise ElementsError(file, "checksum", int(line[68]), f"{_checksum(line)} (modulo-10 sum of "
                            f"line {number})", line=lineno)
    return fields


def _tle_set(name: str, l1: str, l2: str, file: str, n1: int, n2: int) -> MeanElements:
    f1, f2 = _tle_fields(l1, 1, file, n1), _tle_fields(l2, 2, file, n2)

    def bad(field: str, value: Any, expected: str, lineno: int):
        return ElementsError(file, field, value, expected, line=lineno)

    catalog, catalog2 = _alpha5(f1["catalog number"]), _alpha5(f2["catalog number"])
    if catalog != catalog2:
        raise bad("catalog number", catalog2, f"{catalog} (as on line 1, file line {n1})", n2)
    ephemeris = int(f1["ephemeris type"].strip() or 0)
    if ephemeris == 4:
        raise bad("ephemeris type", 4, "0: type 4 marks SGP4-XP elements, which SGP4 cannot use", n1)
    if ephemeris not in (0, 2, 3):
        raise bad("ephemeris type", ephemeris, "0 (SGP4 elements as published; 2 or 3 also read)", n1)
    year = int(f1["epoch year"])
    year += 1900 if year >= 57 else 2000
    day = Fraction(f1["epoch day"].strip())
    if not 1 <= day < 367:
        raise bad("epoch day", f1["epoch day"].strip(), "a day of year >= 1 and < 367", n1)
    epoch, epoch_day = _epoch(year, day)
    intl = f1["international designator"].rstrip()
    if intl:
        launch = int(intl[:2])
        intl = f"{launch + (1900 if launch >= 57 else 2000)}-{intl[2:]}"
    values = {}
    for field, top, key in (("inclination", 180.0, "inclination_deg"), ("raan", 360.0, "raan_deg"),
                            ("argument of perigee", 360.0, "argp_deg"), ("mean anomaly", 360.0, "mean_anomaly_deg")):
        values[key] = float(f2[field])
        if values[key] > top:
            raise bad(field, f2[field].strip(), f"an angle in [0, {top:g}] degrees", n2)
    mean_motion = float(f2["mean motion"])
    if mean_motion <= 0:
        raise bad("mean motion", f2["mean motion"].strip(), "> 0 rev/day", n2)
    return _build(file, dict(
        name=name, catalog_number=catalog, international_designator=intl, epoch=epoch,
        epoch_day=epoch_day, mean_motion_rev_per_day=mean_motion,
        eccentricity=float("0." + f2["eccentricity"]),
        bstar_per_earth_radius=_implied(f1["bstar"]), ndot_rev_per_day2=float(f1["ndot"].strip()),
        nddot_rev_per_day3=_implied(f1["nddot"]), element_set_number=int(f1["element set number"].strip() or 0),
        rev_number=int(f2["revolution number"].strip() or 0), classification=f1["classification"].strip() or "U",
        ephemeris_type=ephemeris, source=f"{file}:{n1}", **values), line=n1)


def _build(file: str, values: dict[str, Any], **where: Any) -> MeanElements:
    try:
        return MeanElements(**values)
    except SpecValueError as exc:  # a check the readers missed: still an ElementsError
        raise ElementsError(file, exc.key, exc.value, exc.expected, **where) from exc


def _is_line(raw: str, number: str) -> bool:
    """Whether a line is TLE line ``number`` (a long line starting with the digit is one,
    broken or not; names are short)."""
    return raw.startswith(number) and (len(raw) == 1 or raw[1] == " " or len(raw) >= 60)


def parse_tle_text(text: str, file: str = "<text>") -> list[MeanElements]:
    """The element sets of TLE text (2-line, 3-line or ``0 NAME`` 3LE; see the module
    docstring for the checks), in file order. Raises `ElementsError`."""
    out: list[MeanElements] = []
    lines = text.split("\n")
    name, name_at = "", None
    i = 0
    while i < len(lines):
        raw, lineno = lines[i].rstrip(" \t\r"), i + 1
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if _is_line(raw, "1"):
            line2 = lines[i].rstrip(" \t\r") if i < len(lines) else None
            if line2 is None or not _is_line(line2, "2"):
                end = line2 is None or (i == len(lines) - 1 and not line2.strip())
                raise ElementsError(file, "line number", line2 and line2[:1], f"'2' (line 2 of the set whose "
                                    f"line 1 is file line {lineno})", line=lineno + 1,
                                    got="end of file" if end else "a blank line" if not line2.strip() else None)
            out.append(_tle_set(name, raw, line2, file, lineno, lineno + 1))
            name, name_at = "", None
            i += 1
        elif _is_line(raw, "2"):
            if name_at is not None and len(lines[name_at - 1].rstrip()) >= 60:  # a broken line 1, not a name
                raise ElementsError(file, "line number", lines[name_at - 1][:1], "'1' (line 1 of a TLE)", line=name_at)
            raise ElementsError(file, "line number", "2", "'1' or a name line (a set begins with line 1)", line=lineno)
        else:
            if name_at is not None:
                raise ElementsError(file, "line number", raw[:1], f"'1' (line 1 of the set named on line "
                                    f"{name_at})", line=lineno)
            name = raw[2:].strip() if raw.startswith("0 ") else raw.strip()
            if not name.isprintable():
                raise ElementsError(file, "name", name, "printable text", line=lineno)
            name_at = lineno
    if name_at is not None:
        raise ElementsError(file, "line number", None, f"'1' (line 1 of the set named on line {name_at})",
                            line=name_at + 1, got="end of file")
    return out


# --------------------------------------------------------------------------------------
# OMM: the keywords of CCSDS 502.0-B-2 and -B-3, one reader of records for all encodings
# --------------------------------------------------------------------------------------

_HEADER = {"CCSDS_OMM_VERS", "COMMENT", "CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID"}
_METADATA = {"OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH", "TIME_SYSTEM",
             "MEAN_ELEMENT_THEORY"}
_MEAN = {"EPOCH", "SEMI_MAJOR_AXIS", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
         "ARG_OF_PERICENTER", "MEAN_ANOMALY", "GM"}
_SPACECRAFT = {"MASS", "SOLAR_RAD_AREA", "SOLAR_RAD_COEFF", "DRAG_AREA", "DRAG_COEFF"}
_TLE_PARAMETERS = {"EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO",
                   "REV_AT_EPOCH", "BSTAR", "BTERM", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT", "AGOM"}
_AXES = ["X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT"]
_COVARIANCE = {"COV_REF_FRAME"} | {f"C{_AXES[i]}_{_AXES[j]}" for i in range(6) for j in range(i + 1)}
OMM_FIELDS = frozenset(_HEADER | _METADATA | _MEAN | _SPACECRAFT | _TLE_PARAMETERS | _COVARIANCE)
#: Keys of Space-Track's GP JSON beyond the OMM's (derived or catalog data; ignored).
SPACETRACK_JSON_KEYS = frozenset({
    "SEMIMAJOR_AXIS", "PERIOD", "APOAPSIS", "PERIAPSIS", "OBJECT_TYPE", "RCS_SIZE", "COUNTRY_CODE",
    "LAUNCH_DATE", "SITE", "DECAY_DATE", "FILE", "GP_ID", "TLE_LINE0", "TLE_LINE1", "TLE_LINE2"})
_XML_CONTAINERS = {"ndm", "omm", "header", "body", "segment", "metadata", "data", "meanElements",
                   "spacecraftParameters", "tleParameters", "covarianceMatrix", "userDefinedParameters"}
_UNITS = {"MEAN_MOTION": "rev/day", "INCLINATION": "deg", "RA_OF_ASC_NODE": "deg", "ARG_OF_PERICENTER": "deg",
          "MEAN_ANOMALY": "deg", "BSTAR": "1/ER", "MEAN_MOTION_DOT": "rev/day**2",
          "MEAN_MOTION_DDOT": "rev/day**3"}
_READ = {"CCSDS_OMM_VERS", "OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM",
         "MEAN_ELEMENT_THEORY", "EPOCH", "EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID",
         "ELEMENT_SET_NO", "REV_AT_EPOCH"} | set(_UNITS)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")
_MUST_BE = {"CENTER_NAME": ("EARTH",), "REF_FRAME": ("TEME",), "TIME_SYSTEM": ("UTC",),
            "CCSDS_OMM_VERS": ("2.0", "3.0"), "CLASSIFICATION_TYPE": ("U", "C", "S")}


@attrs.frozen
class _Value:
    value: Any            # str (KVN, XML), any JSON value
    unit: str | None = None
    line: int | None = None


def _unknown(file: str, key: str, value: Any, known: Iterable[str], **where: Any) -> ElementsError:
    names = sorted(known)
    upper = {k.upper(): k for k in names}
    close = difflib.get_close_matches(key.upper(), list(upper), n=1, cutoff=0.6)
    hint = f" (did you mean '{upper[close[0]]}'?)" if close else ""
    return ElementsError(file, key, value, f"a CCSDS OMM field{hint}", **where)


def _omm_record(fields: dict[str, _Value], file: str, *, record: int, line: int | None = None) -> MeanElements:
    """One OMM's `MeanElements` from its fields by keyword (all already known keywords)."""
    name_value = fields.get("OBJECT_NAME")
    name = name_value.value.strip() or None if name_value and isinstance(name_value.value, str) else None

    def fail(key: str, value: Any, expected: str, at: int | None = None, **kw: Any) -> ElementsError:
        where = dict(line=at) if at is not None else dict(line=line, record=record, name=name)
        return ElementsError(file, key, value, expected, **where, **kw)

    def get(key: str, kind: str, required: bool = True) -> Any:
        item = fields.get(key)
        if item is None or item.value is None or (isinstance(item.value, str) and not item.value.strip()):
            if required:
                raise fail(key, None, f"{kind} (the field is required for SGP4)")
            return None
        raw, at = item.value, item.line
        if item.unit is not None and item.unit.lower() != _UNITS.get(key, "").lower():
            raise fail(key, f"[{item.unit}]", f"[{_UNITS[key]}]" if key in _UNITS else "no unit", at)
        text = raw.strip() if isinstance(raw, str) else None
        if kind == "text":
            if text is None:
                raise fail(key, raw, "text", at)
            return text
        if kind == "integer":
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            if text is not None and _INTEGER.fullmatch(text):
                return int(text)
            raise fail(key, raw, "a whole number", at)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = raw
        elif text is not None and _NUMBER.fullmatch(text):
            number = text
        else:
            raise fail(key, raw, "a number", at)
        try:
            number = float(number)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise fail(key, raw, "a finite number", at)
        return number

    def check(key: str, value: Any, ok: bool, expected: str) -> Any:
        if not ok:
            raise fail(key, value, expected, fields[key].line)
        return value

    for key, allowed in _MUST_BE.items():
        raw = fields[key].value if key in fields else None
        if key == "CCSDS_OMM_VERS" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            value = str(raw)  # Space-Track's JSON: "2.0"; a JSON number 2.0 reads the same
        else:
            value = get(key, "text", required=False)
        if value is not None:
            check(key, value, value.upper() in allowed, " or ".join(allowed))
    theory = get("MEAN_ELEMENT_THEORY", "text", required=False)
    if theory is not None and theory.upper() not in ("SGP4", "SGP/SGP4"):
        raise fail("MEAN_ELEMENT_THEORY", theory, "SGP4: only SGP4 mean elements are read ("
                   + ("SGP4-XP elements need the SGP4-XP propagator" if "XP" in theory.upper()
                      else "other theories' elements mean other things") + ")", fields["MEAN_ELEMENT_THEORY"].line)
    for key in ("BTERM", "AGOM"):
        if key in fields:
            raise fail(key, fields[key].value, "BSTAR and MEAN_MOTION_DDOT: BTERM and AGOM are SGP4-XP "
                       "parameters", fields[key].line)
    epoch_text = get("EPOCH", "text")
    parsed = _omm_epoch(epoch_text)
    if parsed is None:
        raise fail("EPOCH", epoch_text, _ISO_FORM, fields["EPOCH"].line)
    epoch, epoch_day = parsed
    values = dict(
        name=name or "", international_designator=get("OBJECT_ID", "text", False) or "",
        epoch=epoch, epoch_day=epoch_day, source=f"{file}:{line}" if line is not None else f"{file}:record {record}")
    if "SEMI_MAJOR_AXIS" in fields and "MEAN_MOTION" not in fields:
        raise fail("MEAN_MOTION", None, "MEAN_MOTION (SGP4 elements give the mean motion, not SEMI_MAJOR_AXIS)")
    for key, attr, ok, expected in (
            ("MEAN_MOTION", "mean_motion_rev_per_day", lambda v: v > 0, "> 0 rev/day"),
            ("ECCENTRICITY", "eccentricity", lambda v: 0 <= v < 1, "in [0, 1)"),
            ("INCLINATION", "inclination_deg", lambda v: 0 <= v <= 180, "in [0, 180] degrees"),
            ("RA_OF_ASC_NODE", "raan_deg", lambda v: 0 <= v <= 360, "in [0, 360] degrees"),
            ("ARG_OF_PERICENTER", "argp_deg", lambda v: 0 <= v <= 360, "in [0, 360] degrees"),
            ("MEAN_ANOMALY", "mean_anomaly_deg", lambda v: 0 <= v <= 360, "in [0, 360] degrees")):
        v = get(key, "a number")
        values[attr] = check(key, v, ok(v), expected)
    for key, attr in (("BSTAR", "bstar_per_earth_radius"), ("MEAN_MOTION_DOT", "ndot_rev_per_day2"),
                      ("MEAN_MOTION_DDOT", "nddot_rev_per_day3")):
        values[attr] = get(key, "a number")
    for key, attr, lo, hi, default in (("NORAD_CAT_ID", "catalog_number", 0, 999_999_999, None),
                                       ("ELEMENT_SET_NO", "element_set_number", 0, 9999, 0),
                                       ("REV_AT_EPOCH", "rev_number", 0, 999_999_999, 0)):
        v = get(key, "integer", required=default is None)
        values[attr] = default if v is None else check(key, v, lo <= v <= hi, f"a whole number in [{lo}, {hi}]")
    ephemeris = get("EPHEMERIS_TYPE", "integer", required=False)
    if ephemeris is not None:
        check("EPHEMERIS_TYPE", ephemeris, ephemeris in (0, 2, 3),
              "0 (4 marks SGP4-XP elements, which SGP4 cannot use)" if ephemeris == 4 else "0 (SGP4; 2, 3 also read)")
    values["ephemeris_type"] = ephemeris or 0
    values["classification"] = (get("CLASSIFICATION_TYPE", "text", False) or "U").upper()
    return _build(file, values, line=line, record=record, name=name)


def parse_omm_kvn(text: str, file: str = "<text>") -> list[MeanElements]:
    """The element sets of OMM KVN text: one or more messages, each from its
    ``CCSDS_OMM_VERS = ...`` line; ``KEYWORD = value [unit]`` lines, ``COMMENT`` lines
    and blank lines. Raises `ElementsError` naming the line."""
    records: list[tuple[int, dict[str, _Value]]] = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        s = raw.strip()
        if not s or s == "COMMENT" or s.startswith(("COMMENT ", "COMMENT\t", "COMMENT=")):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_]+)[ \t]*=[ \t]*(.*)", s)
        if not m:
            raise ElementsError(file, "line", s, "KEYWORD = value (KVN), or a COMMENT line", line=lineno)
        key, value = m.groups()
        if key == "CCSDS_OMM_VERS":
            records.append((lineno, {}))
        elif key not in OMM_FIELDS and not key.startswith("USER_DEFINED_"):
            raise _unknown(file, key, value, OMM_FIELDS, line=lineno)
        elif not records:
            raise ElementsError(file, key, value, "CCSDS_OMM_VERS = 2.0 or 3.0 before any other field", line=lineno)
        fields = records[-1][1]
        if key in fields and key != "COMMENT":
            raise ElementsError(file, key, value, f"one {key} per message (given on line {fields[key].line} too)",
                                line=lineno)
        unit = None
        m = re.fullmatch(r"(.*?)[ \t]*\[([^\[\]]*)\]", value)
        if m and _NUMBER.fullmatch(m.group(1)):  # a unit follows numbers only: names may hold brackets
            value, unit = m.groups()
        fields[key] = _Value(value, unit, lineno)
    if not records:
        raise ElementsError(file, "CCSDS_OMM_VERS", None, "a KVN OMM (CCSDS_OMM_VERS = 2.0 or 3.0 first)", line=1)
    return [_omm_record(fields, file, record=n, line=start) for n, (start, fields) in enumerate(records, 1)]


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def parse_omm_xml(text: str, file: str = "<text>") -> list[MeanElements]:
    """The element sets of OMM XML (CCSDS NDM/XML): an ``<omm>`` root or several in an
    ``<ndm>``; each ``<segment>`` is one record. Namespaces are ignored. Raises
    `ElementsError` naming the record (XML line numbers only for syntax errors)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ElementsError(file, "XML", str(exc), "well-formed XML", line=exc.position[0]) from None
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise ElementsError(file, "XML", str(exc), "well-formed XML") from None
    known = OMM_FIELDS | _XML_CONTAINERS | {"USER_DEFINED"}
    if _tag(root) == "ndm":
        messages = [e for e in root if _tag(e) not in ("COMMENT", "MESSAGE_ID")]
    else:
        messages = [root]
    out: list[MeanElements] = []
    record = 0
    for message in messages:
        if _tag(message) != "omm":
            raise _unknown(file, _tag(message), None, {"omm"}, record=record + 1)
        version = message.get("version")
        header: dict[str, _Value] = {} if version is None else {"CCSDS_OMM_VERS": _Value(version)}
        segments = []
        for part in message:
            if _tag(part) == "header":
                segments.append(("header", part))
            elif _tag(part) == "body":
                segments.extend(("segment", s) for s in part)
            else:
                raise _unknown(file, _tag(part), None, {"header", "body"}, record=record + 1)
        for kind, element in segments:
            if kind == "segment" and _tag(element) != "segment":
                raise _unknown(file, _tag(element), None, {"segment"}, record=record + 1)
            fields = dict(header) if kind == "segment" else header
            if kind == "segment":
                record += 1
            name = next((e.text.strip() for e in element.iter() if _tag(e) == "OBJECT_NAME" and e.text), None)
            where = dict(record=max(record, 1), name=name)
            stack = list(element)
            while stack:
                leaf = stack.pop(0)
                tag = _tag(leaf)
                if tag in _XML_CONTAINERS:
                    stack[:0] = list(leaf)
                    continue
                if tag not in known:
                    raise _unknown(file, tag, (leaf.text or "").strip(), known, **where)
                if len(leaf):
                    raise ElementsError(file, tag, f"<{_tag(leaf[0])}>", "a value, not nested elements", **where)
                if tag in ("COMMENT", "USER_DEFINED"):
                    continue
                if tag in fields and fields is not header:
                    raise ElementsError(file, tag, (leaf.text or "").strip(), f"one {tag} per message", **where)
                fields[tag] = _Value((leaf.text or "").strip(), leaf.get("units"))
            if kind == "segment":
                out.append(_omm_record(fields, file, record=record))
    if not out:
        raise ElementsError(file, "segment", None, "at least one <omm> with a <segment>", record=1)
    return out


class _Pairs(list):
    """A JSON object as its (key, value) pairs, duplicates kept."""


def parse_omm_json(text: str, file: str = "<text>") -> list[MeanElements]:
    """The element sets of OMM JSON as CelesTrak and Space-Track serve it: a list of
    objects keyed by OMM keywords (numbers as JSON numbers or strings), or one object.
    Raises `ElementsError` naming the record."""
    try:
        data = json.loads(text, object_pairs_hook=_Pairs)
    except ValueError as exc:  # JSONDecodeError, and ints past Python's digit limit
        raise ElementsError(file, "JSON", getattr(exc, "msg", str(exc)), "valid JSON",
                            line=getattr(exc, "lineno", None)) from None
    except RecursionError:
        raise ElementsError(file, "JSON", "nesting too deep", "a list of OMM objects") from None
    records = [data] if isinstance(data, _Pairs) else data
    if not isinstance(records, list):
        raise ElementsError(file, "JSON", type(data).__name__, "a list of OMM objects", record=1)
    out = []
    known = OMM_FIELDS | SPACETRACK_JSON_KEYS
    for n, pairs in enumerate(records, 1):
        if not isinstance(pairs, _Pairs):
            raise ElementsError(file, "record", type(pairs).__name__, "a JSON object of OMM fields", record=n)
        fields: dict[str, _Value] = {}
        name = next((v for k, v in pairs if k == "OBJECT_NAME" and isinstance(v, str)), None)
        for key, value in pairs:
            if key not in known and not key.startswith("USER_DEFINED_"):
                raise _unknown(file, key, value if not isinstance(value, list) else "[...]", known,
                               record=n, name=name)
            if key in fields:
                raise ElementsError(file, key, value, f"one {key} per object", record=n, name=name)
            if isinstance(value, list):  # objects are _Pairs, a list too
                if key in _READ:
                    raise ElementsError(file, key, "[...]", "a number or text", record=n, name=name)
                value = None
            fields[key] = _Value(value)
        out.append(_omm_record(fields, file, record=n))
    return out


# --------------------------------------------------------------------------------------
# files: format detection, filters, duplicates
# --------------------------------------------------------------------------------------

def format_of(text: str) -> str:
    """The format of an element-set file's text, told from its first non-blank line:
    ``"omm-xml"`` (starts with ``<``), ``"omm-json"`` (``[`` or ``{``), ``"omm-kvn"``
    (``KEYWORD = value`` or ``COMMENT``), otherwise ``"tle"``."""
    first = next((s.strip() for s in text.lstrip("\ufeff").split("\n") if s.strip()), "")
    if first.startswith("<"):
        return "omm-xml"
    if first.startswith(("[", "{")):
        return "omm-json"
    if re.match(r"[A-Za-z0-9_]+[ \t]*=", first) or first.startswith("COMMENT"):
        return "omm-kvn"
    return "tle"


def parse_elements(data: str | bytes, file: str = "<text>") -> list[MeanElements]:
    """The element sets of a file's content, the format told from it (see the module
    docstring): XML if it starts with ``<``, JSON with ``[`` or ``{``, KVN if its first line
    is ``KEYWORD = value``, otherwise TLE. Bytes must be UTF-8. Raises `ElementsError`."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ElementsError(file, "encoding", f"byte 0x{data[exc.start]:02x} at offset {exc.start}",
                                "UTF-8 text", line=data.count(b"\n", 0, exc.start) + 1) from None
    text = data.lstrip("\ufeff")
    first = next((s.strip() for s in text.split("\n") if s.strip()), "")
    if not first:
        raise ElementsError(file, "content", None, "TLE, or OMM as KVN, XML or JSON", got="an empty file")
    fmt = format_of(text)
    if fmt == "omm-xml":
        return parse_omm_xml(text, file)
    if fmt == "omm-json":
        sets = parse_omm_json(text, file)
        if not sets:
            raise ElementsError(file, "JSON", "[]", "at least one element set", record=1)
        return sets
    if fmt == "omm-kvn":
        return parse_omm_kvn(text, file)
    if first.upper().startswith("OBJECT_NAME,") or first.upper().startswith("CCSDS_OMM_VERS,"):
        raise ElementsError(file, "content", first, "TLE, or OMM as KVN, XML or JSON (OMM CSV is not "
                            "read: ask the catalog for JSON)", line=1)
    sets = parse_tle_text(text, file)
    if not sets:
        raise ElementsError(file, "content", None, "at least one element set", got="none")
    return sets


def read_elements(path: str | Path, *, names: str | Iterable[str] | None = None,
                  catalog_numbers: int | Iterable[int] | None = None, reference: dt.datetime | None = None,
                  keep_all: bool = False, max_epoch_offset_years: float = EPOCH_TOLERANCE_YEARS,
                  ) -> list[MeanElements]:
    """The element sets of a TLE or OMM (KVN, XML, JSON) file, its format told from its
    content (`parse_elements`), in file order.

    Args:
        path: the file; errors name it as given.
        names: fnmatch patterns (``"STARLINK-*"``), matched to the names case-insensitively.
        catalog_numbers: NORAD catalog numbers. With ``names``, a set is kept if it matches
            either; a pattern or number that matches no set is an error, naming it.
        reference: a timezone-aware time; an epoch more than ``max_epoch_offset_years``
            [years of 365.25 days] before or after it is an error.
        keep_all: keep every set of a catalog number; by default only its latest epoch (the
            later in the file on a tie), as a catalog with history holds several.
    Raises:
        ElementsError: the file cannot be read or parsed, a filter matches nothing, or an
            epoch is too far from ``reference``.
        TypeError: ``reference`` is naive.
    """
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ElementsError(file, "path", file, "a readable file", got=f"{type(exc).__name__}: "
                            f"{exc.strerror or exc}") from None
    sets = parse_elements(data, file)
    if names is not None or catalog_numbers is not None:
        patterns = [names] if isinstance(names, str) else list(names or [])
        numbers = [catalog_numbers] if isinstance(catalog_numbers, int) else [int(n) for n in catalog_numbers or []]
        upper = [s.name.upper() for s in sets]
        # exact names by lookup, wildcard patterns as one compiled expression each: a list
        # of thousands of names stays quick
        exact = {p.upper() for p in patterns if not any(c in p for c in "*?[")}
        wild = [re.compile(fnmatch.translate(p.upper())) for p in patterns if any(c in p for c in "*?[")]
        wanted = set(numbers)
        hit = [u in exact or s.catalog_number in wanted or any(w.match(u) for w in wild)
               for u, s in zip(upper, sets)]
        present = set(upper)
        unmatched = [p for p in patterns if (p.upper() not in present if not any(c in p for c in "*?[")
                                             else not any(re.compile(fnmatch.translate(p.upper())).match(u)
                                                          for u in present))]
        if unmatched:
            close = difflib.get_close_matches(unmatched[0].upper(), sorted(present), n=3)
            hint = f"; closest names: {', '.join(close)}" if close else ""
            raise ElementsError(file, "names", unmatched[:5], f"patterns that match names of the {len(sets)} "
                                f"element sets (each pattern must match, whatever catalog_numbers selects)"
                                f"{hint}", got=_listed(unmatched, repr))
        missing = sorted(wanted - {s.catalog_number for s in sets})
        if missing:
            raise ElementsError(file, "catalog_numbers", missing[:5], f"catalog numbers of the {len(sets)} "
                                "element sets in the file", got=_listed(missing, str))
        if not any(hit):  # empty filters
            raise ElementsError(file, "names", patterns, "a filter that selects element sets", got="no patterns "
                                "and no catalog numbers")
        sets = [s for s, keep in zip(sets, hit) if keep]
    if not keep_all:
        latest: dict[int, int] = {}
        for i, s in enumerate(sets):
            j = latest.get(s.catalog_number)
            if j is None or s.epoch >= sets[j].epoch:
                latest[s.catalog_number] = i
        sets = [s for i, s in enumerate(sets) if latest[s.catalog_number] == i]
    if reference is not None:
        if reference.utcoffset() is None:
            raise TypeError("reference must be a timezone-aware datetime")
        limit = dt.timedelta(days=365.25 * max_epoch_offset_years)
        for s in sets:
            if abs(s.epoch - reference) > limit:
                line, record = _where(s.source)
                raise ElementsError(file, "epoch", s.epoch.isoformat(), f"within {max_epoch_offset_years:g} "
                                    f"years of the reference {reference.isoformat()}", line=line,
                                    record=record, name=s.name)
    return sets


def _listed(items: list, show: Any, most: int = 5) -> str:
    """``a, b, c`` for a few items, ``a, b, c, d, e and 7 more`` for many."""
    head = ", ".join(show(x) for x in items[:most])
    return head + (f" and {len(items) - most} more" if len(items) > most else "")


def _where(source: str) -> tuple[int | None, int | None]:
    """(line, record) from a `MeanElements.source`."""
    tail = source.rsplit(":", 1)[-1]
    if tail.startswith("record "):
        return None, int(tail[7:])
    return (int(tail), None) if tail.isdigit() else (None, None)
