"""A plugin whose hooks lack ``@hookimpl``: pluggy would never call them and nothing
would say so. One is named exactly like a hook, one has its prefix misspelt."""

from twin_core import Metric, Variable


def orbitwin_variables(scenario):
    return [Variable("unmarked_hook.x", "1", "never declared", "parameter")]


def orbitwn_metrics(scenario):
    return [Metric("constellation.unmarked_x", "unmarked_hook.x", "sum", "1", "never kept")]
