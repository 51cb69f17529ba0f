"""Building the plugin manager: every plugin, built-in or not, enters through the
entry-point group ``orbitwin``.

Nothing is loaded at import time; `make_plugin_manager` does it on request, so tests and
dask workers choose their plugins.

**Order.** Plugins are registered, and their hooks called, in one fixed order: the
built-in plugins first (`BUILTIN_ORDER`: the orbit first, since the others start from
it), then the other installed plugins sorted by entry-point name, then the ``--plugin``
modules in the order given. A hook implementation marked ``@hookimpl(tryfirst=True)``
is called before every unmarked one, one marked ``trylast=True`` after them
(`OrbitwinPluginManager.call`). The order never depends on what happens to be installed
in what order, so the same plugins always give the same run.

**Fail-soft loading**, as xarray does for broken backends. An installed plugin that fails
to import, or whose module would be misread (a hook name that matches no specification,
a function named like a hook without ``@hookimpl``, which pluggy would silently never
call, a hook asking for an argument the hook does not pass), is reported once, by name,
with the problem and the closest hook name where there is one, and left out: every
command keeps working without it, ``orbitwin plugins`` lists it as broken with the
reason, and a scenario using its table fails naming it (`OrbitwinPluginManager.failed`).
A plugin given with ``--plugin`` is different: the user asked for it on this very
command line, most likely while writing it, so any of these problems is an error naming
it rather than a run that quietly goes on without the code they meant to try.

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
import inspect
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

#: The built-in plugins in the order they are registered and called: each may start from
#: what the ones before it set (the orbit first). A built-in not listed comes after
#: these, by name.
BUILTIN_ORDER = ("orbit", "environment", "solar", "battery", "power", "payload", "thermal", "formation", "crosslinks",
                 "ground", "launch", "costs", "sizing", "radiation",
                 "latency", "compare")

#: What answering a first-result hook means, for the message when two plugins do.
_FIRST_RESULT_WHAT = {
    "orbitwin_satellites": "define the constellation",
    "orbitwin_satellite_count": "define the constellation",
    "orbitwin_observed_state": "set states from the same observed variable",
}


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
        self.failed: dict[str, str] = {}  # plugin name -> why it is broken (import or hooks) and left out
        self.disabled: dict[str, str] = {}  # plugin name -> why it is left out (--disable)

    @property
    def unavailable(self) -> dict[str, str]:
        """Plugin name -> why it is not loaded (failed to load, or left out with
        ``--disable``): what the scenario loader needs to explain a table that belongs to
        a plugin that is not there."""
        return {**self.failed, **self.disabled}

    def hook_impls(self, hook_name: str) -> list[pluggy.HookImpl]:
        """A hook's implementations in calling order: those marked ``tryfirst``, then the
        unmarked ones, then those marked ``trylast``; within each, plugin registration
        order (see the module docstring).

        pluggy's own order is not used: it calls the last registered plugin first (its
        ``get_hookimpls`` lists registration order and its caller walks it backwards),
        which would let a third-party plugin run before the built-in orbit it reads.
        """
        rank = {name: i for i, (name, _plugin) in enumerate(self.list_name_plugin())}
        impls = getattr(self.hook, hook_name).get_hookimpls()
        return sorted(impls, key=lambda im: (0 if im.tryfirst else 2 if im.trylast else 1,
                                             rank.get(im.plugin_name, len(rank))))

    def _answers(self, hook_name: str, kwargs: dict[str, Any]) -> list[tuple[pluggy.HookImpl, Any]]:
        """Call every implementation in `hook_impls` order: ``(impl, result)`` for each
        non-``None`` result; a plugin that raises is a `PluginError` naming it."""
        out = []
        for impl in self.hook_impls(hook_name):
            args = {k: kwargs[k] for k in impl.argnames}
            try:
                res = impl.function(**args)
            except UserError:
                raise
            except Exception as exc:  # a plugin's bug, reported with its name
                raise PluginError(impl.plugin_name or "?", hook_name, exc) from exc
            if res is not None:
                out.append((impl, res))
        return out

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on every plugin, naming the plugin and hook if one raises.

        Returns ``(plugin name, result)`` pairs in calling order (`hook_impls`: built-ins
        first, then other installed plugins by name, then ``--plugin`` modules as given;
        ``tryfirst``/``trylast`` implementations ahead of / after those), ``None``
        results dropped.
        """
        return [(impl.plugin_name, res) for impl, res in self._answers(hook_name, kwargs)]

    def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        """The one answer to a first-result hook, or ``None`` when no plugin answers.

        Two plugins answering is a `BuildError` naming both (a third-party
        constellation must not silently replace the built-in one, nor be silently
        ignored), unless the first to answer marked its implementation ``tryfirst`` and
        the other did not: that plugin takes the hook over on purpose.
        """
        answers = self._answers(hook_name, kwargs)
        if len(answers) > 1 and not (answers[0][0].tryfirst and not answers[1][0].tryfirst):
            (first, _), (second, _) = answers[:2]
            what = _FIRST_RESULT_WHAT.get(hook_name, f"answer {hook_name}, which takes one answer")
            raise BuildError(f"plugins '{first.plugin_name}' and '{second.plugin_name}' both {what} "
                             f"({hook_name}); disable one with --disable, or mark the hook of the one "
                             "meant to win @hookimpl(tryfirst=True)")
        return answers[0][1] if answers else None

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
                        on_warning: Callable[[str], None] | None = None,
                        installed: Iterable[md.EntryPoint] | None = None) -> OrbitwinPluginManager:
    """Build a plugin manager.

    Args:
        extra: module names or ``.py`` file paths to register as plugins after the
            installed ones (``--plugin``; see the module docstring for where they are
            looked for); one that cannot be imported, or whose hooks are wrong, is an
            error (`UserError`, `BuildError`), since the user asked for it by name.
        disable: plugin names to leave out (``--disable``); a name that is no
            plugin's is a `UserError` suggesting the closest.
        entry_points: load the installed plugins of group ``orbitwin``.
        on_warning: called with the text of each load warning (default: ``warnings.warn``).
        installed: the entry points to load instead of those installed in group
            ``orbitwin`` (tests use it to stand for installed packages).
    """
    pm = OrbitwinPluginManager()
    disabled = set(disable)
    warn = on_warning or (lambda text: warnings.warn(text, PluginLoadWarning, stacklevel=3))
    eps = list(md.entry_points(group=GROUP) if installed is None else installed)
    if entry_points:
        _load_entry_points(pm, eps, disabled, warn)
    known = {ep.name for ep in eps}
    for spec in extra:
        module, default_name = _import_plugin(spec)
        name = getattr(module, "PLUGIN_NAME", default_name)
        known.add(name)
        if pm.is_registered(module):
            continue  # already installed and loaded (under its entry point's name): nothing to add
        if pm.get_plugin(name) is not None:
            raise UserError(f"--plugin {spec}: a plugin named '{name}' is already loaded; "
                            f"use --disable {name} to replace the installed one with this module")
        pm.disabled.pop(name, None)  # --disable NAME --plugin FILE: this module replaces the installed NAME
        problems = _register(pm, module, name)
        if problems:
            raise BuildError(f"--plugin {spec}: plugin '{name}': {'; '.join(problems)}")
        if not pm.get_hookcallers(module):
            pm.unregister(module)
            raise UserError(f"--plugin {spec}: the module {getattr(module, '__file__', spec)} implements no orbitwin "
                            "hook (no function marked @hookimpl); is it the plugin you meant?")
        pm.infos[name] = PluginInfo(name, _module_version(module) or "unknown", "--plugin",
                                    str(module.__file__) if is_plugin_file(spec) else spec)
    _check_disabled_names(disabled, known)
    return pm


def _builtin_rank(ep: md.EntryPoint) -> tuple[int, int, str]:
    """Sort key of the registration order: built-ins in `BUILTIN_ORDER`, other built-ins
    by name, then every other installed plugin by name."""
    if not _is_builtin(ep):
        return (1, 0, ep.name)
    return (0, BUILTIN_ORDER.index(ep.name) if ep.name in BUILTIN_ORDER else len(BUILTIN_ORDER), ep.name)


def _load_entry_points(pm: OrbitwinPluginManager, eps: list[md.EntryPoint], disabled: set[str],
                       warn: Callable[[str], None]) -> None:
    """Register the installed plugins in the order of `_builtin_rank`; one that fails to
    import or whose hooks are wrong is warned about once and left out (`pm.failed`)."""
    seen: dict[str, str] = {}
    for ep in sorted(eps, key=_builtin_rank):
        if ep.name in disabled:
            pm.infos[ep.name] = PluginInfo(ep.name, _dist_version(ep.dist), "disabled", ep.value)
            pm.disabled[ep.name] = _disabled_reason(ep.name)
            continue
        if ep.name in seen:
            if seen[ep.name] != ep.value:
                warn(f"orbitwin plugin '{ep.name}' is installed twice ({seen[ep.name]} and "
                     f"{ep.value}); using the first")
            continue
        seen[ep.name] = ep.value
        try:
            module = ep.load()
        except Exception as exc:  # broken plugins warn, they do not crash the run
            pm.failed[ep.name] = f"{type(exc).__name__}: {exc}"
            warn(f"orbitwin plugin '{ep.name}' ({ep.value}) failed to load and is left out: "
                 f"{type(exc).__name__}: {exc}")
            continue
        problems = _register(pm, module, ep.name)
        if problems:
            pm.failed[ep.name] = "; ".join(problems)
            warn(f"orbitwin plugin '{ep.name}' ({ep.value}) is left out: {pm.failed[ep.name]}")
            continue
        origin = "built-in" if _is_builtin(ep) else f"entry point of {ep.dist.name if ep.dist else '?'}"
        pm.infos[ep.name] = PluginInfo(ep.name, _module_version(module) or _dist_version(ep.dist),
                                       origin, ep.value)


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


def _register(pm: OrbitwinPluginManager, plugin: Any, name: str) -> list[str]:
    """Register ``plugin`` as ``name`` unless `hook_problems` finds something wrong;
    returns the problems (empty when it is registered)."""
    problems = hook_problems(pm, plugin)
    if problems:
        return problems
    if pm.is_registered(plugin):
        return [f"its module is already loaded as plugin '{pm.get_name(plugin)}'"]
    if pm.get_plugin(name) is not None:
        return [f"a plugin named '{name}' is already loaded"]
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except (pluggy.PluginValidationError, ValueError) as exc:  # what hook_problems does not foresee
        if pm.get_plugin(name) is plugin:
            pm.unregister(name=name)
        return [" ".join(str(exc).split())]
    return []


def hook_names() -> list[str]:
    """Every hook a plugin can implement (the specifications in `twin_core.hookspecs`)."""
    return sorted(n for n, fn in vars(hookspecs).items()
                  if n.startswith(f"{GROUP}_") and getattr(fn, f"{GROUP}_spec", None) is not None)


def hook_problems(pm: OrbitwinPluginManager, plugin: Any) -> list[str]:
    """What would make ``plugin``'s hooks fail, or silently never run, one line each:

    - a hook implementation (``@hookimpl``) whose name matches no specification;
    - a function named like a hook, or spelt close to one, without ``@hookimpl``: pluggy
      only calls marked functions, so it would never run and nothing would say so (the
      ``orbitwin_`` prefix is reserved for hooks);
    - a hook implementation that asks for an argument its hook does not pass, or is a
      wrapper (``wrapper``/``hookwrapper``, which `OrbitwinPluginManager.call` does not
      run as wrappers).

    Each names the closest hook where one is close (difflib).
    """
    hooks = hook_names()
    problems = []
    for attr in sorted(dir(plugin)):
        if attr.startswith("__"):
            continue
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            problem = _unmarked_problem(plugin, attr, hooks)
        else:
            problem = _marked_problem(pm, getattr(plugin, attr), opts, opts.get("specname") or attr, hooks)
        if problem:
            problems.append(problem)
    return problems


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def _close_hook(name: str, hooks: list[str], cutoff: float = 0.8) -> str | None:
    close = difflib.get_close_matches(name, hooks, n=1, cutoff=cutoff)
    return close[0] if close else None


def _unmarked_problem(plugin: Any, attr: str, hooks: list[str]) -> str | None:
    """A function without ``@hookimpl`` that looks like a hook (see `hook_problems`)."""
    if not inspect.isroutine(inspect.getattr_static(plugin, attr, None)):
        return None
    if attr in hooks:
        return (f"function '{attr}' lacks @hookimpl, so it would never be called "
                "(decorate it with twin_core.hookimpl)")
    prefixed = attr.startswith(f"{GROUP}_")
    # a misspelt prefix counts too (orbitwn_metrics), a helper of similar words does not
    # (orbit_metrics)
    head = attr.split("_", 1)[0]
    close = _close_hook(attr, hooks) if prefixed or _similar(head, GROUP) else None
    if close:
        return (f"function '{attr}' lacks @hookimpl and is no hook, so it would never be called "
                f"(did you mean '{close}', decorated with twin_core.hookimpl?)")
    if prefixed:
        return (f"function '{attr}' is named like a hook but no hook has that name, and it lacks "
                f"@hookimpl (names starting with '{GROUP}_' are kept for hooks; rename it)")
    return None


def _marked_problem(pm: OrbitwinPluginManager, function: Any, opts: dict[str, Any], hook: str,
                    hooks: list[str]) -> str | None:
    """A ``@hookimpl`` function that pluggy would refuse or orbitwin would misrun."""
    if hook not in hooks:
        close = _close_hook(hook, hooks)
        return f"function '{hook}' (@hookimpl) matches no hook" + (f" (did you mean '{close}'?)" if close else
                                                                   " (hooks: see docs/hooks.md)")
    offered = getattr(pm.hook, hook).spec.argnames
    extra = [a for a in _required_args(function) if a not in offered]
    if extra:
        return (f"function '{hook}' (@hookimpl) asks for argument '{extra[0]}', which the hook does not pass "
                f"(it passes: {', '.join(offered) or 'nothing'})")
    if opts.get("wrapper") or opts.get("hookwrapper"):
        return (f"function '{hook}' (@hookimpl) is a wrapper (wrapper=True or hookwrapper=True), which "
                "orbitwin does not support")
    return None


def _required_args(function: Any) -> list[str]:
    """The arguments pluggy will pass ``function``: its positional parameters without a
    default (a bound method's ``self`` excluded)."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is p.empty
            and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
