"""One function per thing a user asks for, shared by the command line, tests and dask:
load a scenario with the right plugins, build the engine, run it into a sink."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from twin_core import __version__
from twin_core.engine import Engine, Sink
from twin_core.pluginmanager import OrbitwinPluginManager, make_plugin_manager
from twin_core.scenario import Scenario, load_scenario, parse_scenario


def load(path: str | Path, pm: OrbitwinPluginManager) -> Scenario:
    """Load a scenario file with the sections of the plugins in ``pm``."""
    return load_scenario(path, pm.config_sections(), pm.failed)


def parse(text: str, pm: OrbitwinPluginManager, path: str = "<scenario>") -> Scenario:
    """Parse scenario text with the sections of the plugins in ``pm``."""
    return parse_scenario(text, path, pm.config_sections(), pm.failed)


def run_to_store(scenario: Scenario, pm: OrbitwinPluginManager, output: str | Path, *,
                 arch: str = "cpu", overwrite: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 on_built: Callable[[Engine], None] | None = None) -> Engine:
    """Build and run ``scenario`` into a new zarr store at ``output``."""
    from twin_core.output import ZarrSink

    sink = ZarrSink(output, overwrite=overwrite, attrs={"orbitwin_version": __version__})
    if Path(output).exists() and not overwrite:
        # checked before building, so a user does not wait for compilation to learn it
        from twin_core.errors import UserError

        raise UserError(f"{output} exists; pass --overwrite to replace it")
    engine = Engine(scenario, pm, arch=arch)
    try:
        if on_built:
            on_built(engine)
        engine.run(sink, progress=progress)
    finally:
        engine.close()
    return engine


def plugin_manager(plugins: Iterable[str] = (), disable: Iterable[str] = (), **kwargs: Any) -> OrbitwinPluginManager:
    """`make_plugin_manager` under the name the command line uses."""
    return make_plugin_manager(extra=plugins, disable=disable, **kwargs)


def run_with_sink(scenario: Scenario, pm: OrbitwinPluginManager, sink: Sink, arch: str = "cpu",
                  sat_range: tuple[int, int] | None = None) -> Engine:
    """Build and run into any sink (memory, zarr region), freeing the fields at the end."""
    engine = Engine(scenario, pm, arch=arch, sat_range=sat_range)
    try:
        engine.run(sink)
    finally:
        engine.close()
    return engine
