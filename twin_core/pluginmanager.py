"""Building the plugin manager: every plugin, built-in or not, enters through the
entry-point group ``orbitwin``.

Nothing is loaded at import time; `make_plugin_manager` does it on request, so tests and
dask workers choose their plugins. A plugin that fails to import is reported by name as a
warning and left out (as xarray does for broken backends); the scenario then fails only if
it uses a table that plugin would have read. A hook implementation that matches no
specification is an error (pluggy's ``check_pending``), so a misspelt hook never goes
silently unused.

Plugins load only from installed entry points or an explicit ``--plugin MODULE``; a
scenario file can never name code to run. ``--plugin`` takes a file (``path/to/mod.py``:
anything ending in ``.py`` or holding a path separator), loaded from that path alone, or a
module name, imported from ``sys.path`` as it is; only a module found nowhere there is
looked for in the working directory, which is then appended to ``sys.path``, never put
first, so a stray ``cattrs.py`` or ``taichi.py`` in the working directory cannot stand in
for the library.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import os
import sys
import importlib.metadata as md
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable

import attrs
import pluggy

from twin_core import hookspecs
from twin_core.errors import BuildError, PluginError, UserError

GROUP = "orbitwin"


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded; the run goes on without it."""


@attrs.frozen
class PluginInfo:
    """What ``orbitwin plugins`` shows about one plugin."""

    name: str
    version: str
    origin: str  # "built-in", "entry point <dist>", "--plugin"
    module: str


class OrbitwinPluginManager(pluggy.PluginManager):
    """pluggy's manager plus what orbitwin knows about where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(GROUP)
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.failed: dict[str, str] = {}  # plugin name -> why it failed to load
        self.disabled: dict[str, str] = {}  # plugin name -> why it is left out (--disable)

    @property
    def unavailable(self) -> dict[str, str]:
        """Plugin name -> why it is not loaded (failed to load, or left out with
        ``--disable``): what the scenario loader needs to explain a table that belongs to
        a plugin that is not there."""
        return {**self.failed, **self.disabled}

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on every plugin, naming the plugin and hook if one raises.

        Results come in registration order (built-ins first, then others in the order
        given), ``None`` results dropped.
        """
        hook = getattr(self.hook, hook_name)
        out = []
        for impl in reversed(hook.get_hookimpls()):  # pluggy calls LIFO; we want FIFO
            args = {k: kwargs[k] for k in impl.argnames}
            try:
                res = impl.function(**args)
            except UserError:
                raise
            except Exception as exc:  # a plugin's bug, reported with its name
                raise PluginError(self.get_name(impl.plugin) or "?", hook_name, exc) from exc
            if res is not None:
                out.append((self.get_name(impl.plugin), res))
        return out

    def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        for _name, res in self.call(hook_name, **kwargs):
            return res
        return None

    def config_sections(self) -> dict[str, tuple[type, str]]:
        """Table name -> (attrs class, plugin name); two plugins claiming one table is an
        error."""
        sections: dict[str, tuple[type, str]] = {}
        for plugin, result in self.call("orbitwin_config_sections"):
            for table, cls in result.items():
                if table in sections:
                    raise BuildError(f"plugins '{sections[table][1]}' and '{plugin}' both claim "
                                     f"scenario table [{table}]; disable one with --disable")
                sections[table] = (cls, plugin)
        return sections


def _dist_version(dist: md.Distribution | None) -> str:
    return dist.version if dist is not None else "unknown"


def _module_version(module: Any) -> str:
    return str(getattr(module, "__version__", "") or "")


def make_plugin_manager(extra: Iterable[str] = (), disable: Iterable[str] = (),
                        entry_points: bool = True,
                        on_warning: Callable[[str], None] | None = None) -> OrbitwinPluginManager:
    """Build a plugin manager.

    Args:
        extra: module names or ``.py`` file paths to register as plugins after the
            installed ones (``--plugin``; see the module docstring for where they are
            looked for); one that cannot be imported is a `UserError`, since the user
            asked for it by name.
        disable: plugin names to leave out (``--disable``); a name that is no
            plugin's is a `UserError` suggesting the closest.
        entry_points: load the installed plugins of group ``orbitwin``.
        on_warning: called with the text of each load warning (default: ``warnings.warn``).
    """
    pm = OrbitwinPluginManager()
    disabled = set(disable)
    warn = on_warning or (lambda text: warnings.warn(text, PluginLoadWarning, stacklevel=3))
    if entry_points:
        seen: dict[str, str] = {}
        for ep in sorted(md.entry_points(group=GROUP), key=lambda e: (not _is_builtin(e), e.name)):
            if ep.name in disabled:
                pm.infos[ep.name] = PluginInfo(ep.name, _dist_version(ep.dist), "disabled", ep.value)
                pm.disabled[ep.name] = _disabled_reason(ep.name)
                continue
            if ep.name in seen:
                if seen[ep.name] != ep.value:
                    warn(f"orbitwin plugin '{ep.name}' is installed twice ({seen[ep.name]} and "
                         f"{ep.value}); using the first")
                continue
            try:
                module = ep.load()
            except Exception as exc:  # broken plugins warn, they do not crash the run
                pm.failed[ep.name] = f"{type(exc).__name__}: {exc}"
                warn(f"orbitwin plugin '{ep.name}' ({ep.value}) failed to load and is left out: "
                     f"{type(exc).__name__}: {exc}")
                continue
            seen[ep.name] = ep.value
            _register(pm, module, ep.name)
            origin = "built-in" if _is_builtin(ep) else f"entry point of {ep.dist.name if ep.dist else '?'}"
            pm.infos[ep.name] = PluginInfo(ep.name, _module_version(module) or _dist_version(ep.dist),
                                           origin, ep.value)
    known = {ep.name for ep in md.entry_points(group=GROUP)}
    for spec in extra:
        module, default_name = _import_plugin(spec)
        name = getattr(module, "PLUGIN_NAME", default_name)
        known.add(name)
        if name in disabled:
            pm.disabled[name] = _disabled_reason(name)
            continue
        if pm.get_plugin(name) is module:
            continue  # already installed and loaded under the same name
        if pm.get_plugin(name) is not None:
            raise UserError(f"--plugin {spec}: a plugin named '{name}' is already loaded; "
                            f"use --disable {name} to replace it")
        _register(pm, module, name)
        pm.infos[name] = PluginInfo(name, _module_version(module) or "unknown", "--plugin",
                                    str(module.__file__) if is_plugin_file(spec) else spec)
    _check_disabled_names(disabled, known)
    return pm


def _disabled_reason(name: str) -> str:
    return f"it is left out with --disable {name}; drop that option to use this table"


def _check_disabled_names(disabled: set[str], known: set[str]) -> None:
    """``--disable`` of a name no plugin has is a typo, not a wish: refuse it, with the
    closest name, rather than run with the plugin the user meant to leave out."""
    for name in sorted(disabled - known):
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UserError(f"--disable {name}: no plugin is named '{name}'; {hint}"
                        f"plugins: {', '.join(sorted(known)) or 'none'} (see `orbitwin plugins`)")


def is_plugin_file(spec: str) -> bool:
    """``--plugin`` names a file when it ends in ``.py`` or holds a path separator."""
    return spec.endswith(".py") or "/" in spec or (os.sep in spec) or bool(os.altsep and os.altsep in spec)


def _import_plugin(spec: str) -> tuple[ModuleType, str]:
    """The module ``--plugin spec`` names, and its default plugin name; a `UserError`
    naming ``spec`` if it cannot be imported (the user asked for it by name)."""
    try:
        if is_plugin_file(spec):
            return _import_file(spec), Path(spec).stem
        return _import_module(spec), spec.rsplit(".", 1)[-1]
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"--plugin {spec}: cannot import it: {type(exc).__name__}: {exc}") from None


def _import_module(modname: str) -> ModuleType:
    """Import ``modname`` from ``sys.path`` as it is. Only when the module itself is
    found nowhere is the working directory searched, appended (never prepended) to
    ``sys.path``: a file in the working directory never shadows an installed module."""
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not (modname == missing or modname.startswith(missing + ".")):
            raise  # the module was found; something it imports is missing
        cwd = os.getcwd()
        if cwd in sys.path or "" in sys.path:
            raise
    sys.path.append(cwd)
    importlib.invalidate_caches()
    return importlib.import_module(modname)


def _import_file(spec: str) -> ModuleType:
    """Load the plugin file ``spec`` by its path alone, under a module name of its own
    (so that a plugin file called ``cattrs.py`` does not replace the library either);
    loading one file twice in a process gives the same module."""
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise UserError(f"--plugin {spec}: no such file ({path})")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    modname = f"orbitwin_plugin_file_{path.stem.replace('-', '_')}_{digest}"
    module = sys.modules.get(modname)
    if module is not None:
        return module
    file_spec = importlib.util.spec_from_file_location(modname, path)
    if file_spec is None or file_spec.loader is None:
        raise UserError(f"--plugin {spec}: not a Python module")
    module = importlib.util.module_from_spec(file_spec)
    sys.modules[modname] = module  # attrs and cattrs look classes' modules up here
    try:
        file_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[modname]
        raise
    return module


def _is_builtin(ep: md.EntryPoint) -> bool:
    return ep.value.startswith("orbitwin_plugins.")


def _register(pm: OrbitwinPluginManager, module: Any, name: str) -> None:
    try:
        pm.register(module, name=name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(name=name)
        raise BuildError(f"plugin '{name}': {exc}") from None
    except ValueError as exc:
        raise BuildError(f"plugin '{name}' cannot be registered: {exc}") from None
