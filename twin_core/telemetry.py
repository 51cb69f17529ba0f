"""Reading telemetry of real satellites: the long format, matched to a run's satellites
and variables (`read_telemetry`), with errors that name the file, line and column.

Two commands read it: ``orbitwin compare`` (the residuals against a finished run,
`orbitwin_plugins.telemetry`) and ``orbitwin run --from-telemetry`` (the latest values
as the initial state, `twin_core.observed`). The user's guide is ``docs/telemetry.md``.

**Format.** Long form, one measured value per row, CSV with a header line (or Parquet
when pyarrow is installed; orbitwin does not depend on it). Column names are matched
after stripping spaces, case-insensitively; other columns are ignored.

- ``time``: ISO 8601, UTC (``2006-06-27T00:05:00Z``; no zone means UTC, an offset is
  converted), or instead a column ``time_s``: seconds since the run's epoch.
- ``satellite``: the satellite's name (case-insensitive, runs of spaces as one), its
  catalog number (digits), or ``#<index>`` (its index in the run, ``#0`` first).
  A name wins over a catalog number; a name or number that fits two satellites is an
  error naming them.
- ``variable``: a per-satellite store variable (``sat/`` group) of floating-point type,
  vector components as ``name[i]``: ``orbit.r_eci_m[0]`` is x, ``[1]`` y, ``[2]`` z.
- ``value``: a finite number in the store variable's units (``m``, ``1``, ``K``, ``W``:
  `run_view` lists them), or in those of an optional ``units`` column (UDUNITS, e.g.
  ``km``, ``degC``), converted.

A bad row (unparsable time, unknown satellite or variable, not a number) is an error
naming the file, the line (CSV; ``row`` for Parquet), the column, the value and what was
expected, with the closest names where names are expected. Rows outside the run's span
(`RunView.times_s`) are skipped and counted; when no row is left, it is an error.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path
from typing import Any, Iterable

import attrs
import numpy as np

from twin_core.errors import UserError

#: Required columns (``time`` or ``time_s``), and the optional one.
COLUMNS = ("time", "satellite", "variable", "value")
UNITS_COLUMN = "units"
_VAR = re.compile(r"^(?P<base>[A-Za-z_][A-Za-z0-9_.]*?)(?:\[(?P<comp>[^\]]*)\])?$")
_TIME_TOL_S = 1e-6

class TelemetryError(UserError):
    """A telemetry file that cannot be compared: names the file, the line (or row), the
    column, the value and what was expected.

    Attributes:
        path: the telemetry file.
        where: ``"line N"`` (CSV, the header is line 1) or ``"row N"`` (Parquet), or None.
        column: the column, or None.
        value: the offending value, or None.
        expected: what was expected, in words, or None.
    """

    def __init__(self, path: str, problem: str, where: str | None = None, column: str | None = None,
                 value: object = None, expected: str | None = None, more: int = 0):
        self.path, self.where, self.column, self.value, self.expected = path, where, column, value, expected
        text = str(path) + (f", {where}" if where else "") + (f", column '{column}'" if column else "") + ": "
        text += (f"{value!r} " if value is not None else "") + problem
        if expected:
            text += f"; expected {expected}"
        if more:
            text += f" ({more} more row{'s' if more > 1 else ''} like it)"
        super().__init__(text)


# --------------------------------------------------------------------------------------
# The run, as the reader sees it
# --------------------------------------------------------------------------------------

@attrs.frozen
class StoreVariable:
    """A per-satellite store variable: ``components`` 0 for a (time, sat) scalar, 3 for
    a (time, sat, xyz) vector; ``floating`` False for integer codes (not compared)."""

    name: str
    components: int
    units: str
    floating: bool


@attrs.frozen(eq=False)
class RunView:
    """What reading telemetry needs of a run (`run_view`).

    Attributes:
        path: the store, for messages.
        epoch: the run's epoch (ISO 8601, UTC).
        times_s: record times [s since the epoch].
        n_sats: satellites in the run.
        names: each satellite's name ("" for none), or None when the run has none.
        catalog_numbers: each satellite's catalog number (-1 none), or None.
        variables: per-satellite variables by name.
        sat_group: the store's ``sat`` zarr group (read-only).
        propagator: the scenario's ``[orbit] propagator`` (``"j2"`` when it names none).
        span: what ``times_s`` covers, in words, for the error when every row lies
            outside it (``"the run"``).
        known: where ``variables`` come from, in words, for the error naming an unknown
            variable (``"the run recorded"``).
    """

    path: str
    epoch: str
    times_s: np.ndarray
    n_sats: int
    names: tuple[str, ...] | None
    catalog_numbers: np.ndarray | None
    variables: dict[str, StoreVariable]
    sat_group: Any
    propagator: str = "j2"
    span: str = "the run"
    known: str = "the run recorded"

    def sat_label(self, i: int) -> str:
        """``"CBERS 2 (#1, 28057)"``, ``"#1 (28057)"`` or ``"#1"``."""
        extra = [f"#{i}"]
        if self.catalog_numbers is not None and self.catalog_numbers[i] >= 0:
            extra.append(str(int(self.catalog_numbers[i])))
        name = self.names[i] if self.names is not None else ""
        return f"{name} ({', '.join(extra)})" if name else (extra[0] + (f" ({extra[1]})" if len(extra) > 1 else ""))

    def comparable(self) -> list[str]:
        """Every name a telemetry row may give: scalars, and vectors' components."""
        out = []
        for v in self.variables.values():
            if v.floating:
                out += [v.name] if not v.components else [f"{v.name}[{c}]" for c in range(v.components)]
        return sorted(out)


def run_view(root: Any, path: str = "the store") -> RunView:
    """The `RunView` of an open, complete run store (``zarr.Group``)."""
    sat = root["sat"]
    times_s = np.asarray(sat["time"][:], dtype=np.float64) / 1000.0  # int64 ms since the epoch
    n = int(root.attrs["n_sats"])
    names = catalog = None
    keys = set(sat.array_keys())
    if "name" in keys:
        names = tuple(" ".join(str(s).split()) for s in np.asarray(sat["name"][:], dtype=object))
    if "catalog_number" in keys:
        catalog = np.asarray(sat["catalog_number"][:], dtype=np.int64)
    variables = {}
    for name, arr in sat.arrays():
        dims = tuple(arr.metadata.dimension_names or ())
        if dims[:2] != ("time", "sat") or len(dims) not in (2, 3):
            continue
        variables[name] = StoreVariable(name, 0 if len(dims) == 2 else int(arr.shape[2]),
                                        str(arr.attrs.get("units", "")), np.dtype(arr.dtype).kind == "f")
    return RunView(path=path, epoch=str(root.attrs["epoch"]), times_s=times_s, n_sats=n, names=names,
                   catalog_numbers=catalog, variables=variables, sat_group=sat,
                   propagator=_propagator(str(root.attrs.get("scenario", ""))))


def _propagator(scenario_text: str) -> str:
    """The ``[orbit] propagator`` of a store's scenario text (``"j2"``: none, or unreadable)."""
    import tomllib

    try:
        orbit = tomllib.loads(scenario_text).get("orbit", {})
    except tomllib.TOMLDecodeError:
        return "j2"
    value = orbit.get("propagator", "j2") if isinstance(orbit, dict) else "j2"
    return str(value)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

@attrs.frozen(eq=False)
class Telemetry:
    """Telemetry rows matched to a run (`read_telemetry`), in file order.

    Attributes:
        path: the file.
        format: ``"csv"`` or ``"parquet"``.
        sha256: the file's SHA-256 (hex).
        n_rows: data rows read (blank lines left out).
        time_s: each row's time [s since the run's epoch].
        sat: each row's satellite index.
        var: each row's index into ``var_names``.
        var_names: the variables given (``name`` or ``name[i]``), in order of appearance.
        value: each row's value, in the store variable's units.
        line: each row's line in the file (CSV, header = 1) or row (Parquet, first = 1).
        skipped_outside: rows outside the run, left out (not in the arrays above).
        outside_first: the first such row's line and time text, or None.
        converted: ``{variable: "from -> to"}`` for values converted from a units column.
        skipped_after: of the rows outside, those after the run's span (the rest are
            before it).
    """

    path: str
    format: str
    sha256: str
    n_rows: int
    time_s: np.ndarray
    sat: np.ndarray
    var: np.ndarray
    var_names: tuple[str, ...]
    value: np.ndarray
    line: np.ndarray
    skipped_outside: int
    outside_first: tuple[int, str] | None
    converted: dict[str, str]
    skipped_after: int

    @property
    def where_word(self) -> str:
        return "line" if self.format == "csv" else "row"


def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    return "parquet" if suffixes and suffixes[-1] in (".parquet", ".pq") else "csv"


def _read_frame(path: Path, fmt: str) -> Any:
    import importlib.util
    import zlib

    import pandas as pd

    if fmt == "parquet":
        if importlib.util.find_spec("pyarrow") is None:
            raise TelemetryError(str(path), "Parquet telemetry needs pyarrow, which is not installed (orbitwin does "
                                 "not depend on it)", expected="CSV, or pip install pyarrow")
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - any failure here means "not readable Parquet"
            raise TelemetryError(str(path), f"is not readable Parquet ({type(exc).__name__}: {exc})") from None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a line longer than the header
            return pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                               skipinitialspace=True, encoding="utf-8-sig", index_col=False)
    except UnicodeDecodeError as exc:
        raise TelemetryError(str(path), f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except pd.errors.EmptyDataError:
        raise TelemetryError(str(path), "is empty", expected=f"a header line: {','.join(COLUMNS)}") from None
    except (EOFError, OSError, zlib.error) as exc:  # a .gz/.bz2/.xz file cut short or not compressed at all
        raise TelemetryError(str(path), f"is a truncated or corrupt compressed file ({type(exc).__name__}: {exc})",
                             expected="a complete file compressed as its name says, or plain CSV") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        found = _long_line(path)
        if found is None:
            raise TelemetryError(str(path), f"is not readable CSV: {exc}",
                                 expected="comma-separated values, as many in every line as in the header") from None
        line, n, n_head = found
        raise TelemetryError(str(path), f"has {n} fields", where=f"line {line}",
                             expected=f"the header's {n_head} (a comma inside a value needs quotes)") from None


def _long_line(path: Path) -> tuple[int, int, int] | None:
    """The first line with more fields than the header: (line, fields, the header's)."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        head = next(rows, None)
        if head is None:
            return None
        for row in rows:
            if len(row) > len(head):
                return rows.line_num, len(row), len(head)
    return None


def _columns(path: str, frame: Any, fmt: str) -> dict[str, str]:
    """Our column name -> the frame's, checked."""
    header = "line 1" if fmt == "csv" else None
    found = {str(c).strip().lower(): c for c in frame.columns}
    for name in found:  # pandas reads a repeated column 'value' as 'value' and 'value.1'
        base, dot, k = name.rpartition(".")
        if dot and k.isdigit() and base in COLUMNS + ("time_s", UNITS_COLUMN) and base in found:
            raise TelemetryError(path, f"has the column '{base}' more than once", where=header,
                                 expected="each of time, satellite, variable, value (and units) once")
    want = ["satellite", "variable", "value"]
    have_time = [c for c in ("time", "time_s") if c in found]
    if len(have_time) == 2:
        raise TelemetryError(path, "has both a 'time' and a 'time_s' column", where=header,
                             expected="one of them: time (ISO 8601 UTC) or time_s (seconds since the run's epoch)")
    missing = [c for c in want if c not in found] + ([] if have_time else ["time"])
    if missing:
        hints = []
        for m in missing:
            close = difflib.get_close_matches(m, list(found), n=1, cutoff=0.5)
            if close:
                hints.append(f"'{found[close[0]]}' for '{m}'?")
        raise TelemetryError(path, f"has no column{'s' if len(missing) > 1 else ''} "
                             + ", ".join(f"'{m}'" for m in missing) + f" (found: {', '.join(map(str, frame.columns))})"
                             + (f"; {' '.join(hints)}" if hints else ""), where=header,
                             expected="a header line time,satellite,variable,value (or time_s for time)")
    out = {c: found[c] for c in want + have_time}
    if UNITS_COLUMN in found:
        out[UNITS_COLUMN] = found[UNITS_COLUMN]
    return out


def _first_bad(path: str, bad: np.ndarray, lines: np.ndarray, word: str, column: str, values: Any,
               problem: str, expected: str) -> None:
    """A `TelemetryError` for the first row where ``bad`` is set (``values``: the column,
    a pandas Series), counting the others."""
    if bad.any():
        idx = np.flatnonzero(bad)
        i = int(idx[0])
        raise TelemetryError(path, problem, where=f"{word} {int(lines[i])}", column=column,
                             value=str(values.iloc[i]).strip(), expected=expected, more=len(idx) - 1)


def _norm_name(text: str) -> str:
    return " ".join(text.split()).casefold()


def match_satellites(texts: Iterable[str], run: RunView) -> dict[str, int | str]:
    """Each distinct satellite text -> its index, or the reason it matches none (str)."""
    by_name: dict[str, list[int]] = {}
    if run.names is not None:
        for i, n in enumerate(run.names):
            if n:
                by_name.setdefault(_norm_name(n), []).append(i)
    by_cat: dict[int, list[int]] = {}
    if run.catalog_numbers is not None:
        for i, c in enumerate(run.catalog_numbers):
            if c >= 0:
                by_cat.setdefault(int(c), []).append(i)
    out: dict[str, int | str] = {}
    for text in texts:
        t = " ".join(str(text).split())
        hit: list[int] = []
        if t.startswith("#"):
            num = t[1:].strip()
            if num.isdigit() and int(num) < run.n_sats:
                hit = [int(num)]
            else:
                out[text] = (f"is no satellite index (the run has #0 to #{run.n_sats - 1})" if num.isdigit()
                             else "is not an index")
                continue
        elif _norm_name(t) in by_name:
            hit = by_name[_norm_name(t)]
        elif t.isdigit() and int(t) in by_cat:
            hit = by_cat[int(t)]
        if len(hit) == 1:
            out[text] = hit[0]
        elif len(hit) > 1:
            out[text] = ("fits several satellites: " + ", ".join(run.sat_label(i) for i in hit[:6])
                         + "; give the catalog number or #index")
        else:
            if not t:
                out[text] = "is empty"
                continue
            reason = "matches no satellite of the run by name, catalog number or #index"
            names = [n for n in (run.names or ()) if n]
            close = difflib.get_close_matches(_norm_name(t), [_norm_name(n) for n in names], n=3, cutoff=0.5)
            orig = {_norm_name(n): n for n in names}
            if close:
                reason += "; closest names: " + ", ".join(repr(orig[c]) for c in close)
            elif not names:
                reason += ("; the run's satellites have no names (built by orbitwin, not imported)"
                           + ("" if run.catalog_numbers is not None else " nor catalog numbers"))
            if t.isdigit() and run.catalog_numbers is not None:
                reason += "; no satellite of the run has that catalog number"
            out[text] = reason
    return out


def parse_variable(text: str, run: RunView) -> tuple[str, int] | str:
    """``(store name, component)`` (component -1 for a scalar), or why not (str)."""
    t = text.strip()
    m = _VAR.match(t)
    cands = run.comparable()
    close = difflib.get_close_matches(t, cands, n=3, cutoff=0.5)
    closest = ("; closest: " + ", ".join(close)) if close else ""
    if m is None:
        base, comp = t, None
    else:
        base, comp = m.group("base"), m.group("comp")
        if base not in run.variables and base.lower() in run.variables:  # names are matched case-insensitively
            base = base.lower()
    if m is not None and base not in run.variables:  # orbit.r_eci_m.x and the like
        head, _, tail = base.rpartition(".")
        if head in run.variables and run.variables[head].components and tail.lower() in ("x", "y", "z", "0", "1", "2"):
            k = "xyz".index(tail.lower()) if tail.lower() in "xyz" else int(tail)
            return f"is not how a component is written: write {head}[{k}] (x, y, z are [0], [1], [2])"
    if m is None or base not in run.variables:
        return f"is no variable {run.known} per satellite{closest}"
    v = run.variables[base]
    if not v.floating:
        return "is an integer code, not a measured quantity: only floating-point variables are compared"
    if v.components:
        if comp is None:
            return f"is a vector: give one component per row, {base}[0], {base}[1] or {base}[2] (x, y, z)"
        c = comp.strip().lower()
        if c in ("x", "y", "z"):
            return f"is not how a component is written: write {base}[{'xyz'.index(c)}]"
        if not c.isdigit() or int(c) >= v.components:
            return f"has no component [{comp}]: {base} has [0] to [{v.components - 1}]"
        return base, int(c)
    if comp is not None:
        return f"is a scalar: write {base} without a component"
    return base, -1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_telemetry(path: str | Path, run: RunView) -> Telemetry:
    """Read and check the telemetry at ``path`` against ``run`` (module docstring: the
    format and the rules). Raises `TelemetryError` (a `UserError`) for the first problem."""
    import pandas as pd

    p = Path(path)
    ps = str(path)
    if not p.exists():
        raise TelemetryError(ps, "no such file")
    if p.is_dir():
        raise TelemetryError(ps, "is a folder", expected="a CSV or Parquet file of telemetry")
    if not p.is_file():
        raise TelemetryError(ps, "is not a regular file (a pipe, socket or device)",
                             expected="a CSV or Parquet file of telemetry")
    fmt = _file_format(p)
    frame = _read_frame(p, fmt)
    cols = _columns(ps, frame, fmt)
    word = "line" if fmt == "csv" else "row"
    lines_all = np.arange(len(frame), dtype=np.int64) + (2 if fmt == "csv" else 1)
    if fmt == "csv":  # blank lines (every field empty) are left out
        blank = np.array(frame[frame.columns[0]] == "", dtype=bool)
        for c in frame.columns[1:]:
            if not blank.any():
                break
            blank[blank] = (frame[c].to_numpy()[blank] == "")
        if blank.any():
            frame = frame.loc[~blank].reset_index(drop=True)
            lines_all = lines_all[~blank]
    n_rows = len(frame)
    if n_rows == 0:
        raise TelemetryError(ps, "has a header but no rows", expected="one row per measured value")
    lines = lines_all

    # time
    if "time_s" in cols:
        c = cols["time_s"]
        t_s = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
        _first_bad(ps, ~np.isfinite(t_s), lines, word, str(c), frame[c], "is not a number",
                   "seconds since the run's epoch " + run.epoch)
        time_text = None
    else:
        c = cols["time"]
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            stamp = col.dt.tz_localize("UTC") if col.dt.tz is None else col.dt.tz_convert("UTC")
        else:
            text = col.astype(str)
            stamp = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
            retry = stamp.isna().to_numpy()
            if retry.any():  # trailing spaces, say: parse those rows again stripped
                stamp[retry] = pd.to_datetime(text[retry].str.strip(), utc=True, format="ISO8601", errors="coerce")
        epoch = pd.Timestamp(run.epoch)
        epoch = epoch.tz_localize("UTC") if epoch.tz is None else epoch.tz_convert("UTC")
        t_s = (stamp - epoch).dt.total_seconds().to_numpy(dtype=np.float64)
        _first_bad(ps, ~np.isfinite(t_s), lines, word, str(c), col, "is not a time",
                   "ISO 8601 UTC such as 2006-06-27T00:05:00Z (or a column time_s: seconds since the epoch)")
        time_text = col
    t0, t1 = float(run.times_s[0]), float(run.times_s[-1])
    outside = (t_s < t0 - _TIME_TOL_S) | (t_s > t1 + _TIME_TOL_S)
    first_out = None
    if outside.any():
        i = int(np.argmax(outside))
        shown = str(time_text.iloc[i]).strip() if time_text is not None else f"{t_s[i]:g} s"
        first_out = (int(lines[i]), shown)
    n_outside = int(outside.sum())
    n_after = int((t_s > t1 + _TIME_TOL_S).sum())
    if n_outside == n_rows:
        raise TelemetryError(ps, f"every row ({n_rows}) lies outside {run.span}, which covers "
                             f"{_iso(run.epoch, t0)} to {_iso(run.epoch, t1)} UTC (first: {word} {first_out[0]}, "
                             f"{first_out[1]})", expected=f"telemetry of {run.span}")
    keep = ~outside
    sub = frame.loc[keep].reset_index(drop=True) if n_outside else frame
    lines = lines[keep]
    t_s = np.clip(t_s[keep], t0, t1)

    # satellite
    c = cols["satellite"]
    codes, uniques = pd.factorize(sub[c].astype(str))
    matched = match_satellites([str(u) for u in uniques], run)
    sat_of = np.empty(len(uniques), dtype=np.int32)
    for j, u in enumerate(uniques):
        m = matched[str(u)]
        if isinstance(m, str):
            bad = codes == j
            _first_bad(ps, bad, lines, word, str(c), sub[c], m,
                       "a satellite's name, catalog number or #index")
        sat_of[j] = m
    sat = sat_of[codes]

    # variable
    c = cols["variable"]
    vcodes, vuniques = pd.factorize(sub[c].astype(str))
    parsed: list[tuple[str, int]] = []
    for j, u in enumerate(vuniques):
        r = parse_variable(str(u), run)
        if isinstance(r, str):
            _first_bad(ps, vcodes == j, lines, word, str(c), sub[c],
                       r, "a per-satellite variable of the run, e.g. " + ", ".join(run.comparable()[:4]))
        parsed.append(r)
    # one name per (base, component), whatever spelling the file used
    canon = [b if k < 0 else f"{b}[{k}]" for b, k in parsed]
    names = tuple(dict.fromkeys(canon))
    remap = np.array([names.index(n) for n in canon], dtype=np.int32)
    var = remap[vcodes]

    # value
    c = cols["value"]
    value = pd.to_numeric(sub[c], errors="coerce").to_numpy(dtype=np.float64)
    _first_bad(ps, ~np.isfinite(value), lines, word, str(c), sub[c], "is not a finite number",
               "the value in the variable's units (SI, as the store gives them)")

    converted: dict[str, str] = {}
    if UNITS_COLUMN in cols:
        value, converted = _convert_units(ps, sub[cols[UNITS_COLUMN]], var, names, value, lines, word, run,
                                          str(cols[UNITS_COLUMN]))
    return Telemetry(path=ps, format=fmt, sha256=_sha256(p), n_rows=n_rows, time_s=t_s, sat=sat, var=var,
                     var_names=names, value=value, line=lines, skipped_outside=n_outside,
                     outside_first=first_out, converted=converted, skipped_after=n_after)


def _convert_units(path: str, col: Any, var: np.ndarray, names: tuple[str, ...], value: np.ndarray,
                   lines: np.ndarray, word: str, run: RunView, colname: str) -> tuple[np.ndarray, dict[str, str]]:
    import cf_units
    import pandas as pd

    ucodes, uuniques = pd.factorize(col.astype(str).str.strip())
    pair = ucodes.astype(np.int64) * len(names) + var
    out = value.copy()
    converted: dict[str, str] = {}
    for key in np.unique(pair):
        u = str(uuniques[key // len(names)])
        name = names[key % len(names)]
        target = run.variables[_VAR.match(name).group("base")].units
        if u == "" or u == target:
            continue
        rows = pair == key
        i = int(np.argmax(rows))
        try:
            src, dst = cf_units.Unit(u), cf_units.Unit(target)
            ok = src.is_convertible(dst)
        except ValueError:
            ok = False
        if not ok:
            raise TelemetryError(path, f"is not a unit convertible to {name}'s '{target}'", where=f"{word} {lines[i]}",
                                 column=colname, value=u, expected=f"'{target}' or units convertible to it (UDUNITS), "
                                 "or an empty field", more=int(rows.sum()) - 1)
        out[rows] = src.convert(value[rows], dst)
        converted[f"{name} ({u})"] = f"{u} -> {target}"
    return out, converted


def _iso(epoch: str, t_s: float) -> str:
    import datetime as dt

    e = dt.datetime.fromisoformat(epoch.replace("Z", "+00:00"))
    return (e + dt.timedelta(seconds=float(t_s))).strftime("%Y-%m-%dT%H:%M:%S")


__all__ = ["COLUMNS", "UNITS_COLUMN", "RunView", "StoreVariable", "Telemetry", "TelemetryError", "match_satellites",
           "parse_variable", "read_telemetry", "run_view"]
