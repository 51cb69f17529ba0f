"""A plugin whose hook asks for an argument its hook does not pass."""

from twin_core import hookimpl


@hookimpl
def orbitwin_variables(scenario, state):
    return []
