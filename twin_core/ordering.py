"""Ordering the plugins' stages into one step, and checking that they fit together.

Rules (see `twin_core.declarations.Stage`):

- every state or output variable has exactly one writing stage; parameters have none;
- a stage runs after the writer of each variable it ``reads``, after each stage named in
  ``after``, and before the writer of each variable it ``reads_previous``;
- ties are broken by plugin registration order, then by the order a plugin listed its
  stages, so the same plugins always give the same kernel.

Every violation is a `BuildError` that names the variable or stage and the plugins
involved.
"""

from __future__ import annotations

import heapq
from typing import Iterable

from twin_core.declarations import Stage, Variable
from twin_core.errors import BuildError


def order_all(stages: Iterable[tuple[str, Stage]], variables: dict[str, Variable],
              owners: dict[str, str], common: Iterable[str] = ()
              ) -> tuple[list[tuple[str, Stage]], list[tuple[str, Stage]], list[tuple[str, Stage]]]:
    """Order a run's stages in their three groups: the step stages (fused kernel), the
    stages over axes (the coupling pass's first loop) and the satellites' coupling stages
    (its second loop), each in execution order (`twin_core.axes`).

    Every variable has exactly one writer across the groups. A group reads what another
    writes as held values: a step stage sees coupled values of the last coupling pass, a
    coupling stage sees the launch's last step.
    """
    stages = list(stages)
    common = set(common)
    order_stages(stages, variables, owners, common, held=(), only_checks=True)
    groups: tuple[list[tuple[str, Stage]], ...] = ([], [], [])
    for plugin, st in stages:
        if st.over != "sat":
            bad = [w for w in st.writes if variables[w].axis != st.over]
            if bad:
                raise BuildError(f"stage '{st.name}' of plugin '{plugin}' runs over axis '{st.over}' and writes "
                                 f"'{bad[0]}', which is on axis '{variables[bad[0]].axis}'; a stage writes only "
                                 "variables of the axis it runs over")
            groups[1].append((plugin, st))
        else:
            bad = [w for w in st.writes if variables[w].axis != "sat"]
            if bad:
                raise BuildError(f"stage '{st.name}' of plugin '{plugin}' writes '{bad[0]}', a variable on axis "
                                 f"'{variables[bad[0]].axis}'; give the stage over='{variables[bad[0]].axis}'")
            groups[2 if st.coupled else 0].append((plugin, st))
    out = []
    names = {st.name for _p, st in stages}
    for group in groups:
        mine = {w for _p, st in group for w in st.writes}
        held = set(variables) - mine
        out.append(order_stages(group, variables, owners, common, held=held,
                                elsewhere=names - {st.name for _p, st in group}))
    return out[0], out[1], out[2]


def live_variables(stages: Iterable[Stage], variables: dict[str, Variable], recorded: Iterable[str],
                   metric_inputs: Iterable[str]) -> frozenset[str]:
    """The variables something in the run reads: `twin_core.state.State.used`.

    A variable is live when it is recorded, reduced into a constellation total (or its
    condition), a state (its value carries to the next step and into checkpoints), or
    read by any stage (``reads`` or ``reads_previous``, step and coupling stages alike).
    An output that is none of these can be left uncomputed by its writer: nothing would
    see it. Declarations are all that is consulted, so a stage that reads a field it does
    not declare (which `twin_core.stagecheck` refuses) is not seen.

    Args:
        stages: every stage of the run.
        variables: every declared variable by name.
        recorded: names recorded into the store.
        metric_inputs: variables the metrics reduce or test (``where_variable``).
    """
    live = set(recorded) | set(metric_inputs)
    live |= {name for name, v in variables.items() if v.role == "state"}
    for st in stages:
        live.update(st.reads)
        live.update(st.reads_previous)
    return frozenset(n for n in live if n in variables)


def order_stages(stages: Iterable[tuple[str, Stage]], variables: dict[str, Variable],
                 owners: dict[str, str], common: Iterable[str] = (), held: Iterable[str] = (),
                 only_checks: bool = False, elsewhere: Iterable[str] = ()) -> list[tuple[str, Stage]]:
    """Return ``(plugin, stage)`` pairs in execution order.

    Args:
        stages: ``(plugin name, Stage)`` in registration order.
        variables: every declared per-satellite variable by name.
        owners: variable or common-series name -> declaring plugin.
        common: names of the common series (readable, never written by a stage).
        held: variables written outside these stages (another group, `order_all`): read
            as held values, never waited for.
        only_checks: check names and writers only, and return the stages unordered.
        elsewhere: names of stages of other groups (an ``after`` naming one is met by
            the groups' order).
    """
    stages = list(stages)
    common = set(common)
    held = set(held)
    elsewhere = set(elsewhere)
    by_name: dict[str, int] = {}
    for idx, (plugin, st) in enumerate(stages):
        if st.name in by_name:
            other = stages[by_name[st.name]][0]
            raise BuildError(f"stage '{st.name}' is defined twice (plugins '{other}' and '{plugin}')")
        by_name[st.name] = idx

    writer: dict[str, int] = {}
    for idx, (plugin, st) in enumerate(stages):
        for name in st.writes:
            var = variables.get(name)
            if var is None:
                raise BuildError(f"stage '{st.name}' of plugin '{plugin}' writes '{name}', "
                                 "which no plugin declares")
            if var.role == "parameter":
                raise BuildError(f"stage '{st.name}' of plugin '{plugin}' writes '{name}', which plugin "
                                 f"'{owners[name]}' declares as a parameter (constant during the run)")
            if name in writer:
                p0, s0 = stages[writer[name]]
                raise BuildError(f"variable '{name}' has two writers: stage '{s0.name}' of plugin '{p0}' "
                                 f"and stage '{st.name}' of plugin '{plugin}'; disable one plugin")
            writer[name] = idx

    for name, var in variables.items():
        if var.role != "parameter" and name not in writer and name not in held:
            raise BuildError(f"variable '{name}' (declared by plugin '{owners[name]}' as {var.role}) "
                             "has no stage writing it")

    edges: dict[int, set[int]] = {i: set() for i in range(len(stages))}
    for idx, (plugin, st) in enumerate(stages):
        for name in st.reads + st.reads_previous:
            if name in common:
                continue
            if name not in variables:
                raise BuildError(f"stage '{st.name}' of plugin '{plugin}' reads '{name}', which no loaded "
                                 "plugin provides (is the plugin that provides it installed, enabled and "
                                 "configured in the scenario?)")
        for name in st.reads:
            w = writer.get(name)
            if w is not None and w != idx:
                edges[w].add(idx)
        for name in st.reads_previous:
            w = writer.get(name)
            if w is not None and w != idx:
                edges[idx].add(w)
        for before in st.after:
            if before in elsewhere:
                continue
            if before not in by_name:
                raise BuildError(f"stage '{st.name}' of plugin '{plugin}' must run after stage "
                                 f"'{before}', which no loaded plugin defines")
            edges[by_name[before]].add(idx)
    if only_checks:
        return stages

    indegree = {i: 0 for i in edges}
    for src, dsts in edges.items():
        for d in dsts:
            indegree[d] += 1
    ready = [i for i, deg in indegree.items() if deg == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for d in sorted(edges[i]):
            indegree[d] -= 1
            if indegree[d] == 0:
                heapq.heappush(ready, d)
    if len(order) != len(stages):
        stuck = sorted(stages[i][1].name for i, deg in indegree.items() if deg > 0)
        raise BuildError("stages depend on each other in a cycle: " + ", ".join(stuck)
                         + "; break it by reading one variable with reads_previous (one-step lag)")
    return [stages[i] for i in order]
