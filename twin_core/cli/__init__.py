"""The ``orbitwin`` command line: one module per command, plugins may add their own
(hook ``orbitwin_cli``).

Every error that reaches the command line is one line on standard error, no traceback,
and the exit status of its class in `twin_core.errors` (every class there is caught):

- 0: done;
- 2: a user mistake (`UserError`: scenario, option, output), a usage error, or an
  operating-system error no command turned into a `UserError` (disk full, permission
  denied: the system's message with the path, as docs/reliability.md says);
- 3: the run stopped in a plugin: a hook raised (`PluginError`, naming the plugin and
  the hook) or a stage produced NaN or infinity (`NonFiniteError`);
- 1: a bug in orbitwin or a plugin (any other exception): its traceback, then one line
  saying it is a bug to report;
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import inspect
import sys
import traceback
import warnings

import click

from twin_core import __version__, errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orbitwin")
def cli() -> None:
    """orbitwin: a digital twin of orbital data centers.

    Describe a constellation in a TOML scenario, run it, and read satellite-by-satellite
    sunlight, power, heat and compute from a zarr store.
    """


def _add_commands() -> None:
    from twin_core.cli import budget, info, plugins, run, sweep, validate

    cli.add_command(run.run)
    cli.add_command(budget.budget)
    cli.add_command(validate.validate)
    cli.add_command(plugins.plugins)
    cli.add_command(info.info)
    cli.add_command(sweep.sweep)


def _add_plugin_commands() -> None:
    from twin_core.pluginmanager import make_plugin_manager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load problems are reported by the command that runs
        try:
            pm = make_plugin_manager()
            pm.call("orbitwin_cli", group=cli)
        except documented_errors() as exc:
            click.echo(f"orbitwin: warning: plugin commands not added: {one_line(exc)}", err=True)


def documented_errors() -> tuple[type[BaseException], ...]:
    """Every exception class defined in `twin_core.errors` (warnings aside): each has the
    exit status the documentation gives it, and none may reach the user as a traceback."""
    return tuple(cls for _name, cls in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(cls, BaseException) and not issubclass(cls, Warning)
                 and cls.__module__ == errors.__name__)


def one_line(text: str) -> str:
    """``text`` on one line (a message is one line on standard error, whatever a wrapped
    error put in it)."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the command and turns what it raises into an
    exit status (see the module docstring)."""
    _add_commands()
    _add_plugin_commands()
    try:
        cli.main(args=argv, prog_name="orbitwin", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("orbitwin: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except documented_errors() as exc:
        click.echo(f"orbitwin: error: {one_line(exc)}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except OSError as exc:  # disk full, permission denied: the system's words and the path
        click.echo(f"orbitwin: error: {one_line(exc)} (an operating-system error: check the path, its "
                   "permissions and the free space)", err=True)
        sys.exit(2)
    except Exception as exc:  # a bug: the traceback is what its report needs
        traceback.print_exc()
        click.echo(f"orbitwin: internal error: {one_line(f'{type(exc).__name__}: {exc}')}; this is a bug "
                   "in orbitwin or a plugin, not a mistake in the scenario: please report it with the "
                   "traceback above", err=True)
        sys.exit(1)
