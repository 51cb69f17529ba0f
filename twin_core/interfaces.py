"""The four interfaces of the core, stated as named variables with units and meaning.

A radiator plugin written by a stranger must find the payload's heat under a name fixed
here, not by whichever plugin happens to write it (as Basilisk fixes its message
fields). Any plugin may write an interface variable; the engine checks at build time that
a plugin declaring one of these names declares it with the units and shape given here,
and that exactly one plugin writes it. The quantities marked *Combined* are written by
the engine from every plugin's contributions (`twin_core.Combined`): contribute to them,
never write them.

Frame: ``eci`` is the Earth-centred inertial frame of orbitwin, the GCRS realised to
low precision: the mean equator and equinox of J2000.0 (the frame bias of 0.02 arcsec is
neglected). Every vector interface variable is in it, whatever the propagator: the J2
propagator works about the Earth's true pole of the epoch and SGP4 in TEME of date, and
both rotate their positions and velocities into ECI (IAU 1976 precession and IAU 1980
nutation, `orbitwin_plugins.frames`).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class InterfaceVariable:
    """One named variable of an interface.

    Attributes:
        name: the variable name every plugin uses.
        units: UDUNITS units of the stored value.
        shape: ``()`` scalar or ``(3,)`` ECI vector.
        meaning: what it is, with sign conventions.
    """

    name: str
    units: str
    shape: tuple[int, ...]
    meaning: str


def _v(name: str, units: str, meaning: str, shape: tuple[int, ...] = ()) -> InterfaceVariable:
    return InterfaceVariable(name, units, shape, meaning)


#: Environment: what the space around each satellite is like.
ENVIRONMENT = (
    _v("environment.illumination", "1",
       "fraction of the solar disc visible from the satellite, 0 in umbra, 1 in full sun, "
       "in between in penumbra"),
    _v("environment.sun_dir_eci", "1", "unit vector from the Earth's centre to the Sun (same for all "
       "satellites: a common series)", (3,)),
    _v("environment.sun_distance_m", "m", "Earth-Sun distance (common series)"),
    _v("environment.beta_deg", "degree",
       "beta angle: elevation of the Sun above the satellite's orbit plane, positive on the side of "
       "the orbit normal r x v"),
    _v("environment.earth_ir_w_m2", "W m-2", "Earth infrared flux incident on a surface facing nadir"),
    _v("environment.albedo_w_m2", "W m-2", "reflected sunlight flux incident on a surface facing nadir"),
)

#: Satellite bus: where it is and what its power and thermal state is.
SATELLITE = (
    _v("sat.active", "1", "1 while the satellite is deployed and operating, 0 before (launch, orbit raising) or "
       "after (retired): an i8 Combined min, declared by the core once a plugin contributes a 0/1 i8 variable "
       "with a reason; inactive satellites count in no total but constellation.active_satellites "
       "(twin_core.activity)"),
    _v("orbit.r_eci_m", "m", "position in ECI", (3,)),
    _v("orbit.v_eci_m_s", "m s-1", "velocity in ECI", (3,)),
    _v("power.generated_w", "W", "electrical power delivered by the solar array"),
    _v("power.load_w", "W", "electrical power delivered to the bus and payload after load shedding"),
    _v("power.net_w", "W", "the battery's power at the bus after load shedding and curtailment "
       "(positive: charge, negative: discharge)"),
    _v("power.bus_demand_w", "W", "bus demand, a Combined sum: contribute a load on the bus here "
       "(terminals, pumps, heaters); served before the payload"),
    _v("power.bus_load_w", "W", "power delivered to the bus (avionics, attitude control, heaters)"),
    _v("power.payload_supply_w", "W", "power the bus delivers to the payload after load shedding"),
    _v("power.curtailed_w", "W", "generation neither used nor stored (battery full or charge-rate limit)"),
    _v("power.unserved_w", "W", "bus demand that could not be served after shedding the whole payload"),
    _v("battery.power_w", "W", "power into the battery at the bus, positive charging, negative discharging"),
    _v("battery.shortfall_w", "W", "discharge the bus asked for that the battery could not give "
       "(floor or rate limit); nil but for rounding since the bus sheds within battery.max_discharge_w"),
    _v("battery.max_discharge_w", "W", "most the battery can give the bus this step (rate and energy)"),
    _v("battery.max_charge_w", "W", "most the battery can take from the bus this step (rate and room)"),
    _v("battery.surplus_w", "W", "charge the bus offered that the battery could not take (full or rate limit)"),
    _v("battery.energy_j", "J", "energy stored in the battery"),
    _v("battery.soc", "1", "battery state of charge, energy / capacity"),
    _v("thermal.temperature_k", "K", "temperature of the payload's thermal node"),
    _v("thermal.heat_in_w", "W", "heat dissipated into the thermal node, a Combined sum: contribute a heat "
       "source here that is not already a load on the bus (the bus's load, power.bus_load_w, is added whole: "
       "a heater or terminal powered from the bus reaches the node through it)"),
)

#: Payload: the accelerators.
PAYLOAD = (
    _v("payload.state", "1", "power state code (0 off, 1 idle, 2 inference, 3 training, or a plugin's own)"),
    _v("payload.power_w", "W", "electrical power drawn by the payload"),
    _v("payload.heat_w", "W", "heat the payload dissipates into its thermal node"),
    _v("payload.flops", "FLOP s-1", "compute delivered (dense bf16 equivalent)"),
    _v("payload.demand_w", "W", "power the payload asks for this step, before load shedding"),
    _v("payload.requested_state", "1", "power state asked of the accelerators, a Combined min: contribute "
       "a limit here (codes as payload.state) with a reason"),
    _v("payload.available_fraction", "1", "share of the accelerators available, a Combined min: contribute a "
       "limit here (failures, radiation) with a reason"),
    _v("payload.lost_flops", "FLOP s-1", "installed peak minus delivered compute"),
    _v("payload.loss_reason", "1", "why compute was lost: 0 none, 1 power-limited, 2 thermal-limited, "
       "3 shed, 4 off, then the reasons plugins' limits name (codes in the store's flag attributes)"),
)

#: Link: per satellite; per-link variables (capacity, range, up) live in the link model.
LINK = (
    _v("link.degree", "1", "number of optical crosslinks up"),
)

ALL: dict[str, InterfaceVariable] = {v.name: v for v in ENVIRONMENT + SATELLITE + PAYLOAD + LINK}
