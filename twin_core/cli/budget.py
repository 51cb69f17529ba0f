"""``orbitwin budget``: the mass and power budget of one satellite, from every plugin's
``orbitwin_mass_budget`` and ``orbitwin_power_budget``."""

from __future__ import annotations

import click

from twin_core.cli.common import build_plugin_manager, plugin_options
from twin_core.budgets import mass_items, mass_total, power_items
from twin_core.runner import load


def silent_plugins(pm, hook: str, items: list, scenario) -> list[tuple[str, list[str]]]:
    """Plugins that implement ``hook`` but gave nothing for ``scenario`` (by name), each
    with the scenario tables it reads that the scenario lacks: a plugin contributes only
    when its table is there."""
    contributed = {p for p, _i in items}
    sections = pm.config_sections()
    names = sorted({pm.get_name(impl.plugin) for impl in getattr(pm.hook, hook).get_hookimpls()} - contributed)
    return [(name, [t for t, (_c, p) in sections.items() if p == name and t not in scenario.raw]) for name in names]


def explain_silence(pm, hook: str, items: list, scenario, what: str) -> list[str]:
    """Lines (rich markup) saying which plugins added nothing to the ``what`` budget and
    which tables would make them, so that "0.0 kg" or "net +0" never stands unexplained."""
    from rich.markup import escape

    silent = silent_plugins(pm, hook, items, scenario)
    parts = [name + (" (no " + " or ".join(escape(f"[{t}]") for t in tabs) + " table)" if tabs
                     else " (nothing for this scenario)") for name, tabs in silent]
    lines = []
    if not items:
        lines.append(f"no plugin enabled for this scenario declares {what} items, so there is no total.")
        lines.append(f"plugins that declare {what} items add nothing here: " + ", ".join(parts)
                     + "; add their tables to the scenario." if parts
                     else f"none of the plugins enabled implements {hook}.")
        if pm.disabled:
            lines.append("left out with --disable: " + ", ".join(sorted(pm.disabled)) + ".")
    elif parts:
        lines.append("nothing from: " + ", ".join(parts) + ".")
    return lines


def _print_lines(con, lines: list[str]) -> None:
    from rich.padding import Padding

    for line in lines:
        con.print(Padding(line, (0, 0, 0, 2)))


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@plugin_options
def budget(scenario: str, plugins: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Print the mass and power budget of one satellite of SCENARIO, line by line with the
    plugin and the source of each figure; when a plugin adds nothing, say which and
    which scenario table it would need."""
    from rich.markup import escape

    from twin_core.cli.common import make_console, make_table

    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm)
    masses = mass_items(pm, sc)
    powers = power_items(pm, sc)
    con = make_console()
    total, _fixed = mass_total(masses)
    if masses:
        mt = make_table(f"mass budget of one satellite: {total:,.1f} kg")
        for col in ("plugin", "item", "kg", "share", "source"):
            mt.add_column(col, overflow="fold", justify="right" if col in ("kg", "share") else "left")
        for p, i in masses:
            kg = i.mass_kg + i.fraction * total
            mt.add_row(p, escape(i.name) + (f" ({i.fraction:.0%} of total)" if i.fraction else ""), f"{kg:,.1f}",
                       f"{kg / total:.1%}" if total else "-", escape(i.source))
        mt.add_row("", "[bold]total[/bold]", f"[bold]{total:,.1f}[/bold]", "100%", "")
        con.print(mt)
    else:
        con.print("[bold]mass budget of one satellite[/bold]: no items")
    _print_lines(con, explain_silence(pm, "orbitwin_mass_budget", masses, sc, "mass"))
    con.print()
    net = sum(i.power_w for _p, i in powers)
    if powers:
        pt = make_table(f"power budget of one satellite (nominal): net {net:+,.0f} W")
        for col in ("plugin", "item", "W", "source"):
            pt.add_column(col, overflow="fold", justify="right" if col == "W" else "left")
        for p, i in powers:
            pt.add_row(p, escape(i.name), f"{i.power_w:+,.0f}", escape(i.source))
        pt.add_row("", "[bold]net (sources - loads)[/bold]", f"[bold]{net:+,.0f}[/bold]", "")
        con.print(pt)
    else:
        con.print("[bold]power budget of one satellite[/bold]: no items")
    _print_lines(con, explain_silence(pm, "orbitwin_power_budget", powers, sc, "power"))
