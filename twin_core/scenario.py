"""Scenario files: TOML read with tomllib, structured into frozen attrs classes by cattrs.

The core owns two tables, ``[scenario]`` (epoch, duration, step, recording) and
``[output]`` (what to record, chunking); every other table belongs to the plugin that
declared it in ``orbitwin_config_sections``. Every mistake becomes one `ScenarioError`
naming the file, the key path, the value and what was expected, with the closest spelling
for an unknown key. Scenario files are data: nothing in them is ever executed.
"""

from __future__ import annotations

import contextvars

import datetime as _dt
import difflib
import math
import tomllib
from pathlib import Path
from typing import Any, Iterator

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from twin_core.errors import ScenarioError
from twin_core.validators import SpecValueError, int_range, non_negative, positive

CORE_SECTIONS = ("scenario", "output")
#: Most steps one run may take (a year at 3 ms); beyond it is a typo, not a study.
MAX_STEPS = 1e10

#: Times a store can hold. Its time coordinate is int64 milliseconds since the epoch in
#: the proleptic Gregorian calendar (CF conventions, `twin_core.store`), and xarray
#: decodes it to numpy datetime64[ns], which spans 2^63 ns either side of 1970:
#: 1677-09-21T00:12:43 to 2262-04-11T23:47:16. Outside that, ``xarray.open_zarr`` fails
#: ("unable to decode time units") unless cftime is installed, so a run is refused there;
#: these bounds are whole days inside the span.
STORE_TIME_MIN = _dt.datetime(1677, 9, 22, tzinfo=_dt.timezone.utc)
STORE_TIME_MAX = _dt.datetime(2262, 4, 11, tzinfo=_dt.timezone.utc)
_STORE_TIME_WHY = ("the store's time coordinate, int64 ms since the epoch, decodes in xarray to datetime64[ns], "
                   "which spans 1677-09-21 to 2262-04-11")
_EPOCH_HELP = "an ISO 8601 UTC time such as 2026-03-20T00:00:00Z"
_EPOCH_RANGE = f"a time from {STORE_TIME_MIN:%Y-%m-%d} to {STORE_TIME_MAX:%Y-%m-%d} UTC ({_STORE_TIME_WHY})"


def _parse_epoch(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SpecValueError("epoch", value, _EPOCH_HELP) from None
    else:
        raise SpecValueError("epoch", value, _EPOCH_HELP)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    try:
        dt = dt.astimezone(_dt.timezone.utc)
    except OverflowError:  # year 1 or 9999 shifted past datetime's range by its UTC offset
        raise SpecValueError("epoch", value, _EPOCH_RANGE) from None
    if not STORE_TIME_MIN <= dt <= STORE_TIME_MAX:
        raise SpecValueError("epoch", value if isinstance(value, str) else dt.isoformat(), _EPOCH_RANGE)
    return dt


#: Default longest interval between two evaluations of the coupling stages [s]: links
#: and cluster geometry change little in a minute (a LEO satellite moves ~450 km, a
#: +grid neighbour's range by well under 1 %), and the issue that introduced them asks
#: for at most 60 s.
COUPLING_DEFAULT_S = 60.0


@attrs.frozen
class RunSpec:
    """Table ``[scenario]``: what period is simulated and how finely.

    Attributes:
        epoch: start of the run, UTC (TOML date-time or ISO string). The run lies within
            1677-09-22 to 2262-04-11, what the store's time coordinate can hold; a model
            stated for a narrower range (the Sun's, 1950-2050) warns outside it.
        duration_h / duration_days: length of the run; give exactly one.
        step_s: integration step [s]. Orbit and shadow are exact at every step; the
            battery and thermal node integrate with this step.
        record_every_s: interval between recorded samples [s]; a whole multiple of
            ``step_s``, and the duration a whole multiple of it.
        coupling_every_s: how often values that join satellites (links, a cluster's
            separations: stages with ``phase = "coupling"``, `twin_core.axes`) are
            evaluated [s]; a whole multiple of ``step_s`` that divides
            ``record_every_s``. Default: the longest such interval up to
            `COUPLING_DEFAULT_S` (60 s). Step stages read coupled values as of the last
            evaluation: a lag of at most this interval. Longer intervals are allowed when
            set: a multi-year study in which links and a cluster's separations are only
            watched (or change slowly) sets hours, and each pass costs a few kernel
            launches (docs/performance.md, "Long runs").
        name, description: free text copied into the output.
        seed: seed for any random choice a plugin makes (recorded in the output).
    """

    epoch: _dt.datetime = attrs.field(converter=_parse_epoch)
    step_s: float = attrs.field(validator=positive)
    record_every_s: float = attrs.field(validator=positive)
    duration_h: float | None = attrs.field(default=None, validator=attrs.validators.optional(positive))
    duration_days: float | None = attrs.field(default=None, validator=attrs.validators.optional(positive))
    name: str = ""
    description: str = ""
    seed: int = attrs.field(default=0, validator=int_range(0, 2**63 - 1))
    coupling_every_s: float | None = attrs.field(default=None, validator=attrs.validators.optional(positive))

    def __attrs_post_init__(self) -> None:
        if (self.duration_h is None) == (self.duration_days is None):
            raise SpecValueError("duration_h", self.duration_h, "exactly one of 'duration_h' or 'duration_days'")
        ratio = self.record_every_s / self.step_s
        if abs(ratio - round(ratio)) > 1e-9 * ratio or round(ratio) < 1:
            raise SpecValueError("record_every_s", self.record_every_s,
                                 f"a whole multiple of step_s = {self.step_s:g}")
        n = self.duration_s / self.record_every_s
        if self.duration_s / self.step_s > MAX_STEPS:
            key = "duration_h" if self.duration_h is not None else "duration_days"
            raise SpecValueError(key, self.duration_h if self.duration_h is not None else self.duration_days,
                                 f"at most {MAX_STEPS:.0e} steps of step_s = {self.step_s:g} s")
        if abs(n - round(n)) > 1e-9 * max(n, 1) or round(n) < 1:
            key = "duration_h" if self.duration_h is not None else "duration_days"
            raise SpecValueError(key, self.duration_h if self.duration_h is not None else self.duration_days,
                                 f"a whole multiple of record_every_s = {self.record_every_s:g} s")
        if self.coupling_every_s is not None:
            c = self.coupling_every_s / self.step_s
            if abs(c - round(c)) > 1e-9 * c or round(c) < 1 or self.steps_per_record % round(c):
                raise SpecValueError("coupling_every_s", self.coupling_every_s,
                                     f"a whole multiple of step_s = {self.step_s:g} s that divides "
                                     f"record_every_s = {self.record_every_s:g} s")
        if self.duration_s > (STORE_TIME_MAX - self.epoch).total_seconds():  # seconds: no datetime overflow
            key = "duration_h" if self.duration_h is not None else "duration_days"
            raise SpecValueError(key, self.duration_h if self.duration_h is not None else self.duration_days,
                                 f"a run from {self.epoch:%Y-%m-%d} that ends by {STORE_TIME_MAX:%Y-%m-%d} UTC "
                                 f"({_STORE_TIME_WHY})")

    @property
    def end(self) -> _dt.datetime:
        """The time of the last record (UTC)."""
        return self.epoch + _dt.timedelta(seconds=self.duration_s)

    @property
    def duration_s(self) -> float:
        return self.duration_h * 3600.0 if self.duration_h is not None else self.duration_days * 86400.0

    @property
    def steps_per_record(self) -> int:
        return int(round(self.record_every_s / self.step_s))

    @property
    def coupling_steps(self) -> int:
        """Steps between two evaluations of the coupling stages (``coupling_every_s``)."""
        if self.coupling_every_s is not None:
            return int(round(self.coupling_every_s / self.step_s))
        spr = self.steps_per_record
        fit = [c for c in range(1, spr + 1) if spr % c == 0 and c * self.step_s <= COUPLING_DEFAULT_S + 1e-9]
        return max(fit) if fit else 1

    @property
    def n_records(self) -> int:
        """Recorded samples including the one at the epoch."""
        return int(round(self.duration_s / self.record_every_s)) + 1

    @property
    def n_steps(self) -> int:
        return (self.n_records - 1) * self.steps_per_record


@attrs.frozen
class OutputSpec:
    """Table ``[output]``: what is recorded and how the store is chunked.

    Attributes:
        variables: per-satellite variables to record; empty means every variable its
            plugin marks as recorded by default.
        exclude: variables not to record (applied after ``variables``).
        chunk_records: records per time chunk (0 chooses: about 8 MB of the largest
            recorded variable across up to 65,536 satellites, or across ``chunk_sats``,
            and at most 256 records, so that a long run checkpoints as it goes).
        chunk_sats: satellites per chunk (0 chooses: an eighth of the constellation, at
            most 65,536, in whole planes when the planes are of one size and a plane fits,
            so that it can run in up to 8 shards as written). Shards of a sharded run are
            whole chunks; the constellation totals' last bits depend on this chunking.
        metrics_every_step: record constellation totals at every step (true) or only at
            the record times (false).
    """

    variables: list[str] = attrs.Factory(list)
    exclude: list[str] = attrs.Factory(list)
    chunk_records: int = attrs.field(default=0, validator=int_range(0, 10**7))
    chunk_sats: int = attrs.field(default=0, validator=int_range(0, 10**9))
    metrics_every_step: bool = True


@attrs.frozen
class Scenario:
    """A loaded scenario: the core tables and each plugin's structured section.

    Attributes:
        path: the scenario file (``<scenario>`` for text parsed in memory).
        text: the file's TOML text, as read (stores keep it; a resume compares it).
        run: the ``[scenario]`` table (`RunSpec`): epoch, duration, step, records, seed.
        output: the ``[output]`` table (`OutputSpec`): what is recorded and how chunked.
        sections: table name -> the plugin's attrs object (`section`).
        raw: the parsed TOML as a dict (`has_table`).
        observed: states to set from telemetry before the first step
            (`twin_core.observed.Observed`, ``orbitwin run --from-telemetry``), or None.
    """

    path: str
    text: str
    run: RunSpec
    output: OutputSpec
    sections: dict[str, Any] = attrs.field(eq=False)
    raw: dict[str, Any] = attrs.field(eq=False, repr=False)
    observed: Any = attrs.field(default=None, eq=False, repr=False)

    def section(self, name: str) -> Any:
        """The plugin section ``name`` as its attrs object, or ``None`` if the scenario
        does not configure it (and it has no complete default)."""
        return self.sections.get(name)

    def has_table(self, name: str) -> bool:
        """Whether the scenario file has the table ``[name]``: for a plugin whose keys all
        have defaults, the way to tell an absent table from one left at its defaults."""
        return name in self.raw



# --------------------------------------------------------------------------------------
# cattrs converter: strict about types (TOML "3" is not a number)
# --------------------------------------------------------------------------------------


class _TypeMismatch(TypeError):
    def __init__(self, value: Any, expected: str):
        self.value, self.expected = value, expected
        super().__init__(f"expected {expected}: {value!r}")


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def strict_float(value: Any, _: type) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _TypeMismatch(value, "a number")
        if not math.isfinite(value):
            raise _TypeMismatch(value, "a finite number")
        return float(value)

    def strict_int(value: Any, _: type) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _TypeMismatch(value, "a whole number")
        return value

    def strict_str(value: Any, _: type) -> str:
        if not isinstance(value, str):
            raise _TypeMismatch(value, "a string")
        return value

    def strict_bool(value: Any, _: type) -> bool:
        if not isinstance(value, bool):
            raise _TypeMismatch(value, "true or false")
        return value

    def any_datetime(value: Any, _: type) -> Any:
        return value  # checked by the field's converter

    conv.register_structure_hook(float, strict_float)
    conv.register_structure_hook(int, strict_int)
    conv.register_structure_hook(str, strict_str)
    conv.register_structure_hook(bool, strict_bool)
    conv.register_structure_hook(_dt.datetime, any_datetime)

    def strict_list(value: Any, cl: Any) -> list:
        if not isinstance(value, list):
            raise _TypeMismatch(value, "a list")
        args = getattr(cl, "__args__", None) or (Any,)
        out, errors = [], []
        for idx, item in enumerate(value):
            try:
                out.append(conv.structure(item, args[0]))
            except Exception as exc:  # collected with their index, as cattrs does
                exc.add_note(IterableValidationNote(f"Structuring {cl} @ index {idx}", idx, args[0]))
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {cl!r}", errors, cl)
        return out

    conv.register_structure_hook_func(
        lambda t: t is list or getattr(t, "__origin__", None) is list, strict_list
    )

    def table_factory(cl: type) -> Any:
        """A plugin's table (an attrs class) must be a TOML table: ``[[name]]`` (an array
        of tables) or a value where a table belongs is a wrong type, named as such."""
        from cattrs.gen import make_dict_structure_fn

        inner = make_dict_structure_fn(cl, conv)

        def table(value: Any, _: type) -> Any:
            if not isinstance(value, dict):
                shown = "[[...]], an array of tables" if isinstance(value, list) else value
                raise _TypeMismatch(shown, "a table ([name], written once)")
            return inner(value, cl)

        return table

    conv.register_structure_hook_factory(attrs.has, table_factory)
    return conv


_CONVERTER = _make_converter()


def structure(data: Any, cls: type) -> Any:
    """Structure ``data`` into ``cls`` with orbitwin's strict converter."""
    return _CONVERTER.structure(data, cls)


def _walk(exc: BaseException, path: str) -> Iterator[tuple[str, BaseException]]:
    """Flatten cattrs' nested validation errors into (key path, leaf error)."""
    if isinstance(exc, ForbiddenExtraKeysError):
        yield path, exc
    elif isinstance(exc, (ClassValidationError, IterableValidationError)):
        for sub in exc.exceptions:
            sub_path = path
            for note in getattr(sub, "__notes__", []):
                if isinstance(note, AttributeValidationNote):
                    sub_path = f"{path}.{note.name}" if path else note.name
                elif isinstance(note, IterableValidationNote):
                    sub_path = f"{path}[{note.index}]"
            yield from _walk(sub, sub_path)
    else:
        yield path, exc


def _first_error(path: str, exc: BaseException, file: str, cls: type) -> ScenarioError:
    leaves = list(_walk(exc, path))
    # an unknown key first: a misspelt key also makes the right one "missing"
    leaves.sort(key=lambda kl: not isinstance(kl[1], ForbiddenExtraKeysError))
    for key, leaf in leaves:
        if isinstance(leaf, ForbiddenExtraKeysError):
            bad = sorted(leaf.extra_fields)[0]
            known = [a.name for a in attrs.fields(leaf.cl)] if attrs.has(leaf.cl) else []
            close = difflib.get_close_matches(bad, known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else ("known keys: " + ", ".join(known) if known else None)
            return ScenarioError(file, f"{key}.{bad}" if key else bad, "unknown key", expected=None, hint=hint)
        if isinstance(leaf, SpecValueError):
            full = f"{key}.{leaf.key}" if key and not key.endswith("." + leaf.key) and key != leaf.key else (key or leaf.key)
            return ScenarioError(file, full, "bad value", leaf.value, leaf.expected)
        if isinstance(leaf, _TypeMismatch):
            return ScenarioError(file, key, "wrong type", leaf.value, leaf.expected)
        if isinstance(leaf, KeyError):
            return ScenarioError(file, key, "required key is missing")
        return ScenarioError(file, key, f"invalid ({type(leaf).__name__}: {leaf})")
    return ScenarioError(file, path, f"invalid ({exc})")


def structure_section(data: Any, cls: type, file: str, path: str) -> Any:
    """Structure one table, turning any failure into a `ScenarioError` at ``path``."""
    if not isinstance(data, dict):
        raise ScenarioError(file, path, "wrong type", data, "a table")
    try:
        return _CONVERTER.structure(data, cls)
    except SpecValueError as exc:  # validator of a class structured at the top level
        key = f"{path}.{exc.key}" if path else exc.key
        raise ScenarioError(file, key, "bad value", exc.value, exc.expected) from None
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as exc:
        raise _first_error(path, exc, file, cls) from None
    except (TypeError, ValueError) as exc:
        raise ScenarioError(file, path, f"invalid ({exc})") from None


def _has_required(cls: type) -> bool:
    return any(a.default is attrs.NOTHING for a in attrs.fields(cls))


#: The folder relative paths in the scenario being parsed are resolved against
#: (`resolve_path`); set by `parse_scenario` while it structures the tables.
_SCENARIO_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("orbitwin_scenario_dir", default=None)


def resolve_path(value: str | Path) -> Path:
    """A path a scenario gives (an element-set file, say): absolute as given, else
    relative to the scenario file's folder while the scenario is parsed (a plugin's
    configuration class calls this from its validator), else to the working directory."""
    p = Path(value).expanduser()
    if p.is_absolute():
        return p
    base = _SCENARIO_DIR.get()
    return (base / p) if base is not None else p


def parse_scenario(text: str, path: str, sections: dict[str, tuple[type, str]],
                   failed_plugins: dict[str, str] | None = None) -> Scenario:
    """Parse scenario text.

    Args:
        text: the TOML text.
        path: the file name used in messages.
        sections: table name -> (attrs class, plugin name), from the plugin manager.
        failed_plugins: plugin name -> why it failed to load, to explain a table that
            belongs to a plugin that is not there.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, None, f"not valid TOML ({exc})") from None
    failed_plugins = failed_plugins or {}
    known = list(CORE_SECTIONS) + list(sections)
    for key, value in raw.items():
        if key in known:
            continue
        if key in failed_plugins:
            raise ScenarioError(path, key, f"this table belongs to plugin '{key}', which is not loaded: "
                                f"{failed_plugins[key]}")
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "known tables: " + ", ".join(known)
        raise ScenarioError(path, key, "unknown table", hint=hint)
    if "scenario" not in raw:
        raise ScenarioError(path, "scenario", "required table is missing",
                            hint="it gives epoch, duration_h, step_s and record_every_s")
    run = structure_section(raw["scenario"], RunSpec, path, "scenario")
    output = structure_section(raw.get("output", {}), OutputSpec, path, "output")
    structured: dict[str, Any] = {}
    folder = Path(path).parent if path and not path.startswith("<") else None
    token = _SCENARIO_DIR.set(folder)
    try:
        for name, (cls, _plugin) in sections.items():
            if name in raw:
                structured[name] = structure_section(raw[name], cls, path, name)
            elif not _has_required(cls):
                structured[name] = structure_section({}, cls, path, name)
    finally:
        _SCENARIO_DIR.reset(token)
    return Scenario(path=path, text=text, run=run, output=output, sections=structured, raw=raw)


def load_scenario(path: str | Path, sections: dict[str, tuple[type, str]],
                  failed_plugins: dict[str, str] | None = None) -> Scenario:
    """Read and parse a scenario file; every failure is a `ScenarioError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(str(path), None, "is a directory, expected a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), None, f"cannot be read ({exc})") from None
    return parse_scenario(text, str(path), sections, failed_plugins)
