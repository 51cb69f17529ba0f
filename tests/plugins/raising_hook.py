"""A plugin whose hook raises: the error must name the plugin and the hook."""

from twin_core import hookimpl


@hookimpl
def orbitwin_metrics(scenario):
    raise RuntimeError("metrics exploded")
