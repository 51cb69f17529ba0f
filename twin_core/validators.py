"""attrs validators for scenario sections whose errors name the key, the value and the
bound.

Use them on the fields of a plugin's section class::

    @attrs.frozen
    class SolarConfig:
        area_m2: float = attrs.field(validator=positive)
        efficiency: float = attrs.field(default=0.3, validator=in_range(0, 1))

A failing check raises `SpecValueError`; scenario loading adds the file and the path of
the section, so the user reads ``scenario.toml: key 'solar.area_m2': must be > 0: got
-3.0``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import attrs


class SpecValueError(ValueError):
    """A field's value is out of its allowed range."""

    def __init__(self, key: str, value: Any, expected: str):
        self.key, self.value, self.expected = key, value, expected
        super().__init__(f"'{key}' must be {expected}: {value!r}")


def _number(attribute: attrs.Attribute, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecValueError(attribute.name, value, "a number")
    if not math.isfinite(value):
        raise SpecValueError(attribute.name, value, "a finite number")
    return float(value)


def finite(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """Any finite number."""
    _number(attribute, value)


def positive(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A finite number > 0."""
    if _number(attribute, value) <= 0:
        raise SpecValueError(attribute.name, value, "> 0")


def non_negative(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A finite number >= 0."""
    if _number(attribute, value) < 0:
        raise SpecValueError(attribute.name, value, ">= 0")


def in_range(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False):
    """A finite number in [lo, hi] (open ends where asked)."""
    text = ("(" if lo_open else "[") + f"{lo:g}, {hi:g}" + (")" if hi_open else "]")

    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        v = _number(attribute, value)
        if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
            raise SpecValueError(attribute.name, value, f"in {text}")

    return check


def int_range(lo: int, hi: int):
    """A whole number in [lo, hi]."""

    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecValueError(attribute.name, value, "a whole number")
        if value < lo or value > hi:
            raise SpecValueError(attribute.name, value, f"a whole number in [{lo}, {hi}]")

    return check


def one_of(choices: Iterable[str]):
    """One of the given strings."""
    options = tuple(choices)

    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in options:
            raise SpecValueError(attribute.name, value, "one of " + ", ".join(repr(c) for c in options))

    return check
