"""Options shared by several commands."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import click

from twin_core.pluginmanager import OrbitwinPluginManager, is_plugin_file, make_plugin_manager

PLUGIN_HELP = ("Also load this plugin (repeatable): a file path/to/mod.py, loaded from that path, or a "
               "module name, imported from the installed packages (the working directory is searched "
               "last, only for a module found nowhere else).")


def _absolute_files(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Plugin files as absolute paths, so that dask workers (and a resume started from
    another directory) load the same file."""
    return tuple(str(Path(v).expanduser().resolve()) if is_plugin_file(v) else v for v in values)


plugin_option = click.option("--plugin", "plugins", multiple=True, metavar="MODULE", callback=_absolute_files,
                             help=PLUGIN_HELP)
disable_option = click.option(
    "--disable", multiple=True, metavar="NAME",
    help="Leave out the plugin NAME (repeatable); a NAME that is no plugin's is an error. See `orbitwin plugins`.")


def plugin_options(f: Callable[..., Any]) -> Callable[..., Any]:
    return plugin_option(disable_option(f))


def build_plugin_manager(plugins: tuple[str, ...], disable: tuple[str, ...]) -> OrbitwinPluginManager:
    """Plugin manager whose load warnings go to standard error as one line each."""

    def warn(text: str) -> None:
        click.echo(f"orbitwin: warning: {text}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_plugin_manager(extra=plugins, disable=disable, on_warning=warn)


def make_console(stderr: bool = False):
    """A rich console as wide as the terminal (``COLUMNS`` wins when set). Output that
    goes to no terminal at all (a pipe, a file) is 120 columns wide, so that a row of
    the bundled plugins' tables stays on one line for grep."""
    from rich.console import Console

    width = None if os.environ.get("COLUMNS", "").isdigit() or _on_terminal() else 120
    return Console(stderr=stderr, width=width)


def _on_terminal() -> bool:
    """Whether a standard stream is a terminal (rich then reads its width from it)."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                return True
        except (AttributeError, ValueError, OSError):  # closed or replaced streams
            continue
    return False


def make_table(title: str | None = None):
    """A rich table that spends few columns on its frame (a rule under the header, two
    spaces between columns), so that narrow terminals keep the width for the content."""
    from rich import box
    from rich.table import Table

    return Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, collapse_padding=True)
