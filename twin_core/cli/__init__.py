"""The ``orbitwin`` command line: one module per command, plugins may add their own
(hook ``orbitwin_cli``).

Every user mistake reaches the user as one line on standard error and exit status 2;
a plugin that raises gives its name, the hook and the error, exit status 3.
"""

from __future__ import annotations

import sys
import warnings

import click

from twin_core import __version__
from twin_core.errors import PluginError, UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orbitwin")
def cli() -> None:
    """orbitwin: a digital twin of orbital data centers.

    Describe a constellation in a TOML scenario, run it, and read satellite-by-satellite
    sunlight, power, heat and compute from a zarr store.
    """


def _add_commands() -> None:
    from twin_core.cli import budget, info, plugins, run, validate

    cli.add_command(run.run)
    cli.add_command(budget.budget)
    cli.add_command(validate.validate)
    cli.add_command(plugins.plugins)
    cli.add_command(info.info)


def _add_plugin_commands() -> None:
    from twin_core.pluginmanager import make_plugin_manager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load problems are reported by the command that runs
        try:
            pm = make_plugin_manager()
            pm.call("orbitwin_cli", group=cli)
        except (UserError, PluginError) as exc:
            click.echo(f"orbitwin: warning: plugin commands not added: {exc}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _add_commands()
    _add_plugin_commands()
    try:
        cli.main(args=argv, prog_name="orbitwin", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("orbitwin: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UserError as exc:
        click.echo(f"orbitwin: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except PluginError as exc:
        click.echo(f"orbitwin: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("orbitwin: interrupted", err=True)
        sys.exit(130)
