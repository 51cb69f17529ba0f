"""``orbitwin validate``: check a scenario without running it."""

from __future__ import annotations

from typing import Any

import click

from twin_core.cli.common import build_plugin_manager, plugin_options
from twin_core.runner import load


def format_duration(seconds: float) -> str:
    """``seconds`` in the largest unit that keeps a readable number (``5.1 h``)."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.1f} s"


#: The name the engine's own stages go by (those folding contributions).
ENGINE = "core"


def checked_stages(plan: Any, pm: Any) -> list[tuple[str, Any]]:
    """Every build check a run of ``plan`` makes, over placeholder fields (nothing
    allocated or compiled: `twin_core.stagecheck.check_build`), with the stages the
    engine adds to the plugins' (one per combined quantity, folding its contributions);
    the ``(plugin, Stage)`` pairs in the order they run."""
    from twin_core.contributions import core_stages
    from twin_core.stagecheck import check_build

    return check_build(plan, pm, extra=lambda state, _stages: core_stages(plan, state))


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@plugin_options
def validate(scenario: str, plugins: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Check SCENARIO (a TOML file): every table and key, every value's type and range.

    Also makes every build check a run makes, without allocating a field or compiling
    (`twin_core.stagecheck.check_build`): what each plugin declares (one declaration and
    one writer per variable, interface units), each plugin's initial state and stages
    over placeholder fields (what a plugin refuses), every stage's signature and the
    fields it touches, and the stages' order (no cycle, every read provided); and says
    what the run needs: memory
    (refused when it would not fit, before anything per satellite is built), the store's
    size (an uncompressed upper bound) and the kernel's time at a measured rate. Warns
    when the run's dates leave a model's stated range. Exits 0 and prints a summary when
    it is valid; exits 2 with a message naming the file, key and value when it is not,
    3 naming the plugin (and stage) when a plugin's hook or stage is at fault.
    """
    from twin_core.plan import (
        LARGE_STORE_BYTES,
        SAT_STEPS_PER_S,
        available_memory,
        format_bytes,
        make_plan,
        store_size_warning,
    )

    pm = build_plugin_manager(plugins, disable)
    sc = load(scenario, pm)
    plan = make_plan(sc, pm)  # asks every plugin what it declares; refuses what memory cannot hold
    for text in plan.warnings:  # dates outside a model's stated range
        click.echo(f"orbitwin: warning: {text}", err=True)
    stages = checked_stages(plan, pm)
    run, sizing = sc.run, plan.sizing
    click.echo(f"{scenario}: valid ({plan.n_total} satellites, {run.duration_s / 3600:g} h at {run.step_s:g} s "
               f"steps, {run.n_records} records; tables: {', '.join(sorted(sc.raw))})")
    need, have = plan.memory_estimate(), available_memory()
    click.echo(f"  memory: about {format_bytes(need)} in one process ({need / plan.n_total:,.0f} bytes per "
               "satellite: fields, record buffers, checkpoints)"
               + (f"; {format_bytes(have)} available" if have is not None else ""))
    store = plan.store_bytes()
    click.echo(f"  store:  up to {format_bytes(store)}, uncompressed ({run.n_records:,} records of "
               f"{plan.n_total:,} satellites at {sizing.record_bytes_per_sat:,} bytes, {len(plan.metrics)} totals "
               f"at {sizing.n_metric_samples:,} times, checkpoints); compression makes it smaller")
    click.echo(f"  time:   about {format_duration(sizing.run_time_s)} in the kernel ({sizing.sat_steps:,} "
               f"satellite-steps at {SAT_STEPS_PER_S / 1e6:g} M/s, the full default physics on 2 cores as "
               "measured in docs/performance.md); writing the store comes on top")
    n_plugins = len({p for p, _s in stages if p != ENGINE})
    engine = " and the engine" if any(p == ENGINE for p, _s in stages) else ""
    step = [s.name for _p, s in stages if not s.coupled]
    coupled = [s.name for _p, s in stages if s.coupled]
    click.echo(f"  stages: {len(stages)} checked, from {n_plugins} plugin{'s' if n_plugins != 1 else ''}{engine}; they "
               f"run in this order: {', '.join(step) or 'none'}"
               + (f"; every {plan.scenario.run.coupling_steps * plan.scenario.run.step_s:g} s, the coupling pass: "
                  f"{', '.join(coupled)}" if coupled else ""))
    if store > LARGE_STORE_BYTES:
        click.echo(f"orbitwin: warning: {scenario}: {store_size_warning(store)}", err=True)
