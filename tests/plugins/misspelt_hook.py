"""A plugin whose hook name matches no specification: loading it must fail loudly."""

from twin_core import hookimpl


@hookimpl
def orbitwin_varaibles(scenario):
    return []
