"""``orbitwin budget``: the mass and power budget of one satellite, from every plugin's
``orbitwin_mass_budget`` and ``orbitwin_power_budget``."""

from __future__ import annotations

import click

from twin_core.cli.common import build_plugin_manager, plugin_options
from twin_core.errors import BuildError
from twin_core.runner import load


def mass_total(items) -> tuple[float, float]:
    """(total mass, mass of the fixed items) of one satellite: structure and other items
    given as a fraction of the total scale it as ``fixed / (1 - sum(fractions))``."""
    fixed = sum(i.mass_kg for _p, i in items)
    frac = sum(i.fraction for _p, i in items)
    if not 0.0 <= frac < 1.0:
        raise BuildError(f"mass items given as fractions of the total add up to {frac:g}; expected < 1")
    return fixed / (1.0 - frac), fixed


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@plugin_options
def budget(scenario: str, plugins: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Print the mass and power budget of one satellite of SCENARIO, line by line with the
    plugin and the source of each figure."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm)
    masses = [(p, i) for p, items in pm.call("orbitwin_mass_budget", scenario=sc) for i in items]
    powers = [(p, i) for p, items in pm.call("orbitwin_power_budget", scenario=sc) for i in items]
    con = Console(width=150)
    total, _fixed = mass_total(masses)
    mt = Table(title=f"mass budget of one satellite: {total:,.1f} kg")
    for col in ("plugin", "item", "kg", "share", "source"):
        mt.add_column(col, overflow="fold", justify="right" if col in ("kg", "share") else "left")
    for p, i in masses:
        kg = i.mass_kg + i.fraction * total
        mt.add_row(p, escape(i.name) + (f" ({i.fraction:.0%} of total)" if i.fraction else ""), f"{kg:,.1f}",
                   f"{kg / total:.1%}" if total else "-", escape(i.source))
    mt.add_row("", "[bold]total[/bold]", f"[bold]{total:,.1f}[/bold]", "100%", "")
    con.print(mt)
    net = sum(i.power_w for _p, i in powers)
    pt = Table(title=f"power budget of one satellite (nominal): net {net:+,.0f} W")
    for col in ("plugin", "item", "W", "source"):
        pt.add_column(col, overflow="fold", justify="right" if col == "W" else "left")
    for p, i in powers:
        pt.add_row(p, escape(i.name), f"{i.power_w:+,.0f}", escape(i.source))
    pt.add_row("", "[bold]net (sources - loads)[/bold]", f"[bold]{net:+,.0f}[/bold]", "")
    con.print(pt)
