"""Contributions: several plugins adding to, or limiting, one quantity none of them owns.

A plugin declares a `Combined` quantity (a bus's demand, a thermal node's heat, the
highest power state the accelerators may run in); any plugin adds a `Contribution` (a
per-satellite variable it can name). This module resolves them before anything is
allocated (`resolve`) and builds the engine's stage that folds them inside the fused
kernel (`make_combine_stage`).

Order and determinism: contributions are folded in plugin registration order, then in
the order each plugin listed them: a fixed order for a given plugin set, so a run gives
the same bytes every time. Sums are taken in float64 and cast once to the quantity's
dtype. A ``min`` keeps the first contribution on a tie, so the reason recorded for a
limit does not depend on anything but that order.

Reason codes: a limit's reason variable starts from the codes its plugin declares
(``flags``); each new label gets the next free code, in contribution order, and every
variable that shares the code table (``flags_like``) gets the same flags. The codes are
written to the store's ``flag_values``/``flag_meanings`` and expand every ``per_flag``
metric, so a plugin's own reason appears in the totals and in ``orbitwin info`` with no
change to the plugin that owns the limit.
"""

from __future__ import annotations

import difflib
from typing import Any

import attrs

from twin_core.declarations import Combined, Contribution, Metric, Stage, Variable
from twin_core.errors import BuildError


@attrs.frozen
class ResolvedCombined:
    """A `Combined` quantity with its contributions in folding order.

    Attributes:
        combined: the declaration.
        owner: the plugin that declared it.
        parts: ``(plugin, Contribution, reason code)`` in folding order (code 0 when the
            contribution gives no reason or the quantity has no reason variable).
        constant: every contribution is a parameter (or there is none): the value is
            folded once, at the epoch's evaluation, and kept (it is part of every
            checkpoint, so a resumed run keeps it too).
    """

    combined: Combined
    owner: str
    parts: tuple[tuple[str, Contribution, int], ...]
    constant: bool = False

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.variable for _p, c, _code in self.parts))


def _root(name: str, declared: dict[str, Variable]) -> str:
    """The variable whose code table ``name`` shares (following ``flags_like``)."""
    seen = [name]
    while declared[name].flags_like is not None:
        name = declared[name].flags_like
        if name not in declared:
            raise BuildError(f"variable '{seen[-1]}' shares the codes of '{name}' (flags_like), which no loaded "
                             "plugin declares")
        if name in seen:
            raise BuildError("variables share their codes in a circle (flags_like): " + " -> ".join(seen + [name]))
        seen.append(name)
    return name


def resolve(raw: tuple[tuple[str, Any], ...], contributions: tuple[tuple[str, Contribution], ...]
            ) -> tuple[tuple[tuple[str, Variable], ...], tuple[ResolvedCombined, ...], tuple[tuple[str, Contribution], ...]]:
    """Turn the plugins' declarations into the run's variables.

    Args:
        raw: ``(plugin, Variable | Combined)`` from ``orbitwin_variables``.
        contributions: ``(plugin, Contribution)`` from ``orbitwin_contributions``.

    Returns:
        ``(variables, combined, dropped)``: every variable (a `Combined` becomes its
        output variable; reason codes added to the flags), the combined quantities with
        their contributions, and the contributions to quantities nobody declared.
    """
    declared: dict[str, Variable] = {}
    owners: dict[str, str] = {}
    combined: dict[str, tuple[str, Combined]] = {}
    for plugin, v in raw:
        if isinstance(v, Combined):
            combined[v.name] = (plugin, v)
            v = v.variable()
        elif not isinstance(v, Variable):
            raise BuildError(f"plugin '{plugin}' returned {type(v).__name__} {v!r} from orbitwin_variables; "
                             "expected Variable or Combined")
        if v.name in declared:
            raise BuildError(f"variable '{v.name}' is declared by both plugins '{owners[v.name]}' and '{plugin}'; "
                             "disable one, or make it a Combined quantity both contribute to")
        declared[v.name], owners[v.name] = v, plugin

    by_target: dict[str, list[tuple[str, Contribution]]] = {name: [] for name in combined}
    dropped = []
    for plugin, c in contributions:
        if not isinstance(c, Contribution):
            raise BuildError(f"plugin '{plugin}' returned {type(c).__name__} {c!r} from orbitwin_contributions; "
                             "expected Contribution")
        if c.target not in combined or (c.optional and c.variable not in declared):
            if c.target in declared and c.target not in combined:
                raise BuildError(f"plugin '{plugin}' contributes to '{c.target}', which plugin '{owners[c.target]}' "
                                 "declares as a plain Variable, not a Combined quantity")
            if c.target not in combined:
                _check_absent_target(plugin, c, combined, declared)
            dropped.append((plugin, c))
            continue
        _check_part(plugin, c, combined[c.target][1], declared, owners)
        by_target[c.target].append((plugin, c))

    codes = _reason_codes(combined, by_target, declared)
    resolved = []
    for name, (owner, comb) in combined.items():
        if comb.reason is not None:
            rv = declared.get(comb.reason)
            if rv is None or rv.dtype not in ("i8", "i32", "u8") or rv.shape:
                raise BuildError(f"plugin '{owner}': the reason of '{name}' is '{comb.reason}', which must be an "
                                 "integer scalar variable the plugin declares")
        parts = tuple((p, c, codes.get((name, c.reason), 0)) for p, c in by_target[name])
        constant = all(declared[c.variable].role == "parameter" for _p, c, _code in parts)
        resolved.append(ResolvedCombined(comb, owner, parts, constant))
    variables = tuple((owners[n], v) for n, v in declared.items())
    return variables, tuple(resolved), tuple(dropped)


def _check_absent_target(plugin: str, c: Contribution, combined: dict[str, tuple[str, Combined]],
                         declared: dict[str, Variable]) -> None:
    """A contribution to a quantity nobody declares is left out (the plugin that would
    declare it does not run: no thermal node to heat); but a name close to a quantity
    that is declared is a typo, and the run is refused naming it."""
    from twin_core.activity import ACTIVE  # declared by the core only once something contributes to it

    close = difflib.get_close_matches(c.target, list(combined) + [ACTIVE], n=1, cutoff=0.8)
    if close:
        raise BuildError(f"plugin '{plugin}' contributes '{c.variable}' to '{c.target}', which no loaded plugin "
                         f"declares; did you mean '{close[0]}'? (`orbitwin plugins --scenario` lists the quantities "
                         "that take contributions)")


def _check_part(plugin: str, c: Contribution, comb: Combined, declared: dict[str, Variable],
                owners: dict[str, str]) -> None:
    var = declared.get(c.variable)
    if var is None:
        raise BuildError(f"plugin '{plugin}' contributes '{c.variable}' to '{c.target}', but no loaded plugin "
                         "declares that variable")
    if var.shape:
        raise BuildError(f"plugin '{plugin}' contributes the vector '{c.variable}' to '{c.target}'; contribute "
                         "a scalar")
    if var.units != comb.units:
        raise BuildError(f"plugin '{plugin}' contributes '{c.variable}' in '{var.units}' to '{c.target}', "
                         f"which is in '{comb.units}'")
    if comb.dtype in ("i8", "i32", "u8") and var.dtype not in ("i8", "i32", "u8"):
        raise BuildError(f"plugin '{plugin}' contributes the {var.dtype} '{c.variable}' to '{c.target}', which holds "
                         f"integer codes ({comb.dtype}); contribute an integer code variable")
    if c.reason is not None and comb.reason is None:
        raise BuildError(f"plugin '{plugin}' gives the reason '{c.reason}' for its contribution to '{c.target}', "
                         "which records no reason (only a limit with a reason variable does)")
    if c.variable == c.target:
        raise BuildError(f"plugin '{plugin}' contributes '{c.target}' to itself")


def _reason_codes(combined: dict[str, tuple[str, Combined]], by_target: dict[str, list[tuple[str, Contribution]]],
                  declared: dict[str, Variable]) -> dict[tuple[str, str | None], int]:
    """Assign codes to the contributions' reason labels; update the flags of every
    variable sharing each code table. Returns ``(target, label) -> code``."""
    tables: dict[str, dict[int, str]] = {}
    codes: dict[tuple[str, str | None], int] = {}
    for name, (_owner, comb) in combined.items():
        if comb.reason is None or comb.reason not in declared:
            continue
        root = _root(comb.reason, declared)
        table = tables.setdefault(root, dict(declared[root].flags))
        for _plugin, c in by_target[name]:
            if c.reason is None:
                continue
            code = next((k for k, meaning in table.items() if meaning == c.reason), None)
            if code is None:
                code = max(table, default=0) + 1
                table[code] = c.reason
            codes[(name, c.reason)] = code
    for name, v in list(declared.items()):
        if v.dtype in ("i8", "i32", "u8") and (v.flags or v.flags_like):
            root = _root(name, declared)
            if root in tables:
                declared[name] = attrs.evolve(v, flags=dict(tables[root]))
    return codes


def check_required(resolved: tuple[ResolvedCombined, ...]) -> None:
    """Refuse a run where a quantity that must have a contribution (`Combined.required`)
    has none."""
    for rc in resolved:
        hint = rc.combined.required
        if hint and not rc.parts:
            raise BuildError(f"no loaded plugin contributes to '{rc.combined.name}' (plugin '{rc.owner}'): {hint}")


def expand_metrics(metrics: tuple[Metric, ...], declared: dict[str, Variable],
                   inactive_only: frozenset[str] = frozenset()) -> tuple[Metric, ...]:
    """Replace each ``per_flag`` metric by one metric per non-zero code of its code
    table (the flags as resolved, plugins' reasons included), except the reasons in
    ``inactive_only``: those only an inactive satellite can have (a contribution of
    ``sat.active`` itself), which a metric folding active satellites would always count
    as zero (`twin_core.activity`)."""
    out = []
    for m in metrics:
        if not m.per_flag:
            out.append(m)
            continue
        source = m.where_variable or m.variable
        var = declared.get(source)
        if var is None:
            raise BuildError(f"metric '{m.name}' is split by the codes of '{source}', which no loaded plugin declares")
        out.extend(m.for_flag(code, meaning) for code, meaning in sorted(var.flags.items())
                   if code != 0 and (m.all_satellites or meaning not in inactive_only))
    return tuple(out)


def make_combine_stage(rc: ResolvedCombined, state: Any) -> Stage:
    """The engine's stage folding ``rc``'s contributions (module docstring)."""
    import taichi as ti

    comb = rc.combined
    out = state.field(comb.name)
    fields = tuple(state.field(c.variable) for _p, c, _code in rc.parts)
    codes = tuple(int(code) for _p, _c, code in rc.parts)
    n, start, is_sum = len(fields), float(comb.start), comb.op == "sum"
    has_reason = comb.reason is not None
    reason_f = state.field(comb.reason) if has_reason else out

    constant = rc.constant

    @ti.func
    def fold(i):
        v = ti.cast(start, ti.f64)
        why = 0
        for j in ti.static(range(n)):
            x = ti.cast(fields[j][i], ti.f64)
            if ti.static(is_sum):
                v += x
            else:
                if x < v:
                    v = x
                    why = codes[j]
        out[i] = ti.cast(v, out.dtype)
        if ti.static(has_reason):
            reason_f[i] = ti.cast(why, reason_f.dtype)

    @ti.func
    def combine(i, k, t, dt):
        if ti.static(constant):
            if dt == 0.0:  # parameters only: folded at the epoch, then kept
                fold(i)
        else:
            fold(i)

    return Stage(stage_name(comb.name), combine, writes=(comb.name,) + ((comb.reason,) if has_reason else ()),
                 reads=rc.reads)


def stage_name(target: str) -> str:
    """``combine.<target>`` with the target's dot as an underscore."""
    return "combine." + target.replace(".", "_")


def core_stages(plan: Any, state: Any) -> list[tuple[str, Stage]]:
    """The engine's own stages for ``plan`` over ``state`` (a `State` or a dry one): one
    ``combine.<name>`` per `Combined` quantity, under the plugin name ``core``. The
    engine and ``orbitwin validate`` both build them here, so they stay in step."""
    return [("core", make_combine_stage(rc, state)) for rc in plan.sizing.combined]


def constants(plan: Any) -> dict[str, float]:
    """The `Combined` quantities of ``plan`` that no plugin contributes to, with their
    value (`State.constant`)."""
    return {rc.combined.name: float(rc.combined.start) for rc in plan.sizing.combined if not rc.parts}
