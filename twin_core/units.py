"""Checking the units strings that plugins declare, with UDUNITS-2.

Every `Variable`, `CommonSeries` and `Metric` (and every other declaration with a
``units``) names its units in a string that ends up in the store's ``units`` attribute,
where xarray users read it with the CF tools (cf-units, or pint through cf_xarray), which
follow UDUNITS-2. A string those tools misread is worse than none: a plugin that wrote
``krad`` for a radiation dose in kilorads gets kilo-radians, an angle, from every one of
them. So each string is parsed here by UDUNITS-2 itself (the ``cf-units`` package, which
ships the C library in its wheel) before a run starts, and one it cannot read is a
`BuildError` naming the plugin, the declaration and UDUNITS-2's complaint.

Strict parsing alone does not catch ``krad``, which is valid UDUNITS-2; so a radian with
a multiplying prefix (``krad``, ``Mrad``: no angle is measured in kilo-radians) is refused
too, with a note that UDUNITS-2 reads ``rad`` as the radian, never the old dose unit
(1 rad = 0.01 Gy), and that a dose is written in grays (``Gy``, ``mGy``). Plain ``rad``
and ``mrad`` stay angles, as the orbit plugin uses them.

UDUNITS-2 has no unit for operations, so orbitwin adds one, ``FLOP``: a count
(dimensionless), taking SI prefixes like any unit (``PFLOP s-1`` for the accelerators'
rate); it is checked as UDUNITS-2's ``count``.

cf-units is imported on the first check, not with this module: it costs about 25 ms on
top of numpy, which a run has loaded anyway, and the command line's start stays quick.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable

from twin_core.errors import BuildError

#: Units orbitwin adds to UDUNITS-2, by symbol: each is read as UDUNITS-2's ``count``.
COUNT_UNITS = {"FLOP": "floating-point operations (a count)"}

_TOKEN = re.compile(r"[A-Za-z_]+")
_COUNT = re.compile(r"(?<![A-Za-z_])([A-Za-z]{0,2})(" + "|".join(COUNT_UNITS) + r")(?![A-Za-z_])")
_SCALED_RADIAN = re.compile(r"^([0-9.eE+-]+) rad$")
HINT = "write units as UDUNITS-2 spells them: 'm s-1', 'W m-2', 'kW h', 'Gy', '1' for a pure number"


@functools.lru_cache(maxsize=1024)
def check_units(units: str) -> str | None:
    """Why ``units`` is not a units string orbitwin accepts, or ``None`` when it is.

    Accepted: what UDUNITS-2 parses to a known unit (time references such as
    ``s since 2000-01-01`` included), plus orbitwin's `COUNT_UNITS`; refused: an empty
    string, UDUNITS-2's ``unknown``/``no_unit``, and a radian with a multiplying prefix
    (see the module docstring).
    """
    if not isinstance(units, str) or not units.strip():
        return "no units given (write '1' for a pure number)"
    try:
        unit = _parse(_COUNT.sub(r"\1count", units))
    except Exception as exc:  # noqa: BLE001 - UDUNITS-2's complaint is the message
        return f"UDUNITS-2 cannot read it ({' '.join(str(exc).split())}); {HINT}"
    if unit.is_unknown() or unit.is_no_unit():
        return f"'{units}' is UDUNITS-2's placeholder for missing units, not a unit; {HINT}"
    return _prefixed_radian(units)


def _parse(text: str) -> Any:
    import cf_units  # lazily: see the module docstring

    return cf_units.Unit(text)


def _prefixed_radian(units: str) -> str | None:
    """The refusal of a radian with a multiplying prefix (``krad``), or None."""
    for token in _TOKEN.findall(units):
        try:
            definition = _parse(token).definition
        except Exception:  # noqa: BLE001 - a token that is no unit on its own (a prefix)
            continue
        m = _SCALED_RADIAN.match(definition)
        if m and float(m.group(1)) > 1:
            return (f"'{token}' is {m.group(1)} radians (an angle): UDUNITS-2 reads 'rad' as the radian, "
                    "never the old dose unit rad; write a dose in grays ('Gy', 'mGy'; 1 rad = 0.01 Gy), "
                    "or an angle in 'rad' or 'mrad'")
    return None


def _kind(declaration: Any) -> str:
    """``variable``, ``common series``, ``metric``...: the declaration's class, in words."""
    name = type(declaration).__name__
    return {"CommonSeries": "common series"}.get(name, re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower())


def check_declared_units(*groups: Iterable[tuple[str, Any]]) -> None:
    """Refuse (`BuildError`) declarations whose units `check_units` rejects, naming for
    each the plugin, the declaration and the problem (all of them in one message).

    Args:
        groups: ``(plugin name, declaration)`` pairs, each declaration with ``name``
            and ``units`` (`Variable`, `CommonSeries`, `Metric`, ...): a plan's
            variables, common series and metrics.
    """
    bad = []
    for plugin, decl in (pair for group in groups for pair in group):
        problem = check_units(decl.units)
        if problem:
            bad.append(f"plugin '{plugin}', {_kind(decl)} '{decl.name}': units '{decl.units}': {problem}")
    if bad:
        raise BuildError("; ".join(bad))
