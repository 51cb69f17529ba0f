"""Options shared by several commands."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import click

from twin_core.pluginmanager import OrbitwinPluginManager, make_plugin_manager

plugin_option = click.option(
    "--plugin", "plugins", multiple=True, metavar="MODULE",
    help="Also load this importable module as a plugin (repeatable).")
disable_option = click.option(
    "--disable", multiple=True, metavar="NAME",
    help="Leave out the installed plugin NAME (repeatable); see `orbitwin plugins`.")


def plugin_options(f: Callable[..., Any]) -> Callable[..., Any]:
    return plugin_option(disable_option(f))


def build_plugin_manager(plugins: tuple[str, ...], disable: tuple[str, ...]) -> OrbitwinPluginManager:
    """Plugin manager whose load warnings go to standard error as one line each."""

    def warn(text: str) -> None:
        click.echo(f"orbitwin: warning: {text}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_plugin_manager(extra=plugins, disable=disable, on_warning=warn)
