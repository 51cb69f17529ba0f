"""Building the plugin manager: every plugin, built-in or not, enters through the
entry-point group ``orbitwin``.

Nothing is loaded at import time; `make_plugin_manager` does it on request, so tests and
dask workers choose their plugins. A plugin that fails to import is reported by name as a
warning and left out (as xarray does for broken backends); the scenario then fails only if
it uses a table that plugin would have read. A hook implementation that matches no
specification is an error (pluggy's ``check_pending``), so a misspelt hook never goes
silently unused.

Plugins load only from installed entry points or an explicit ``--plugin MODULE``; a
scenario file can never name code to run.
"""

from __future__ import annotations

import importlib
import os
import sys
import importlib.metadata as md
import warnings
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
        self.failed: dict[str, str] = {}

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
        extra: module names to register as plugins after the installed ones
            (``--plugin``); a module that cannot be imported is a `UserError`, since the
            user asked for it by name.
        disable: plugin names to leave out (``--disable``).
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
    extra = list(extra)
    if extra and "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # --plugin finds modules in the working directory, as python -m does
    for modname in extra:
        try:
            module = importlib.import_module(modname)
        except Exception as exc:
            raise UserError(f"--plugin {modname}: cannot import it: {type(exc).__name__}: {exc}") from None
        name = getattr(module, "PLUGIN_NAME", modname.rsplit(".", 1)[-1])
        if name in disabled:
            continue
        if pm.get_plugin(name) is module:
            continue  # already installed and loaded under the same name
        if pm.get_plugin(name) is not None:
            raise UserError(f"--plugin {modname}: a plugin named '{name}' is already loaded; "
                            f"use --disable {name} to replace it")
        _register(pm, module, name)
        pm.infos[name] = PluginInfo(name, _module_version(module) or "unknown", "--plugin", modname)
    return pm


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
