"""``orbitwin plugins``: what is installed and what each plugin provides."""

from __future__ import annotations

import click

from twin_core.cli.common import build_plugin_manager, plugin_options
from twin_core.declarations import Combined
from twin_core.errors import PluginError, UserError


@click.command()
@click.option("--scenario", type=click.Path(dir_okay=False),
              help="List the variables each plugin declares for this scenario.")
@plugin_options
def plugins(scenario: str | None, plugins: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """List plugins: name, version, where it comes from, and the variables it provides.

    Without --scenario, each plugin lists every variable it can declare. An installed
    plugin that is broken (fails to import, or a hook is misspelt or lacks @hookimpl) is
    listed as BROKEN with the reason, and left out.
    """
    from rich.markup import escape

    from twin_core.cli.common import make_console, make_table
    from twin_core.runner import load

    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm) if scenario else None
    provided: dict[str, list[str]] = {}
    dropped: list[tuple[str, object]] = []
    try:
        for plugin, vs in pm.call("orbitwin_variables", scenario=sc):
            provided.setdefault(plugin, []).extend(
                v.name + (f" ({v.op} of contributions)" if isinstance(v, Combined) else "") for v in vs)
        for plugin, cs in pm.call("orbitwin_common_series", scenario=sc):
            provided.setdefault(plugin, []).extend(c.name for c in cs)
        if sc is not None:
            for plugin, cs in pm.call("orbitwin_contributions", scenario=sc):
                provided.setdefault(plugin, []).extend(
                    f"+ {c.variable} -> {c.target}" + (f" ({c.reason})" if c.reason else "") for c in cs)
            from twin_core.plan import preflight

            dropped = list(preflight(sc, pm, shards=None).dropped)
    except (PluginError, UserError) as exc:
        click.echo(f"orbitwin: warning: variables not listed: {exc}", err=True)
    sections = pm.config_sections()
    con = make_console()
    table = make_table("orbitwin plugins")
    # the version under the name and, on a narrow terminal, a short "from" column, so
    # that 80 columns show every variable name whole
    table.add_column("plugin", overflow="fold")
    table.add_column("from", overflow="fold", max_width=14 if con.width < 120 else None)
    table.add_column("tables", overflow="fold")
    table.add_column("provides", overflow="fold")
    for name, info in pm.infos.items():
        # escape: "[battery]" is rich markup (a style named battery) and would vanish
        tabs = "\n".join(escape(f"[{t}]") for t, (_c, p) in sections.items() if p == name)
        origin = info.origin if info.origin != "--plugin" else f"--plugin {info.module}"
        table.add_row(f"{escape(name)}\n[dim]{escape(info.version)}[/dim]", escape(origin), tabs,
                      escape("\n".join(provided.get(name, []))))
    for name, why in pm.failed.items():  # fail-soft loading (twin_core.pluginmanager): listed, not loaded
        table.add_row(f"{escape(name)}\n[dim]not loaded[/dim]", "BROKEN: left out", "", escape(why))
    con.print(table)
    for plugin, c in dropped:  # contributions whose quantity no loaded plugin declares
        click.echo(f"left out: plugin '{plugin}' contributes {c.variable} to {c.target}, which no loaded plugin "
                   "declares (its plugin is not loaded or not configured)")
