"""orbitwin-reliability: two orbitwin plugins written only against orbitwin's public API.

``failures`` (table ``[failures]``, `orbitwin_reliability.failures`)
    Payload failures as a Poisson process: each satellite's accelerators become
    unavailable at a random time drawn from the scenario's seed, a limit contributed to
    ``payload.available_fraction`` with the loss reason ``"failure"``.
``heater`` (table ``[heater]``, `orbitwin_reliability.heater`)
    A thermostat-controlled heater on the payload's thermal node: a load contributed to
    ``power.bus_demand_w`` whose electrical power ends as heat in the node.

Both are found by orbitwin through the entry points of group ``orbitwin`` once the
package is installed; neither does anything unless the scenario has its table.
"""

__version__ = "0.1.0"
