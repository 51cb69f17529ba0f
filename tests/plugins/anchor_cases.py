"""A plugin whose ``orbitwin_observed_state`` answers wrongly on purpose, one way per
variable (tests/test_from_telemetry.py): its variables exist only to be named by telemetry."""

from twin_core import Anchor, Variable, hookimpl

CASES = ("probe.output_only", "probe.foreign", "probe.raises", "probe.inverted", "probe.scalar")


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("probe.level", "1", "a state of this plugin", "state")] + [
        Variable(name, "1", "a variable telemetry names", "output") for name in CASES]


@hookimpl
def orbitwin_observed_state(scenario, variable):
    return {
        "probe.output_only": Anchor({"probe.output_only": lambda x: x}),
        "probe.foreign": Anchor({"thermal.temperature_k": lambda x: x}),
        "probe.raises": Anchor({"probe.level": lambda x: 1 / 0}),
        "probe.inverted": Anchor({"probe.level": lambda x: x}, valid=(1.0, 0.0)),
        "probe.scalar": Anchor({"probe.level": lambda x: 0.5}),
    }.get(variable)
