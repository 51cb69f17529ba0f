"""One function per thing a user asks for, shared by the command line, tests and dask:
load a scenario with the right plugins, build the engine, run it into a store (whole,
resumed, or in shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from twin_core import __version__
from twin_core.backend import start_taichi
from twin_core.engine import Engine, layout_for
from twin_core.errors import UserError
from twin_core.plan import RunPlan, make_plan
from twin_core.pluginmanager import OrbitwinPluginManager, make_plugin_manager
from twin_core.scenario import Scenario, load_scenario, parse_scenario


def load(path: str | Path, pm: OrbitwinPluginManager) -> Scenario:
    """Load a scenario file with the sections of the plugins in ``pm``."""
    return load_scenario(path, pm.config_sections(), pm.failed)


def parse(text: str, pm: OrbitwinPluginManager, path: str = "<scenario>") -> Scenario:
    """Parse scenario text with the sections of the plugins in ``pm``."""
    return parse_scenario(text, path, pm.config_sections(), pm.failed)


def plugin_manager(plugins: Iterable[str] = (), disable: Iterable[str] = (), **kwargs: Any) -> OrbitwinPluginManager:
    """`make_plugin_manager` under the name the command line uses."""
    return make_plugin_manager(extra=plugins, disable=disable, **kwargs)


def check_resumable(output: str | Path, scenario: Scenario) -> dict[str, Any]:
    """The root attributes of a store that ``scenario`` may resume, or a `UserError`
    saying why it may not."""
    import zarr

    if not Path(output).exists():
        raise UserError(f"--resume: {output} does not exist; run without --resume to start it")
    try:
        attrs = dict(zarr.open_group(str(output), mode="r").attrs)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"--resume: {output} is not an orbitwin store ({exc})") from None
    if "scenario" not in attrs:
        raise UserError(f"--resume: {output} is not an orbitwin store")
    if attrs.get("complete"):
        raise UserError(f"--resume: {output} is already complete")
    if attrs["scenario"] != scenario.text:
        raise UserError(f"--resume: {output} was made from a different scenario (its text differs from "
                        f"{scenario.path}); run without --resume, with --overwrite, to start again")
    if attrs.get("orbitwin_version") != __version__:
        raise UserError(f"--resume: {output} was made by orbitwin {attrs.get('orbitwin_version')}, this is "
                        f"{__version__}; results would not be byte-for-byte those of one run")
    return attrs


def run_shard(scenario: Scenario, pm: OrbitwinPluginManager, output: str | Path, shard: int, n_shards: int,
              sat_range: tuple[int, int] | None, *, arch: str = "cpu", resume: bool = False,
              progress: Callable[[int, int], None] | None = None, plan: RunPlan | None = None) -> Engine:
    """Run one shard (or the whole constellation) into an existing store, from its last
    checkpoint when ``resume`` is set."""
    from twin_core.output import ZarrSink, load_checkpoint

    engine = Engine(scenario, pm, arch=arch, sat_range=sat_range, plan=plan)
    try:
        start = 0
        if resume:
            ckpt = load_checkpoint(output, shard)
            if ckpt is not None:
                record, values = ckpt
                engine.restore(values)
                start = record + 1
        if start < scenario.run.n_records:
            engine.run(ZarrSink(output, shard=shard, n_shards=n_shards), progress=progress, start_record=start)
    finally:
        engine.close()
    return engine


def run_to_store(scenario: Scenario, pm: OrbitwinPluginManager, output: str | Path, *,
                 arch: str = "cpu", overwrite: bool = False, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> Engine:
    """Build and run ``scenario`` in this process into the store ``output`` (created
    unless ``resume``), and mark it complete."""
    from twin_core.store import create_store, mark_complete

    if resume:
        attrs = check_resumable(output, scenario)
        if int(attrs.get("n_shards", 1)) != 1:
            raise UserError(f"--resume: {output} was run in {attrs['n_shards']} shards; resume it with "
                            f"--shards {attrs['n_shards']}")
    elif Path(output).exists() and not overwrite:
        raise UserError(f"{output} exists; pass --overwrite to replace it, or --resume to continue it")
    plan = make_plan(scenario, pm)
    backend = start_taichi(arch)  # type: ignore[arg-type]
    if not resume:
        create_store(output, layout_for(plan, pm, backend), overwrite=overwrite,
                     attrs={"orbitwin_version": __version__})
    engine = run_shard(scenario, pm, output, 0, 1, None, arch=arch, resume=resume, progress=progress, plan=plan)
    mark_complete(output, engine.backend)
    return engine
