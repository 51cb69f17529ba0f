"""A plugin that makes a run slow without using the CPU: before every kernel launch its
time-only series sleeps ``[sleepy] seconds_per_launch``. Tests use it to find a run still
running (locks, concurrent runs, kills at chosen moments)."""

import time

import attrs
import numpy as np

from twin_core import CommonSeries, hookimpl
from twin_core.validators import non_negative


@attrs.frozen
class SleepyConfig:
    seconds_per_launch: float = attrs.field(default=0.05, validator=non_negative)


@hookimpl
def orbitwin_config_sections():
    return {"sleepy": SleepyConfig}


@hookimpl
def orbitwin_common_series(scenario):
    cfg = scenario.section("sleepy") if scenario is not None else None
    if cfg is None:
        return None

    def compute(t_s):
        time.sleep(cfg.seconds_per_launch)
        return np.zeros(len(t_s))

    return [CommonSeries("sleepy.zero", "1", "always zero; computing it takes time on purpose", compute,
                         record=False)]
