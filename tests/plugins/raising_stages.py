"""A plugin whose orbitwin_stages hook raises after the store exists (for the
incomplete-store test)."""

from twin_core import hookimpl


@hookimpl
def orbitwin_stages(scenario, state):
    raise ValueError("stage construction exploded")
