"""A toy contributor to `toy_owner`'s quantities, owning none of them: satellite ``i``
adds ``i`` W to ``toy_owner.load_w`` and limits ``toy_owner.cap`` to ``i % 3`` (reason
"limiter"); with ``[toy_limiter] also_owner_rule = true`` it also names the owner's
reason, which must share the owner's code."""

import attrs
import numpy as np

from twin_core import Contribution, Variable, hookimpl

PLUGIN_NAME = "toy_limiter"


@attrs.frozen
class ToyLimiterConfig:
    also_owner_rule: bool = False


@hookimpl
def orbitwin_config_sections():
    return {"toy_limiter": ToyLimiterConfig}


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("toy_limiter.load_w", "W", "this plugin's load", "parameter", "f32"),
            Variable("toy_limiter.cap", "1", "this plugin's limit", "parameter", "i8")]


@hookimpl
def orbitwin_contributions(scenario):
    cfg = scenario.section("toy_limiter")
    out = [Contribution("toy_owner.load_w", "toy_limiter.load_w"),
           Contribution("toy_owner.cap", "toy_limiter.cap", reason="limiter")]
    if cfg is not None and cfg.also_owner_rule:
        out.append(Contribution("toy_owner.cap", "toy_limiter.cap", reason="owner rule"))
    return out


@hookimpl
def orbitwin_initial_state(scenario, state):
    i = np.arange(state.n_total)
    state.set("toy_limiter.load_w", i.astype(np.float32))
    state.set("toy_limiter.cap", (i % 3).astype(np.int8))
