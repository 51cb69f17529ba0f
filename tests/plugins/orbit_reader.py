"""A third party's plugin whose initial state starts from the built-in orbit's: its
parameter is the mean altitude, read in ``orbitwin_initial_state`` from the semi-major
axis the orbit plugin set in its own. Called before the orbit (as pluggy's order had it),
it read zeros."""

from twin_core import Variable, hookimpl

PLUGIN_NAME = "orbit_reader"
EQUATORIAL_RADIUS_M = 6378137.0


@hookimpl
def orbitwin_variables(scenario):
    return [Variable("orbit_reader.altitude_m", "m", "mean altitude above the equatorial radius at the epoch",
                     "parameter", record=False)]


@hookimpl
def orbitwin_initial_state(scenario, state):
    state.set("orbit_reader.altitude_m", state.get("orbit.semi_major_axis_m") - EQUATORIAL_RADIUS_M)
