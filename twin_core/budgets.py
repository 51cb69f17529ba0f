"""A satellite's mass and power budget from every plugin's ``orbitwin_mass_budget`` and
``orbitwin_power_budget`` (what ``orbitwin budget`` prints, and what launch planning,
costing and sizing need: the launched mass of one satellite).

Mass items are fixed masses or shares of the total (structure sized as a fraction of
the whole): ``total = sum(mass_kg) / (1 - sum(fraction))`` (`MassItem`).
"""

from __future__ import annotations

from typing import Any

from twin_core.declarations import MassItem, PowerItem
from twin_core.errors import BuildError


def mass_items(pm: Any, scenario: Any) -> list[tuple[str, MassItem]]:
    """``(plugin, MassItem)`` of one satellite of ``scenario``, in plugin order."""
    return [(p, i) for p, items in pm.call("orbitwin_mass_budget", scenario=scenario) for i in items]


def power_items(pm: Any, scenario: Any) -> list[tuple[str, PowerItem]]:
    """``(plugin, PowerItem)`` of one satellite of ``scenario``, in plugin order."""
    return [(p, i) for p, items in pm.call("orbitwin_power_budget", scenario=scenario) for i in items]


def mass_total(items: list[tuple[str, MassItem]]) -> tuple[float, float]:
    """(total mass, mass of the fixed items) of one satellite [kg]: structure and other
    items given as a fraction of the total scale it as ``fixed / (1 - sum(fractions))``."""
    fixed = sum(i.mass_kg for _p, i in items)
    frac = sum(i.fraction for _p, i in items)
    if not 0.0 <= frac < 1.0:
        raise BuildError(f"mass items given as fractions of the total add up to {frac:g}; expected < 1")
    return fixed / (1.0 - frac), fixed


def satellite_mass_kg(pm: Any, scenario: Any) -> float:
    """The dry mass of one satellite of ``scenario`` [kg], every plugin's items summed
    (0 when no plugin declares a mass)."""
    return mass_total(mass_items(pm, scenario))[0]


__all__ = ["mass_items", "mass_total", "power_items", "satellite_mass_kg"]
