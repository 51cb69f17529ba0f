"""The package tests' scenario and helpers (imported by the tests and conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TI_SKIP_VERSION_CHECK", "ON")

#: A 4-hour run of 8 satellites (2 planes of 4) at 550 km and 53 deg with the default
#: physics of examples/walker_550km.toml, a failure rate high enough that half of the
#: payloads fail within the run (3,000 per satellite-year: a mean time to failure of
#: 2.9 h) and a heater setpoint above the node's starting temperature so that it cycles.
#: Every step is recorded; the battery's efficiencies and the node's capacitance are
#: given so that the tests can check the balances without the built-ins' constants.
SCENARIO = """
[scenario]
name = "reliability test"
epoch = "2026-03-20T00:00:00Z"
duration_h = 4
step_s = 60
record_every_s = 60
seed = 7

[[orbit.shell]]
kind = "walker_delta"
total = 8
planes = 2
phasing = 1
altitude_km = 550
inclination = 53.0

[environment]
shadow = "conical"

[solar]
area_m2 = 55.0

[battery]
capacity_wh = 25000
charge_efficiency = 0.95
discharge_efficiency = 0.95

[power]

[payload]
count = 8
accelerator = "H100-SXM"
workload = "training"

[thermal]
radiator_area_m2 = 13.0
heat_capacity_j_k = 200000.0
{thermal_extra}

[failures]
rate_per_satellite_year = 3000.0
{failures_extra}

[heater]
setpoint_k = 300.0
power_w = 200.0

[output]
variables = [{variables}]
"""

#: What the tests read (``thermal.heat_in_w`` and ``power.bus_demand_w`` are not
#: recorded by default).
RECORDED = (
    "power.generated_w", "power.load_w", "power.curtailed_w", "power.bus_load_w", "power.bus_demand_w",
    "power.unserved_w", "power.payload_supply_w", "battery.power_w", "battery.loss_w", "battery.energy_j",
    "thermal.temperature_k", "thermal.heat_in_w", "thermal.absorbed_w", "thermal.radiated_w",
    "payload.flops", "payload.lost_flops", "payload.power_w", "payload.heat_w", "payload.loss_reason",
    "failures.time_s", "failures.available", "heater.power_w", "heater.delivered_w",
)

#: Values the scenario sets (the tests' own copy, not the built-ins' constants).
BUS_OWN_W = 150.0  # [power] defaults: avionics 50 + attitude control 60 + heaters 40
ETA_C = ETA_D = 0.95
CAPACITANCE_J_K = 200000.0
SETPOINT_K, HEATER_W = 300.0, 200.0
STEP_S = 60.0
N_SATS = 8


def scenario(thermal_extra: str = "", failures_extra: str = "", variables=RECORDED) -> str:
    return SCENARIO.format(thermal_extra=thermal_extra, failures_extra=failures_extra,
                           variables=", ".join(f'"{v}"' for v in variables))


def orbitwin_command() -> list[str]:
    """The ``orbitwin`` script of this Python's environment, else ``python -m twin_core``."""
    script = Path(sys.executable).with_name("orbitwin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "twin_core"]


def orbitwin(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, TI_SKIP_VERSION_CHECK="ON", COLUMNS="200")
    return subprocess.run(orbitwin_command() + list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def flags_of(variables, name: str) -> dict[int, str]:
    return next(v.flags for v in variables if v.name == name)


def f32_tol(*terms: np.ndarray, ulps: int = 4) -> np.ndarray:
    """``ulps`` float32 ulps of the largest magnitude among ``terms``, elementwise."""
    big = np.max(np.abs(np.stack([np.asarray(t, dtype=np.float64) for t in terms])), axis=0)
    return ulps * np.spacing(big.astype(np.float32)).astype(np.float64)
