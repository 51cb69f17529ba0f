"""A toy availability limit: every satellite's accelerators are ``[toy_derate] share``
available (reason "derated"), contributed to ``payload.available_fraction``."""

import attrs

from twin_core import Contribution, Variable, hookimpl
from twin_core.validators import in_range

PLUGIN_NAME = "toy_derate"


@attrs.frozen
class ToyDerateConfig:
    share: float = attrs.field(default=0.5, validator=in_range(0.0, 1.0))


@hookimpl
def orbitwin_config_sections():
    return {"toy_derate": ToyDerateConfig}


@hookimpl
def orbitwin_variables(scenario):
    if scenario is None or scenario.has_table("toy_derate"):
        return [Variable("toy_derate.share", "1", "share of accelerators available", "parameter", "f32")]
    return None


@hookimpl
def orbitwin_contributions(scenario):
    if not scenario.has_table("toy_derate"):
        return None
    return [Contribution("payload.available_fraction", "toy_derate.share", reason="derated")]


@hookimpl
def orbitwin_initial_state(scenario, state):
    if scenario.has_table("toy_derate"):
        state.set("toy_derate.share", scenario.section("toy_derate").share)
