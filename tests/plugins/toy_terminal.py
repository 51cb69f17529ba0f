"""A toy link terminal: a constant load on the bus (``[toy_terminal] power_w``), added
as a contribution to ``power.bus_demand_w`` without owning any of the power plugin's
variables, as a crosslink plugin would."""

import attrs

from twin_core import Contribution, Variable, hookimpl
from twin_core.validators import non_negative

PLUGIN_NAME = "toy_terminal"


@attrs.frozen
class ToyTerminalConfig:
    power_w: float = attrs.field(default=200.0, validator=non_negative)


@hookimpl
def orbitwin_config_sections():
    return {"toy_terminal": ToyTerminalConfig}


@hookimpl
def orbitwin_variables(scenario):
    if scenario is None or scenario.section("toy_terminal") is not None:
        return [Variable("toy_terminal.power_w", "W", "power the terminal draws from the bus", "parameter", "f32")]
    return None


@hookimpl
def orbitwin_contributions(scenario):
    if scenario.section("toy_terminal") is None:
        return None
    return [Contribution("power.bus_demand_w", "toy_terminal.power_w")]


@hookimpl
def orbitwin_initial_state(scenario, state):
    cfg = scenario.section("toy_terminal")
    if cfg is not None:
        state.set("toy_terminal.power_w", cfg.power_w)
