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


def order_stages(stages: Iterable[tuple[str, Stage]], variables: dict[str, Variable],
                 owners: dict[str, str], common: Iterable[str] = ()) -> list[tuple[str, Stage]]:
    """Return ``(plugin, stage)`` pairs in execution order.

    Args:
        stages: ``(plugin name, Stage)`` in registration order.
        variables: every declared per-satellite variable by name.
        owners: variable or common-series name -> declaring plugin.
        common: names of the common series (readable, never written by a stage).
    """
    stages = list(stages)
    common = set(common)
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
        if var.role != "parameter" and name not in writer:
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
            if before not in by_name:
                raise BuildError(f"stage '{st.name}' of plugin '{plugin}' must run after stage "
                                 f"'{before}', which no loaded plugin defines")
            edges[by_name[before]].add(idx)

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
