"""Axes other than satellites (links), as one process holds them, and the coupling pass.

Why a second pass
-----------------
The fused kernel (`twin_core.kernel`) steps each block of satellites through a whole
launch on one thread, so within a launch no satellite can see another's position of the
same step. What joins satellites (a link's range, a cluster's closest approach) therefore
runs in a second kernel, the *coupling pass*, after every ``coupling_every_s`` of steps
(`twin_core.scenario.RunSpec.coupling_steps`, 60 s or less by default):

.. code-block:: text

    launch: every satellite, steps t+dt .. t+c*dt, the last one with only the stages
            that do not depend on coupled values (positions)          (fused kernel)
    couple: for every link l:  link stages (l)                        (reads both ends' fields)
            for every own satellite i: coupling stages                (its links via State.incidence)
    finish: every satellite, the dependent stages of step t+c*dt and the totals
    launch: ...

Links and coupled satellite values are exact for the pass's time, and the step at that
time sees them (its dependent stages run after the pass), so records, totals and links
agree. The steps between passes read coupled values as of the last pass: **a lag of at
most coupling_every_s**, as the payload already reads the previous step's state of
charge. A record's steps keep one step index ``k`` across its launches.

Sharding: the halo
------------------
A shard owns whole planes ``[start, stop)`` and the link slots of its satellites. The
links that touch its satellites also reach satellites of other shards (a +grid
neighbour in the next plane) and satellites of other shards own links that end at its
satellites. Each shard therefore also steps the *halo*: exactly the satellites at the
far end of those links (the adjacent planes for a +grid, nothing for a cluster in one
plane), with every step stage, and evaluates the incoming links too. Those satellites'
positions are exact, because a satellite's orbit depends on nothing else; the engine
refuses a link stage that reads a value which depends, through any stage, on a coupled
value (`check_link_inputs`), since a halo satellite's coupled values are incomplete. So
every link and every owned satellite's coupled value is computed identically in every
shard, the shard writes only its own satellites and slots, and a sharded run gives the
same bytes as an unsharded one. The halo's cost is its share of stepped satellites
(two planes of 22 for a +grid shard of 18 planes: 11 %).
"""

from __future__ import annotations

from typing import Iterable

import attrs
import numpy as np

from twin_core.declarations import Axis, Stage, Variable
from twin_core.errors import BuildError


@attrs.frozen(eq=False)
class LocalAxis:
    """One axis as a process holds it (`localize`).

    Attributes:
        name, slots: the `Axis`'s.
        n_own: links owned by this process's satellites (its columns in the store:
            global slots ``[start * slots, stop * slots)``), the first ``n_own`` local links.
        links_global: (n_local,) global slot index of each local link: the own slots in
            order, then the links owned by halo satellites that end at an own satellite.
        a, b: (n_local,) int32 local rows of each link's owner and far end (-1 unused).
        offsets, incident: the links touching each local row, CSR: links
            ``incident[offsets[r]:offsets[r+1]]``, in increasing local link order
            (complete for own rows; a halo row sees only the local links).
    """

    name: str
    slots: int
    n_own: int
    links_global: np.ndarray
    a: np.ndarray
    b: np.ndarray
    offsets: np.ndarray
    incident: np.ndarray

    @property
    def n(self) -> int:
        return int(self.links_global.shape[0])


def local_rows(axes: Iterable[Axis], start: int, stop: int) -> np.ndarray:
    """Global indices of a process's rows: its satellites ``[start, stop)``, then the halo
    (every satellite outside that a link touching them reaches), sorted."""
    own = np.arange(start, stop, dtype=np.int64)
    halo: list[np.ndarray] = []
    for ax in axes:
        t = ax.targets
        n_total = t.shape[0]
        if start == 0 and stop == n_total:
            continue
        mine = t[start:stop].ravel()
        halo.append(mine[(mine >= 0) & ((mine < start) | (mine >= stop))])
        inside = (t >= start) & (t < stop)
        owners = np.nonzero(inside.any(axis=1))[0]
        halo.append(owners[(owners < start) | (owners >= stop)])
    extra = np.unique(np.concatenate(halo)) if halo else np.empty(0, np.int64)
    return np.concatenate([own, extra]).astype(np.int64)


def to_local(rows: np.ndarray, n_own: int, start: int, global_index: np.ndarray) -> np.ndarray:
    """Local rows of ``global_index`` (-1 where not held by this process)."""
    g = np.asarray(global_index, dtype=np.int64)
    out = np.full(g.shape, -1, dtype=np.int64)
    own = (g >= start) & (g < start + n_own)
    out[own] = g[own] - start
    halo = rows[n_own:]
    if halo.size:
        rest = ~own & (g >= 0)
        pos = np.searchsorted(halo, g[rest])
        pos_c = np.minimum(pos, halo.size - 1)
        hit = halo[pos_c] == g[rest]
        vals = np.where(hit, pos_c + n_own, -1)
        out[rest] = vals
    return out


def localize(axis: Axis, rows: np.ndarray, start: int, stop: int) -> LocalAxis:
    """The local links of ``axis`` for the process holding ``rows`` (`local_rows`) and
    owning satellites ``[start, stop)``."""
    t, k = axis.targets, axis.slots
    n_own_sats = stop - start
    own_slots = np.arange(start * k, stop * k, dtype=np.int64)
    inside = (t >= start) & (t < stop)
    inside[start:stop] = False
    incoming = np.flatnonzero(inside.ravel())  # global slots owned elsewhere that end here
    links = np.concatenate([own_slots, incoming])
    owner_g = links // k
    far_g = t.ravel()[links]
    a = to_local(rows, n_own_sats, start, owner_g)
    b = to_local(rows, n_own_sats, start, far_g)
    if np.any(a < 0) or np.any((far_g >= 0) & (b < 0)):
        raise BuildError(f"axis '{axis.name}': a link's end is not held by this process (internal error)")
    n_rows = rows.shape[0]
    lid = np.arange(links.shape[0], dtype=np.int64)
    used = b >= 0
    row = np.concatenate([a[used], b[used]])
    lk = np.concatenate([lid[used], lid[used]])
    order = np.lexsort((lk, row))
    counts = np.bincount(row, minlength=n_rows)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return LocalAxis(axis.name, k, int(own_slots.shape[0]), links, a.astype(np.int32), b.astype(np.int32),
                     offsets.astype(np.int32), lk[order].astype(np.int32))


def check_axes(axes: Iterable[tuple[str, Axis]], n_total: int, variables: Iterable[tuple[str, Variable]]) -> None:
    """Refuse axes that do not fit the constellation, and variables on undeclared axes."""
    names: dict[str, str] = {}
    for plugin, ax in axes:
        if ax.name in names:
            raise BuildError(f"axis '{ax.name}' is declared by both plugins '{names[ax.name]}' and '{plugin}'")
        names[ax.name] = plugin
        t = ax.targets
        if t.shape[0] != n_total:
            raise BuildError(f"axis '{ax.name}' of plugin '{plugin}' has targets for {t.shape[0]:,} satellites; "
                             f"the constellation has {n_total:,}")
        if t.size and (t.min() < -1 or t.max() >= n_total):
            raise BuildError(f"axis '{ax.name}' of plugin '{plugin}' names a satellite outside 0..{n_total - 1} "
                             "(or a negative index other than -1 for an unused slot)")
        if np.any(t == np.arange(n_total)[:, None]):
            raise BuildError(f"axis '{ax.name}' of plugin '{plugin}' links a satellite to itself")
    for plugin, v in variables:
        if v.axis != "sat" and v.axis not in names:
            raise BuildError(f"variable '{v.name}' of plugin '{plugin}' is on axis '{v.axis}', which no loaded "
                             "plugin declares (orbitwin_axes)")


def tainted(stages: Iterable[tuple[str, Stage]], coupled_writes: set[str]) -> dict[str, str]:
    """Variables whose value depends on a coupled value: ``name -> the stage through which``.
    Computed over the step stages' reads and writes (either step lag counts)."""
    stages = list(stages)
    bad: dict[str, str] = {name: "a coupling stage" for name in coupled_writes}
    changed = True
    while changed:
        changed = False
        for _p, st in stages:
            src = next((n for n in st.reads + st.reads_previous if n in bad), None)
            if src is None:
                continue
            for w in st.writes:
                if w not in bad:
                    bad[w] = f"stage '{st.name}' (from '{src}')"
                    changed = True
    return bad


def check_link_inputs(step: list[tuple[str, Stage]], coupled: list[tuple[str, Stage]],
                      variables: dict[str, Variable]) -> None:
    """Refuse a stage over an axis that reads a satellite value depending on a coupled
    value: in a shard, a halo satellite's coupled values are incomplete (module
    docstring), so such a link would differ between sharded and unsharded runs."""
    writes = {w for _p, st in coupled for w in st.writes if variables[w].axis == "sat"}
    bad = tainted(step, writes)
    for plugin, st in coupled:
        if st.over == "sat":
            continue
        for name in st.reads + st.reads_previous:
            var = variables.get(name)
            if var is not None and var.axis == "sat" and name in bad:
                raise BuildError(
                    f"stage '{st.name}' of plugin '{plugin}' (over '{st.over}') reads '{name}', which depends on "
                    f"values coupled between satellites (through {bad[name]}); a link may read only what each "
                    "satellite computes on its own (positions, parameters), so that it is the same in every shard")
