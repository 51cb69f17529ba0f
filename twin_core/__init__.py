"""orbitwin's core: interfaces, hooks, scenario loading, the fused engine and the output.

Plugin authors import from here and nothing deeper::

    from twin_core import hookimpl, Variable, Stage, Metric, CommonSeries, Combined, Contribution, Axis, Anchor

The core owns no physics; every model is a plugin (see ``twin_core.hookspecs``).
"""

import pluggy

from twin_core.declarations import (
    Axis,
    CaseResult,
    Combined,
    CommonSeries,
    Contribution,
    MassItem,
    Metric,
    PowerItem,
    SatelliteTable,
    Stage,
    ValidRange,
    Variable,
)
from twin_core.errors import BuildError, PluginError, ScenarioError, StageError, UserError
from twin_core.observed import Anchor

__version__ = "0.1.0"

#: Marker for hook implementations: ``@hookimpl def orbitwin_variables(scenario): ...``
hookimpl = pluggy.HookimplMarker("orbitwin")

__all__ = [
    "Anchor",
    "Axis",
    "BuildError",
    "CaseResult",
    "Combined",
    "CommonSeries",
    "Contribution",
    "MassItem",
    "Metric",
    "PluginError",
    "PowerItem",
    "SatelliteTable",
    "ScenarioError",
    "Stage",
    "StageError",
    "UserError",
    "ValidRange",
    "Variable",
    "__version__",
    "hookimpl",
]
