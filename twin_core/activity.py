"""Active satellites: a satellite not yet deployed (before its launch and orbit raising)
or retired is *inactive*, delivers nothing and counts in no constellation total but the
count of active satellites.

Any plugin makes satellites inactive by contributing a 0/1 integer variable to
``sat.active`` (`twin_core.Contribution`, with a reason such as ``"not launched"``). The
core declares ``sat.active`` (a ``min`` `Combined` starting at 1, reason in
``sat.inactive_reason``) only when some plugin contributes to it, so a run in which every
satellite is always active costs nothing more and writes the same bytes as before.

When ``sat.active`` is declared:

- every `Metric` is folded over the active satellites only (``Metric.all_satellites``
  lifts this, for deployment totals); ``mean`` and ``fraction_*`` divide by the number
  of active satellites at that step (NaN when none is active);
- the metric ``constellation.active_satellites`` counts them at every step;
- per-satellite records go on for inactive satellites (their models run as if in
  orbit, so that a satellite starts its life from a settled state); mask them with the
  recorded ``sat.active``.

Plugins that make a satellite inactive should also hold its payload unavailable
(``payload.available_fraction``), so its own records show no delivered compute.
"""

from __future__ import annotations

from typing import Any

from twin_core.declarations import Combined, Metric, Variable

#: The activity quantity plugins contribute to.
ACTIVE = "sat.active"
#: Its reason variable: which contribution made the satellite inactive.
INACTIVE_REASON = "sat.inactive_reason"
#: The count of active satellites (a core metric when ``sat.active`` is declared).
ACTIVE_COUNT = "constellation.active_satellites"


def wanted(contributions: tuple[tuple[str, Any], ...]) -> bool:
    """Whether any plugin contributes to ``sat.active``."""
    return any(getattr(c, "target", None) == ACTIVE for _p, c in contributions)


def declarations() -> tuple[tuple[str, Any], ...]:
    """``(plugin, declaration)`` pairs the core adds when `wanted`."""
    return (("core", Combined(ACTIVE, "1", "whether the satellite is deployed and operating (1) or not yet or no "
                              "longer (0): inactive satellites count in no total but constellation.active_satellites",
                              "min", start=1.0, dtype="i8", reason=INACTIVE_REASON)),
            ("core", Variable(INACTIVE_REASON, "1", "why the satellite is inactive (0: it is active)", "output", "i8",
                              flags={0: "active"})))


def count_metric() -> Metric:
    """``constellation.active_satellites``: the satellites active at each step."""
    return Metric(ACTIVE_COUNT, ACTIVE, "sum", "1", "satellites active (deployed and operating)",
                  all_satellites=True)


def divisor(metric: Metric, n_total: int, active: Any) -> Any:
    """What a ``mean`` or ``fraction_*`` metric divides by: the active count at each
    sample when there is one (``active``, finalized), else the constellation's size."""
    if active is None or metric.all_satellites:
        return n_total
    return active


__all__ = ["ACTIVE", "ACTIVE_COUNT", "INACTIVE_REASON", "count_metric", "declarations", "divisor", "wanted"]
