"""The benchmark's scenario: one Walker-delta shell with the full default plugin set.

Why a generated TOML text rather than a file in ``examples/``: the benchmark sweeps the
number of satellites (10^4 to 10^6), the duration and the step, and the text is what the
engine stores in the output's attributes, so a run can be reproduced from its store.

Shell geometry: a Starlink-like shell (550 km, 53 deg, SpaceX's FCC filing SAT-MOD-20190830-00087
for the first shell), with ``planes`` the divisor of N closest to sqrt(N), so planes and
satellites per plane grow together and the store's chunks stay whole planes. One exception,
`SHELL_PLANES`: 1,584 satellites are the 72 planes of 22 of that Starlink shell (the +grid
of issue 10's benchmark), not planes_for's 36 of 44.

Links (``links=True``, issue 10): ``[crosslinks] topology = "plus_grid"`` with the
plugin's defaults (Tesat SCOT80 terminal, 8,000 km, grazing altitude 80 km, 4 terminals):
two link slots per satellite, its next satellite in the plane and its neighbour in the next
plane. The shells of the benchmark keep every +grid link up: in-plane neighbours are
360/S deg apart, 1,971 km at 72 x 22 (S = 22), 109 km at 10^5 (250 x 400) and 43 km at
10^6 (1,000 x 1,000), all well inside the 5,017 km line of sight past the grazing sphere
at 550 km and the terminal's range; cross-plane neighbours are closer still (at most
621 km at 72 x 22, `orbitwin_plugins.topology`). So the link pass does the same work
for every link at every pass, and the comparison with and without links is of one shell.

Satellite (every figure a default of its plugin unless set here; sources in the plugins):

- ``[solar]`` 60 m2 of triple-junction array, sun-tracking: 19.2 kW in full sun at the
  operating temperature, about 11.9 kW averaged over a 550 km orbit at beta = 0;
- ``[battery]`` 20 kWh Li-ion (floor 60 %, C/2 charge, 1C discharge);
- ``[power]`` 150 W of bus loads;
- ``[payload]`` 8 x H100-SXM, 10.2 kW training (DGX H100 power with host overhead);
- ``[thermal]`` a 12 m2 two-sided radiator with white paint;
- ``[environment]`` conical shadow with penumbra.

The payload therefore trains in sunlight and is stepped down by the default policy on some
orbits when the battery nears its threshold: the benchmark runs every branch of the
policy, not only the cheapest.

``[output]``: the eight per-satellite variables of issue 4's end-to-end target (position,
illumination, generated power, state of charge, temperature, payload state, delivered
compute, loss reason) and the constellation totals at every step.
"""

from __future__ import annotations

import math

#: The per-satellite variables recorded by the benchmark (issue 4: "about 8").
RECORDED = (
    "orbit.r_eci_m",
    "environment.illumination",
    "power.generated_w",
    "battery.soc",
    "thermal.temperature_k",
    "payload.state",
    "payload.flops",
    "payload.loss_reason",
)

#: The satellite's subsystem tables (TOML) by plugin, in the order the physics chains
#: them; `SATELLITE` joins them. Kept apart so that ``bench/run.py --breakdown`` can run
#: the chain one plugin at a time.
TABLES = {
    "environment": '[environment]\nshadow = "conical"\n',
    "solar": "[solar]\narea_m2 = 60.0\n",
    "battery": "[battery]\ncapacity_wh = 20000.0\n",
    "power": "[power]\n",
    "payload": '[payload]\ncount = 8\naccelerator = "H100-SXM"\n',
    "thermal": "[thermal]\nradiator_area_m2 = 12.0\n",
}
SATELLITE = "\n".join(TABLES.values())


def planes_for(total: int) -> int:
    """The divisor of ``total`` closest to sqrt(total) (ties: the smaller), so that a
    Walker shell has about as many planes as satellites per plane."""
    if total < 1:
        raise ValueError(f"a shell needs at least one satellite: {total}")
    root = math.sqrt(total)
    best = 1
    for p in range(1, int(root) + 2):
        if total % p == 0:
            for cand in (p, total // p):
                if abs(cand - root) < abs(best - root) or (abs(cand - root) == abs(best - root) and cand < best):
                    best = cand
    return best


#: Shells whose plane count is not `planes_for`'s: 1,584 satellites as Starlink's first
#: shell, 72 planes of 22 (SpaceX's FCC filing above).
SHELL_PLANES = {1584: 72}

#: The table that turns the crosslinks on (issue 10's benchmark).
LINKS = '[crosslinks]\ntopology = "plus_grid"\n'

#: A launch plan (issue 11's benchmark, ``bench/run.py --launch``): a deployment ramp whose
#: launches all precede the epoch, so every satellite is active and the physics is the one
#: without the table; what it costs is the deployment stage, the ``sat.active`` fold and the
#: mask in every total. 1,000 kg a satellite (the mass budget's order) on Falcon 9 at the
#: highest cadence the table takes (10^6 satellites need ~65,000 launches: 6.5 years).
LAUNCH = ('[launch]\nvehicle = "Falcon 9"\nsat_mass_kg = 1000\nlaunches_per_year = 10000\n'
          'first_launch = "1990-01-01T00:00:00Z"\n')

#: The radiation plugin with every effect (issue 12's benchmark, ``bench/run.py
#: --radiation``): dose behind the default shielding, failure draws of the payload's
#: accelerators (none fail in a benchmark's hours: the cost is the comparison each step),
#: upsets, and the cells' dose feeding the solar array.
RADIATION = "[radiation]\n"


def shell_planes(total: int) -> int:
    """Planes of the benchmark's shell of ``total`` satellites: `SHELL_PLANES`, else
    `planes_for`."""
    return SHELL_PLANES.get(total) or planes_for(total)


def whole_records(duration_s: float, record_every_s: float) -> int:
    """Records after the epoch that cover ``duration_s`` (at least one): the scenario's
    duration must be a whole number of records, so a requested duration is rounded up."""
    return max(1, math.ceil(duration_s / record_every_s - 1e-9))


def walker_scenario(sats: int, duration_s: float, step_s: float = 10.0, record_every_s: float = 600.0,
                    satellite: str = SATELLITE, recorded: tuple[str, ...] | None = RECORDED,
                    epoch: str = "2026-03-20T00:00:00Z", chunk_sats: int = 0, links: bool = False,
                    planes: int | None = None, coupling_every_s: float | None = None) -> str:
    """The TOML text of the benchmark scenario.

    Args:
        sats: satellites in the shell.
        duration_s: requested duration [s], rounded up to whole records (`whole_records`).
        step_s: integration step [s].
        record_every_s: interval between records [s], a whole multiple of ``step_s``.
        satellite: the subsystem tables (default `SATELLITE`).
        recorded: per-satellite variables to record; ``None`` records every variable a
            plugin marks as recorded by default.
        epoch: start of the run (the March equinox: every plane sees eclipses).
        chunk_sats: ``[output] chunk_sats`` (0: the engine chooses whole planes).
        links: add `LINKS` (optical crosslinks on a +grid).
        planes: planes of the shell, a divisor of ``sats`` (default `shell_planes`).
        coupling_every_s: ``[scenario] coupling_every_s`` (None: the engine's default, 60 s
            or less).
    """
    ratio = record_every_s / step_s
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise ValueError(f"record_every_s = {record_every_s:g} must be a whole multiple of step_s = {step_s:g}")
    n_rec = whole_records(duration_s, record_every_s)
    planes = int(planes) if planes else shell_planes(sats)
    if sats % planes:
        raise ValueError(f"{planes} planes do not divide {sats} satellites")
    out = ["[output]", "metrics_every_step = true"]
    if recorded is not None:
        out.append("variables = [" + ", ".join(f'"{v}"' for v in recorded) + "]")
    if chunk_sats:
        out.append(f"chunk_sats = {int(chunk_sats)}")
    return f"""\
[scenario]
name = "bench: Walker {sats} ({planes} planes) at 550 km"
epoch = "{epoch}"
duration_h = {n_rec * record_every_s / 3600.0!r}
step_s = {float(step_s)!r}
record_every_s = {float(record_every_s)!r}
{f"coupling_every_s = {float(coupling_every_s)!r}" if coupling_every_s else ""}
[[orbit.shell]]
kind = "walker_delta"
total = {int(sats)}
planes = {planes}
phasing = {1 if planes > 1 else 0}
altitude_km = 550.0
inclination = 53.0

{satellite}
{LINKS if links else ""}
""" + "\n".join(out) + "\n"
