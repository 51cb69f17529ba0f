"""Checking the plugins' stages before anything is compiled, and naming the stage when
taichi cannot compile one.

A run builds its stages and checks them (`check_stages`) before any store exists;
``orbitwin validate`` does the same with a `twin_core.state.DryState` (`check_build`), so
every build check of a run is made without allocating a field or compiling a kernel:

- two declarations of one variable (`twin_core.state.State`), two writers, a ``reads``
  naming nothing, a cycle (`twin_core.ordering.order_stages`), and whatever a plugin's
  ``orbitwin_initial_state`` or ``orbitwin_stages`` refuses (``policy = "external"``
  with no writer, a missing table);
- a stage function whose signature is not ``(i, k, t, dt)``;
- a stage that touches a field it does not declare. The fields a stage touches are
  those its ``ti.func`` closes over (closure cells and the module globals it loads),
  followed into the ``ti.func``\\s and Python functions it refers to; which of them it
  assigns (``f[i] = ...``, ``f[i] += ...``, ``ti.atomic_add(f[i], ...)``) is read from
  its source. A field assigned must be in ``writes``; a field only read must be in
  ``reads``, ``reads_previous`` or ``writes``, except a parameter (it has no writer,
  so reading it orders nothing; the built-in plugins declare theirs, the rule does not
  require it) and a common series (filled by the engine before each launch).

Every problem is a `twin_core.errors.StageError`: ``plugin 'x', stage 'x.y': ...``
(exit status 3).

A stage that taichi cannot compile fails at the first launch of the fused kernel;
`compile_errors_named` around that launch turns taichi's error into a `StageError`
naming the stage, found from the source locations in taichi's message, or, when these do
not tell, by compiling each stage alone in a kernel that runs no iteration.

Limits: a field reached only through an object's attribute, a local alias, or a field
passed to a helper as an argument is not seen; taichi aborts the whole process on a few
type errors (assigning a vector to a scalar field) before any exception exists.

No ``from __future__ import annotations`` here: the probe kernel's annotations must be
objects for taichi.
"""

import ast
import contextlib
import dis
import functools
import inspect
import os
import re
import textwrap
import types
from typing import Any, Callable, Iterable, Iterator

import numpy as np

import twin_core.backend  # noqa: F401  (taichi's environment: no banner when a plugin imports taichi)
from twin_core.declarations import Stage
from twin_core.errors import StageError

#: How a stage function's parameters read in messages.
STAGE_SIGNATURE = "(i, k, t, dt)"
#: Lines of taichi's message kept in a `StageError` (after the engine's own frames).
MESSAGE_LINES = 8

Pairs = list[tuple[str, Stage]]
FieldKey = tuple[str, str]  # ("variable" | "common", name)


# -- the Python function under a stage ---------------------------------------------------


def python_function(func: Any) -> Callable | None:
    """The Python function a ``ti.func`` decorates (taichi keeps it as ``__wrapped__``
    and as ``.func.func``), or None when ``func`` is not a taichi function."""
    if not getattr(func, "_is_taichi_function", False):
        return None
    inner = getattr(func, "__wrapped__", None) or getattr(getattr(func, "func", None), "func", None)
    return inner if isinstance(inner, types.FunctionType) else None


def _describe(fn: Callable) -> str:
    try:
        params = ", ".join(str(p) for p in inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = "..."
    return f"({params})"


def check_signature(plugin: str, stage: Stage) -> Callable:
    """The Python function of ``stage``'s ``ti.func``, or a `StageError` when it is not a
    taichi function or does not take ``(i, k, t, dt)``."""
    fn = python_function(stage.func)
    if fn is None:
        if isinstance(stage.func, types.FunctionType):
            raise StageError(plugin, stage.name, f"its function '{stage.func.__name__}' is not a taichi function: "
                             "decorate it with @ti.func")
        raise StageError(plugin, stage.name, f"its func is {type(stage.func).__name__} {stage.func!r}, not a "
                         f"taichi function {STAGE_SIGNATURE}")
    sig = inspect.signature(fn)
    ok = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig.parameters.values())
    try:
        sig.bind(0, 0, 0.0, 0.0)
    except TypeError:
        ok = False
    if not ok:
        raise StageError(plugin, stage.name, f"its function takes {_describe(fn)} but a stage function takes "
                         f"{STAGE_SIGNATURE}")
    return fn


# -- the fields a stage touches ----------------------------------------------------------


_SKIP_MODULES = ("taichi", "numpy", "builtins")
_MAX_ITEMS = 10_000


def _followed(fn: Any) -> Callable | None:
    """The Python function to look into for a value a stage refers to: a ``ti.func``'s,
    or a plain Python function's outside taichi and numpy; None otherwise."""
    inner = python_function(fn)
    if inner is not None:
        return inner
    if isinstance(fn, types.FunctionType) and not (fn.__module__ or "").startswith(_SKIP_MODULES):
        return fn
    return None


@functools.lru_cache(maxsize=4096)
def _global_loads(code: types.CodeType) -> frozenset[str]:
    """Names ``code`` (and the code nested in it) loads as globals."""
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(ins.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_loads(const)
    return frozenset(names)


def _refs(fn: types.FunctionType) -> dict[str, Any]:
    """Name -> value of what ``fn`` closes over and the module globals it loads."""
    code = fn.__code__
    out: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    for name in _global_loads(code):
        if name not in out and name in fn.__globals__:
            out[name] = fn.__globals__[name]
    return out


def _reach(value: Any, names: dict[int, FieldKey], depth: int = 0) -> tuple[set[FieldKey], list[Callable]]:
    """The known fields in ``value`` (itself, or inside tuples, lists, sets and dicts) and
    the functions in it to look into."""
    key = names.get(id(value))
    if key is not None:
        return {key}, []
    fn = _followed(value)
    if fn is not None:
        return set(), [fn]
    fields: set[FieldKey] = set()
    funcs: list[Callable] = []
    if depth < 4 and isinstance(value, (tuple, list, set, frozenset, dict)) and len(value) <= _MAX_ITEMS:
        for item in (value.values() if isinstance(value, dict) else value):
            f, g = _reach(item, names, depth + 1)
            fields |= f
            funcs += g
    return fields, funcs


def _store_roots(target: ast.AST) -> Iterator[str]:
    """Names whose element ``target`` assigns: ``f`` for ``f[i]``, ``f[i][0]``,
    ``f[i].x``, ``ti.static(f)[i]``; each of a tuple of targets."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _store_roots(elt)
        return
    if isinstance(target, ast.Starred):
        yield from _store_roots(target.value)
        return
    node, subscripted = target, False
    while True:
        if isinstance(node, ast.Subscript):
            subscripted, node = True, node.value
        elif isinstance(node, ast.Attribute):
            node = node.value
        elif (isinstance(node, ast.Call) and len(node.args) == 1
              and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "static"):
            node = node.args[0]
        else:
            break
    if subscripted and isinstance(node, ast.Name):
        yield node.id


@functools.lru_cache(maxsize=4096)
def _assigned(code: types.CodeType) -> frozenset[str] | None:
    """Names whose elements the function of ``code`` assigns (see `_store_roots`), from
    its source; None when the source cannot be read."""
    try:
        source = textwrap.dedent(inspect.getsource(code))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))),
                None)
    if node is None:
        return None
    out: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Assign):
            for t in n.targets:
                out.update(_store_roots(t))
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)):
            out.update(_store_roots(n.target))
        elif isinstance(n, ast.Call) and n.args:
            name = getattr(n.func, "attr", None) or getattr(n.func, "id", None) or ""
            if name.startswith("atomic_"):
                out.update(_store_roots(n.args[0]))
    return frozenset(out)


class FieldUse:
    """The fields a stage's function touches and, where its source tells, assigns.

    Attributes:
        touched: every known field it (or what it calls) closes over.
        written: those it assigns an element of.
        unread: names of the functions whose source could not be read (their
            assignments are unknown; their fields still count as touched).
    """

    def __init__(self) -> None:
        self.touched: set[FieldKey] = set()
        self.written: set[FieldKey] = set()
        self.unread: list[str] = []


def field_use(fn: Callable, names: dict[int, FieldKey]) -> FieldUse:
    """What the Python function ``fn`` of a stage touches, following what it calls."""
    use, seen, todo = FieldUse(), set(), [fn]
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        holds: dict[str, set[FieldKey]] = {}
        for name, value in _refs(f).items():
            fields, funcs = _reach(value, names)
            if fields:
                holds[name] = fields
                use.touched |= fields
            todo += funcs
        assigned = _assigned(f.__code__)
        if assigned is None:
            use.unread.append(f.__qualname__)
            continue
        for name in assigned:
            use.written |= holds.get(name, set())
    return use


def check_fields(plugin: str, stage: Stage, fn: Callable, state: Any, writers: dict[str, tuple[str, str]],
                 names: dict[int, FieldKey] | None = None) -> None:
    """Refuse (`StageError`) a stage that assigns a field not in its ``writes``, or touches
    a field it does not declare (parameters and common series may be read undeclared)."""
    names = state.field_names() if names is None else names
    use = field_use(fn, names)
    writes = set(stage.writes)
    declared = writes | set(stage.reads) | set(stage.reads_previous)
    for kind, name in sorted(use.written):
        if kind == "structure":
            raise StageError(plugin, stage.name, f"writes the axis structure '{name}' (endpoints or incidence), "
                             "which the engine builds from the axis's targets; a stage may only read it")
        if kind == "common":
            raise StageError(plugin, stage.name, f"writes the common series '{name}' (plugin "
                             f"'{state.owners.get(name, '?')}'), which the engine fills before each launch; "
                             "a stage may only read it")
        if name in writes:
            continue
        var, owner = state.variables[name], state.owners.get(name, "?")
        if var.role == "parameter":
            raise StageError(plugin, stage.name, f"writes '{name}', a parameter of plugin '{owner}' (constant "
                             "during the run): no stage may write it")
        why = "without declaring it in writes"
        if name in writers:
            w_plugin, w_stage = writers[name]
            why += f"; stage '{w_stage}' of plugin '{w_plugin}' writes it, and a variable has exactly one writer"
        raise StageError(plugin, stage.name, f"writes '{name}' ({var.role} of plugin '{owner}') {why}")
    for kind, name in sorted(use.touched - use.written):
        if kind in ("common", "structure") or name in declared:
            continue
        var = state.variables[name]
        if var.role == "parameter":
            continue
        raise StageError(plugin, stage.name, f"uses '{name}' ({var.role} of plugin "
                         f"'{state.owners.get(name, '?')}') without declaring it: add it to the stage's reads "
                         "(its value at this step) or reads_previous (its value at the previous step); a field "
                         "its function refers to counts even in code ti.static leaves out, so fetch it only "
                         "where used")


def check_stages(stages: Iterable[tuple[str, Stage]], state: Any) -> None:
    """Every build check on the code of ``stages`` (``(plugin, Stage)``, each variable's
    writer among them, as `order_stages` returns them) over ``state``'s fields (a `State`
    or a `DryState`): each function's signature (`check_signature`), then the fields it
    touches (`check_fields`). Raises the first `StageError`."""
    stages = list(stages)
    fns = [check_signature(plugin, st) for plugin, st in stages]
    writers = {name: (plugin, st.name) for plugin, st in stages for name in st.writes}
    names = state.field_names()
    for (plugin, st), fn in zip(stages, fns):
        check_fields(plugin, st, fn, state, writers, names)


def check_build(plan: Any, pm: Any,
                extra: "Iterable[tuple[str, Stage]] | Callable[[Any, Pairs], Iterable[tuple[str, Stage]]] | None" = None
                ) -> Pairs:
    """Every build check a run of ``plan`` makes, without allocating a field or compiling:
    declarations (`DryState`), each plugin's ``orbitwin_initial_state`` and
    ``orbitwin_stages`` over placeholder fields, stage ordering, signatures and field use.

    Args:
        plan: the run's `twin_core.plan.RunPlan`.
        pm: the plugin manager.
        extra: more ``(plugin, Stage)`` pairs to order and check with the plugins' (the
            engine's own stages), or a function ``extra(state, stages)`` returning them,
            given the dry state and the plugins' stages.

    Returns:
        The ``(plugin, Stage)`` pairs in execution order (over placeholder fields: for
        inspection, never for compiling).
    """
    from twin_core.axes import check_link_inputs, localize
    from twin_core.ordering import order_all
    from twin_core.state import DryState

    sc = plan.scenario
    rows = np.arange(plan.n_total, dtype=np.int64)
    local = [localize(ax, rows, 0, plan.n_total) for _p, ax in plan.axes]
    state = DryState(plan.variables, plan.common, plan.satellites, 0, plan.n_total, max_steps=sc.run.steps_per_record,
                     axes=local)
    from twin_core.contributions import constants

    state.constants = constants(plan)
    state.satellite_mass_kg = plan.satellite_mass_kg
    try:
        pm.call("orbitwin_initial_state", scenario=sc, state=state)
        stages = [(p, s) for p, ss in pm.call("orbitwin_stages", scenario=sc, state=state) for s in ss]
        if extra is not None:
            stages += list(extra(state, list(stages)) if callable(extra) else extra)
        step, over, coupling = order_all(stages, state.variables, state.owners, state.common_series)
        check_axis_names(over, state)
        check_link_inputs(step, over + coupling, state.variables)
        ordered = step + over + coupling
        check_stages(ordered, state)
    finally:
        state.free()
    return ordered


def check_axis_names(stages: Pairs, state: Any) -> None:
    """Refuse a stage over an axis no loaded plugin declares."""
    for plugin, st in stages:
        if st.over not in state.axes:
            raise StageError(plugin, st.name, f"runs over axis '{st.over}', which no loaded plugin declares "
                             "(orbitwin_axes)" + (f"; declared: {', '.join(sorted(state.axes))}" if state.axes else ""))


# -- compilation errors ------------------------------------------------------------------


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>[^:\n]+):')
_ENGINE_FILES = (os.path.join("twin_core", "kernel.py"), os.path.join("twin_core", "stagecheck.py"))


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


@functools.lru_cache(maxsize=4096)
def _span(code: types.CodeType) -> tuple[str, int, int]:
    lines = [line for _a, _b, line in code.co_lines() if line is not None]
    first = code.co_firstlineno
    return _norm(code.co_filename), first, max(lines + [first])


def _stages_at(stages: Pairs, path: str, line: int) -> Pairs:
    hits = []
    for plugin, st in stages:
        fn = python_function(st.func)
        if fn is None:
            continue
        file, first, last = _span(fn.__code__)
        if file == _norm(path) and first <= line <= last:
            hits.append((plugin, st))
    return hits


def taichi_message(exc: BaseException, max_lines: int = MESSAGE_LINES) -> str:
    """Taichi's compilation message without the engine's own frames, Python tracebacks
    and caret lines: the stage's source location and code, then the error; at most
    ``max_lines`` lines."""
    out, skipping = [], False
    lines = str(exc).splitlines()
    j = 0
    while j < len(lines):
        line = lines[j]
        j += 1
        text = re.sub(r"^While compiling `[^`]*`, ", "", line)
        if text.startswith("Traceback (most recent call last):"):
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            continue
        m = _FRAME.search(text)
        if m:
            skipping = _norm(m["file"]).endswith(tuple(os.path.normcase(f) for f in _ENGINE_FILES))
            if skipping:
                continue
        elif skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        else:
            skipping = False
        if not text.strip() or set(text.strip()) <= set("^~ "):
            continue
        if not m and out and _FRAME.search(out[-1]) and out[-1].endswith(":"):
            out[-1] += " " + text.strip()  # a location and its line of code: one line
        else:
            out.append(text.strip())
    if not out:
        out = [f"{type(exc).__name__}: {exc}".strip()]
    return "\n".join(out[:max_lines])


def _probe(func: Any) -> Any:
    """A kernel calling ``func`` as the fused kernel does, compiled by calling it with
    ``n = 0`` (no iteration runs, no field changes)."""
    import taichi as ti

    @ti.kernel
    def probe(n: ti.i32, t0: ti.f64, dt: ti.f64):
        for b in range(n):
            for k in range(n):
                t = t0 + ti.cast(k, ti.f64) * dt
                for i in range(b, n):
                    func(i, k, t, dt)

    return probe


def compile_error_of(func: Any) -> BaseException | None:
    """Taichi's compilation error for a stage function compiled alone, or None when it
    compiles (taichi must be started)."""
    try:
        _probe(func)(0, 0.0, 0.0)
    except Exception as exc:  # noqa: BLE001 - front end (TaichiCompilationError) or back end (RuntimeError)
        return exc
    return None


def name_compile_error(exc: BaseException, stages: Iterable[tuple[str, Stage]], probe: bool = True
                       ) -> StageError | None:
    """The `StageError` for taichi's compilation error ``exc`` of the fused kernel of
    ``stages``: the stage is the first one whose function holds a source location of
    taichi's message; when none does (or several stages share that code), each candidate
    is compiled alone (``probe``). None when no stage can be named."""
    stages = list(stages)
    candidates: Pairs = []
    for m in _FRAME.finditer(str(exc)):
        hits = _stages_at(stages, m["file"], int(m["line"]))
        if hits:
            candidates = hits
            break
    if len(candidates) == 1:
        plugin, st = candidates[0]
        return StageError(plugin, st.name, taichi_message(exc))
    if not probe:
        return None
    for plugin, st in candidates or stages:
        alone = compile_error_of(st.func)
        if alone is not None:
            return StageError(plugin, st.name, taichi_message(alone))
    return None


@contextlib.contextmanager
def compile_errors_named(stages: Iterable[tuple[str, Stage]], probe: bool = True) -> Iterator[None]:
    """Around the first launch of the fused kernel of ``stages`` (``(plugin, Stage)``):
    a taichi compilation error, from its front end (``TaichiCompilationError``) or its
    back end (a ``RuntimeError`` such as "struct_for cannot be nested"), becomes a
    `StageError` naming the plugin and stage with the first lines of taichi's message
    (`name_compile_error`); one that no stage explains is raised as it is (a bug in
    orbitwin). Not catchable: an LLVM assertion (a vector assigned to a scalar field)
    ends the process."""
    from twin_core.errors import NonFiniteError, PluginError, UserError

    try:
        yield
    except (UserError, PluginError, NonFiniteError):
        raise
    except Exception as exc:  # noqa: BLE001 - whatever taichi raises while compiling
        named = name_compile_error(exc, stages, probe)
        if named is None:
            raise
        raise named from exc


__all__ = ["STAGE_SIGNATURE", "FieldUse", "check_build", "check_fields", "check_signature", "check_stages",
           "compile_error_of", "compile_errors_named", "field_use", "name_compile_error", "python_function",
           "taichi_message"]
