"""Writing a parsed scenario back out as TOML text.

Why this exists: a sweep (`twin_core.sweep`) changes keys of a scenario and runs each
case from its own scenario *text*, because a run store records the text it was made from
(attribute ``scenario``) and a resume compares it. The standard library reads TOML
(``tomllib``) but cannot write it, and ``tomli_w`` is not a dependency of orbitwin; the
values a scenario holds are few (tables, arrays of tables, strings, integers, floats,
booleans, dates and times, arrays of those), so a small emitter suffices.

The promise, checked by the tests on every bundled example and on awkward values:
``tomllib.loads(dumps(d)) == d`` for any dict ``tomllib`` can produce. Comments and the
order of a hand-written file are not kept (the text says which case it is instead).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, quoted otherwise."""
    return name if _BARE.fullmatch(name) else string(name)


def string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def value(v: Any) -> str:
    """One value as TOML text (inline: arrays and tables on one line)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = repr(v)  # shortest text that reads back to the same float
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(v, str):
        return string(v)
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(path: list[str], table: dict[str, Any], lines: list[str], header: str | None) -> None:
    """Write one table: its plain keys under ``header``, then its sub-tables and arrays
    of tables, each under its full dotted path."""
    plain = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)}
    nested = {k: v for k, v in table.items() if k not in plain}
    if header is not None and (plain or not nested):
        lines.append(header)
    for k, v in plain.items():
        lines.append(f"{key(k)} = {value(v)}")
    for k, v in nested.items():
        sub = path + [key(k)]
        if isinstance(v, dict):
            lines.append("")
            _table(sub, v, lines, "[" + ".".join(sub) + "]")
        else:
            for item in v:
                lines.append("")
                lines.append("[[" + ".".join(sub) + "]]")
                _table(sub, item, lines, None)


def dumps(data: dict[str, Any]) -> str:
    """The TOML text of ``data`` (a dict as ``tomllib.loads`` returns it)."""
    lines: list[str] = []
    _table([], data, lines, None)
    return "\n".join(lines).lstrip("\n") + "\n"
