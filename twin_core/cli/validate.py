"""``orbitwin validate``: check a scenario without running it."""

from __future__ import annotations

import click

from twin_core.cli.common import build_plugin_manager, plugin_options
from twin_core.runner import load


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@plugin_options
def validate(scenario: str, plugins: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Check SCENARIO (a TOML file): every table and key, every value's type and range.

    Also asks every plugin what it would declare and checks that the run fits in memory.
    Exits 0 and prints a one-line summary when it is valid; exits 2 with a message naming
    the file, key and value when it is not.
    """
    from twin_core.plan import check_fits, make_plan

    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm)
    plan = make_plan(sc, pm)  # asks every plugin what it declares: the run's build checks
    check_fits(plan)
    count = f"{plan.n_total} satellites, "
    run = sc.run
    click.echo(f"{scenario}: valid ({count}{run.duration_s / 3600:g} h at {run.step_s:g} s steps, "
               f"{run.n_records} records; tables: {', '.join(sorted(sc.raw))})")
