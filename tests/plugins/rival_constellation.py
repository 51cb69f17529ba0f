"""Third-party plugins that define the constellation from the ``[orbit]`` table, beside
the built-in orbit plugin (for the hook-order tests).

- the module itself answers ``orbitwin_satellites`` unmarked: two plugins define the
  constellation, which must be refused naming both, not settled silently;
- ``override`` (entry point ``rival_constellation:override``) marks both constellation
  hooks ``tryfirst``: it takes them over on purpose and wins. Its satellites all lie in
  plane 0, so a test sees whose table was used.
"""

import numpy as np

from twin_core import SatelliteTable, hookimpl


def _table(scenario):
    cfg = scenario.section("orbit")
    if cfg is None:
        return None
    return SatelliteTable(cfg.count, np.zeros(cfg.count, np.int32), np.zeros(cfg.count, np.int32))


@hookimpl
def orbitwin_satellites(scenario):
    return _table(scenario)


class Override:
    """The constellation hooks, marked to win over the built-in orbit's."""

    @hookimpl(tryfirst=True)
    def orbitwin_satellite_count(self, scenario):
        cfg = scenario.section("orbit")
        return None if cfg is None else cfg.count

    @hookimpl(tryfirst=True)
    def orbitwin_satellites(self, scenario):
        return _table(scenario)


override = Override()
