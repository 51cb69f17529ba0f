"""One function per thing a user asks for, shared by the command line, tests and dask:
load a scenario with the right plugins, build the engine, run it into a store (whole,
resumed, or in shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from twin_core import __version__
from twin_core.engine import Engine
from twin_core.errors import UserError
from twin_core.plan import RunPlan, check_output_fits, make_plan
from twin_core.pluginmanager import OrbitwinPluginManager, make_plugin_manager
from twin_core.scenario import Scenario, load_scenario, parse_scenario


def load(path: str | Path, pm: OrbitwinPluginManager) -> Scenario:
    """Load a scenario file with the sections of the plugins in ``pm``."""
    return load_scenario(path, pm.config_sections(), pm.unavailable)


def parse(text: str, pm: OrbitwinPluginManager, path: str = "<scenario>") -> Scenario:
    """Parse scenario text with the sections of the plugins in ``pm``."""
    return parse_scenario(text, path, pm.config_sections(), pm.unavailable)


def plugin_manager(plugins: Iterable[str] = (), disable: Iterable[str] = (), **kwargs: Any) -> OrbitwinPluginManager:
    """`make_plugin_manager` under the name the command line uses."""
    return make_plugin_manager(extra=plugins, disable=disable, **kwargs)


def plugin_set(pm: OrbitwinPluginManager) -> dict[str, dict[str, str]]:
    """The loaded plugins as recorded in a store: name -> version and module. A resume
    must load the same set (`--plugin` and `--disable` as the run started with)."""
    return {name: {"version": info.version, "module": info.module}
            for name, info in sorted(pm.infos.items()) if info.origin != "disabled"}


def _plugin_difference(recorded: dict[str, Any], now: dict[str, dict[str, str]]) -> list[str]:
    out = []
    for name in sorted(set(recorded) - set(now)):
        out.append(f"plugin '{name}' ran then and is not loaded now (add --plugin "
                   f"{recorded[name].get('module', name)}, or leave out --disable {name})")
    for name in sorted(set(now) - set(recorded)):
        out.append(f"plugin '{name}' is loaded now and did not run then (--disable {name})")
    for name in sorted(set(now) & set(recorded)):
        if recorded[name].get("version") != now[name]["version"]:
            out.append(f"plugin '{name}' was version {recorded[name].get('version')}, now {now[name]['version']}")
    return out


def check_resumable(output: str | Path, scenario: Scenario,
                    pm: OrbitwinPluginManager | None = None) -> dict[str, Any]:
    """The root attributes of a store that ``scenario`` (with the plugins of ``pm``) may
    resume, or a `UserError` saying why it may not."""
    import zarr

    from twin_core.storedir import is_orbitwin_store

    if not is_orbitwin_store(output):
        raise UserError(f"--resume: {output} is not an orbitwin store")
    try:
        attrs = dict(zarr.open_group(str(output), mode="r").attrs)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"--resume: {output} is not a readable orbitwin store ({exc})") from None
    if "orbitwin_sweep" in attrs:
        raise UserError(f"--resume: {output} is a sweep store (orbitwin sweep): continue it with orbitwin sweep "
                        "--resume")
    if "scenario" not in attrs:
        raise UserError(f"--resume: {output} is not the store of an orbitwin run")
    if attrs.get("complete"):
        raise UserError(f"--resume: {output} is already complete")
    if attrs["scenario"] != scenario.text:
        raise UserError(f"--resume: {output} was made from a different scenario (its text differs from "
                        f"{scenario.path}); run without --resume, with --overwrite, to start again")
    if attrs.get("orbitwin_version") != __version__:
        raise UserError(f"--resume: {output} was made by orbitwin {attrs.get('orbitwin_version')}, this is "
                        f"{__version__}; results would not be byte-for-byte those of one run")
    from twin_core.observed import check_resume

    check_resume(attrs, scenario.observed, output)
    if pm is not None:
        recorded = attrs.get("plugin_set")
        if recorded is None:  # stores written before the plugin set was recorded
            recorded = {n: {"version": v, "module": n} for n, v in dict(attrs.get("plugins", {})).items()}
        diff = _plugin_difference(dict(recorded), plugin_set(pm))
        if diff:
            raise UserError(f"--resume: {output} was run with other plugins: " + "; ".join(diff)
                            + "; resume with the plugins it started with")
    return attrs


def run_shard(scenario: Scenario, pm: OrbitwinPluginManager, output: str | Path, shard: int, n_shards: int,
              sat_range: tuple[int, int] | None, *, arch: str = "cpu", resume: bool = False,
              progress: Callable[[int, int], None] | None = None, plan: RunPlan | None = None) -> Engine:
    """Run one shard (or the whole constellation) into an existing store, from its last
    checkpoint when ``resume`` is set."""
    engine = Engine(scenario, pm, arch=arch, sat_range=sat_range, plan=plan)
    try:
        start_and_run(engine, output, shard=shard, n_shards=n_shards, resume=resume, progress=progress)
    finally:
        engine.close()
    return engine


class OutputClaim:
    """The store of one run (whole or sharded), from the first check to the last write.

    Claimed before any work (`twin_core.storedir`): leftovers of killed runs beside it
    removed; with ``resume``, an absent or empty output means the run starts (with a
    ``notice``), an existing store is locked and must be of this scenario and plugin set;
    otherwise the path is checked (what ``--overwrite`` may replace). `check` then
    refuses, once the plan is made, a store that would not fit the disk or a resume with
    another shard count; `create` builds the store aside and renames it into place, locked. The lock is
    released on leaving the ``with`` block.
    """

    def __init__(self, output: str | Path, scenario: Scenario, pm: OrbitwinPluginManager, *, overwrite: bool,
                 resume: bool, notice: Callable[[str], None] | None = None):
        from twin_core.storedir import StoreLock, check_output, clean_leftovers, is_orbitwin_store

        self.output, self.scenario, self.pm = output, scenario, pm
        self.say = notice or (lambda text: None)
        self.lock: Any = None
        clean_leftovers(output)
        if resume and nothing_to_resume(output):
            self.say(f"{output} holds no store (the run stopped before its store was created); starting it")
            resume, overwrite = False, Path(output).exists()  # an empty folder may be replaced
        self.resume, self.overwrite = resume, overwrite
        self.resumed_attrs: dict[str, Any] = {}
        if resume:
            self.lock = StoreLock.acquire(output) if is_orbitwin_store(output) else None
            try:
                self.resumed_attrs = check_resumable(output, scenario, pm)
            except BaseException:
                self.__exit__()  # refused: the lock goes with the refusal
                raise
        else:
            check_output(output, overwrite=overwrite, scenario_path=scenario.path)

    def check(self, plan: RunPlan, *, n_shards: int = 1, no_space_check: bool = False) -> None:
        """Warnings of the plan, the disk space (a resumed store holds its space already:
        a warning only), and for a resume, that the store may be continued."""
        for text in plan.warnings:
            self.say(f"warning: {text}")
        large = check_output_fits(plan, self.output, n_shards=n_shards, allow_large=no_space_check or self.resume)
        if large:
            self.say(f"warning: {large}")
        if self.resume:
            ran = int(self.resumed_attrs.get("n_shards", 1))
            if ran != n_shards:
                raise UserError(f"--resume: {self.output} was run in {ran} shard(s), not {n_shards}; resume it "
                                + (f"with --shards {ran}" if ran > 1 else "without --shards"))

    def create(self, layout: Any, *, n_shards: int = 1) -> None:
        """Create the store (not for a resume), aside and renamed into place, and hold its lock."""
        from twin_core.storedir import creating
        from twin_core.store import create_store

        if self.resume:
            return
        with creating(self.output, overwrite=self.overwrite, scenario_path=self.scenario.path) as (tmp, lock):
            extra = {} if self.scenario.observed is None else {"from_telemetry": self.scenario.observed.identity()}
            create_store(tmp, layout, n_shards=n_shards,
                         attrs={"orbitwin_version": __version__, "plugin_set": plugin_set(self.pm), **extra})
        self.lock = lock

    def __enter__(self) -> "OutputClaim":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def run_to_store(scenario: Scenario, pm: OrbitwinPluginManager, output: str | Path, *,
                 arch: str = "cpu", overwrite: bool = False, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 notice: Callable[[str], None] | None = None, no_space_check: bool = False,
                 plan: RunPlan | None = None) -> Engine:
    """Build and run ``scenario`` in this process into the store ``output``, and mark it
    complete. ``plan``: one made earlier of the same scenario (saves making it again).

    Everything that can be checked is checked before the store exists (`OutputClaim`):
    the output path, the plan, memory, disk space, the whole engine build (stage
    ordering, writers, plugin hooks) and the kernel's compilation. The store is then
    created aside and renamed into place, locked for the whole run. With ``resume``, the
    store is locked and continued from its last checkpoint; an absent or empty output (a
    run killed before its store appeared) is started afresh, with a ``notice``. A store
    that would not fit the free disk space is refused unless ``no_space_check``.
    """
    from twin_core.store import mark_complete

    with OutputClaim(output, scenario, pm, overwrite=overwrite, resume=resume, notice=notice) as claim:
        plan = plan or make_plan(scenario, pm)
        claim.check(plan, no_space_check=no_space_check)
        engine = Engine(scenario, pm, arch=arch, plan=plan)  # every build check; allocates
        try:
            engine.compile()  # a stage taichi refuses is named before the store exists
            claim.create(engine.layout())
            start_and_run(engine, output, resume=claim.resume, progress=progress)
        finally:
            engine.close()
        finish_store(scenario, pm, output)
        mark_complete(output, engine.backend)
        return engine


def finish_store(scenario: Scenario, pm: OrbitwinPluginManager, output: str | Path) -> None:
    """Let plugins add what needs the whole run's records (``orbitwin_finish_store``),
    once every record is written and before the store is marked complete."""
    import zarr

    if not pm.hook.orbitwin_finish_store.get_hookimpls():
        return
    root = zarr.open_group(str(output), mode="r+")
    pm.call("orbitwin_finish_store", scenario=scenario, store=root)


def nothing_to_resume(output: str | Path) -> bool:
    """Whether ``output`` is absent or an empty folder (what a run killed before its store
    appeared leaves): ``--resume`` then starts the run."""
    out = Path(output)
    return not out.exists() or (out.is_dir() and not out.is_symlink() and not any(out.iterdir()))


def start_and_run(engine: Engine, output: str | Path, *, shard: int = 0, n_shards: int = 1, resume: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Run a built engine into an existing store, from its last checkpoint when
    ``resume`` is set."""
    from twin_core.output import ZarrSink, load_checkpoint

    start = 0
    if resume:
        ckpt = load_checkpoint(output, shard)
        if ckpt is not None:
            record, values = ckpt
            engine.restore(values)
            start = record + 1
    if start < engine.scenario.run.n_records:
        engine.run(ZarrSink(output, shard=shard, n_shards=n_shards), progress=progress, start_record=start)
