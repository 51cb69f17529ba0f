"""A toy plugin for sweep tests (with ``toy_counter``): a ``[toysweep]`` table of two
numbers and the case results a sweep keeps, computed from the run's store.

``toysweep.cost_usd`` = ``price_usd_per_kg x mass_kg x (final toy.total_clock) / 3600``,
so it is known by hand for every case and rises with the price (without ``toy_counter``
the clock is taken as 3600 s); ``toysweep.clock_s`` is the final total clock, the same in every case of a sweep that does not change the
duration. A price of exactly 13 makes the hook raise, to test a failed case; a negative
price is refused by the table's validator, to test a case refused before it runs.
"""

import attrs

from twin_core import CaseResult, hookimpl
from twin_core.validators import non_negative

PLUGIN_NAME = "toysweep"


@attrs.frozen
class ToySweepConfig:
    price_usd_per_kg: float = attrs.field(default=1000.0, validator=non_negative)
    mass_kg: float = attrs.field(default=2.0, validator=non_negative)


@hookimpl
def orbitwin_config_sections():
    return {"toysweep": ToySweepConfig}


@hookimpl
def orbitwin_case_results(scenario, store):
    cfg = scenario.section("toysweep")
    if cfg.price_usd_per_kg == 13.0:
        raise RuntimeError("unlucky price")
    totals = store["constellation"]
    clock = float(totals["toy.total_clock"][-1]) if "toy.total_clock" in totals else 3600.0
    return [
        CaseResult("toysweep.cost_usd", cfg.price_usd_per_kg * cfg.mass_kg * clock / 3600.0, "USD",
                   "price x mass x total clock in hours"),
        CaseResult("toysweep.clock_s", clock, "s", "final total clock"),
    ]
