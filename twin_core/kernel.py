"""The fused kernels. Kept in its own module without ``from __future__ import
annotations``: taichi reads a kernel's annotations as objects, not strings.

``advance`` runs every stage of every satellite for the steps of one launch:

.. code-block:: text

    for b in range(n_blocks):                  # parallel: one thread owns a block
        for k in range(nsteps):                # the launch's steps
            for stage in stages:               # unrolled at compile time
                for i in block b:              # a few hundred satellites, in index order
                    stage(i, k, t, dt)
            acc = identities                   # one register per metric
            for i in block b:
                acc = fold(acc, i)             # constellation totals, no atomics
            block_acc[b, k] = acc
        check every float variable of the block for NaN/inf after the last step

A block's fields (a few hundred satellites x their bytes) stay in the core's L1/L2 cache
across the steps of a launch, so memory is streamed about once per launch; totals are
summed in registers in satellite order, which makes them deterministic.

Why each stage loops over the block, not each satellite over the stages: one
satellite's chain of stages is a single dependency chain of several hundred instructions
(orbit, then shadow, then power, battery, payload, thermal), longer than the core's
out-of-order window, so run satellite by satellite the core waits on each division and
square root in turn. A stage's loop over the block has short, independent iterations that
the core overlaps. Step stages read only their own satellite's fields (other satellites'
values come through the coupling pass), so both orders compute the same values; on this
project's 2-core machines the full default chain took 15-20 % less CPU per
satellite-step (docs/performance.md).

``combine`` folds each store chunk's blocks in order (one thread per chunk and step), so
the host reads a small ``(chunks, steps)`` array per metric.
"""

from typing import Any, Callable


#: Metrics folded in one pass over a block: x86-64 has 16 vector registers, and 27 running
#: totals in one loop spill to the stack at every satellite.
FOLD_GROUP = 8


def _make_check_block(checks: tuple[Any, ...], block_lo: Any, block_hi: Any, bad: Any) -> Callable:
    """``check_block(b)``: ``bad[b] = (first satellite of block b with a NaN or inf in a
    checked variable, that variable's index in checks)``, or ``(-1, -1)``. Shared by both
    kernel shapes."""
    import taichi as ti

    check_fields = tuple(f for f, _n in checks)
    check_n = tuple(n for _f, n in checks)

    @ti.func
    def finite(x):
        y = ti.cast(x, ti.f64)
        return (y == y) and (ti.abs(y) <= 1.7976931348623157e308)

    @ti.func
    def check_block(b):
        bad[b, 0] = -1
        bad[b, 1] = -1
        for i in range(block_lo[b], block_hi[b]):
            for v in ti.static(range(len(check_fields))):
                ok = True
                if ti.static(check_n[v] > 0):
                    for c in ti.static(range(check_n[v])):
                        if not finite(check_fields[v][i][c]):
                            ok = False
                else:
                    ok = finite(check_fields[v][i])
                if not ok and bad[b, 0] < 0:
                    bad[b, 0] = i
                    bad[b, 1] = v

    return check_block


def build_step_kernel(funcs: tuple[Callable, ...], folds: tuple[tuple[Callable, float], ...],
                      block_acc: Any, checks: tuple[Any, ...], block_lo: Any, block_hi: Any,
                      bad: Any, split_last: tuple[bool, ...] | None = None) -> Any:
    """Compose stages, metric folds and finite checks into
    ``advance(t0, dt, nsteps, n_blocks, k0)``: steps ``k0 .. k0 + nsteps - 1`` of the
    launch (their common-series rows and partial totals), the first at ``t0``. Sizes are
    arguments, not constants, so runs of other sizes over the same pooled fields reuse
    the compiled kernel.

    Args:
        funcs: ordered stage ``ti.func``\\s ``(i, k, t, dt)``.
        folds: ``(fold, identity)`` per metric; ``fold(acc, i) -> acc``.
        block_acc: f64 field ``(n_metrics, n_blocks, max_steps)``.
        checks: ``(field, n_components)`` (0 for a scalar) of the float variables to check
            for NaN/inf after the launch's last step.
        block_lo, block_hi: i32 fields ``(n_blocks,)``, each block's satellite range.
        bad: i32 field ``(n_blocks, 2)``: per block, the first non-finite satellite and the
            index of its variable in ``checks`` (-1 when all finite).
        split_last: with coupling stages, one flag per stage: the stages flagged (those
            that depend on coupled values) are left out of the launch's last step, and so
            are the metric folds of that step; a second kernel of only those stages and
            the folds completes the step after the coupling pass (`twin_core.axes`).
    """
    import taichi as ti

    n_metrics = len(folds)
    fold_funcs = tuple(f for f, _ in folds)
    groups = tuple(tuple(range(g, min(g + FOLD_GROUP, n_metrics))) for g in range(0, n_metrics, FOLD_GROUP))
    starts = tuple(ti.Vector([float(folds[m][1]) for m in grp], dt=ti.f64) for grp in groups)
    check_block = _make_check_block(checks, block_lo, block_hi, bad)
    split = tuple(split_last) if split_last is not None else (False,) * len(funcs)
    splitting = split_last is not None

    @ti.kernel
    def advance(t0: ti.f64, dt: ti.f64, nsteps: ti.i32, n_blocks: ti.i32, k0: ti.i32):
        for b in range(n_blocks):
            for j in range(nsteps):
                k = k0 + j
                t = t0 + ti.cast(j, ti.f64) * dt
                whole = True
                if ti.static(splitting):
                    whole = j < nsteps - 1
                for s in ti.static(range(len(funcs))):
                    if ti.static(split[s]):
                        if whole:
                            for i in range(block_lo[b], block_hi[b]):
                                funcs[s](i, k, t, dt)
                    else:
                        for i in range(block_lo[b], block_hi[b]):
                            funcs[s](i, k, t, dt)
                if whole:
                    for g in ti.static(range(len(groups))):  # a few metrics per pass: their totals stay in registers
                        acc = starts[g]
                        for i in range(block_lo[b], block_hi[b]):
                            for q in ti.static(range(len(groups[g]))):
                                acc[q] = fold_funcs[groups[g][q]](acc[q], i)
                        for q in ti.static(range(len(groups[g]))):
                            block_acc[groups[g][q], b, k] = acc[q]
            check_block(b)

    return advance


def build_step_kernel_simt(funcs: tuple[Callable, ...], folds: tuple[tuple[Callable, float], ...],
                           ops: tuple[int, ...], block_acc: Any, checks: tuple[Any, ...], block_lo: Any,
                           block_hi: Any, bad: Any, contrib: Any, n_sats: Callable[[int], int],
                           split_last: tuple[bool, ...] | None = None) -> Any:
    """The GPU-shaped `build_step_kernel`: the same ``advance(t0, dt, nsteps, n_blocks,
    k0)``, with one satellite per thread.

    .. code-block:: text

        for k in the launch's steps:            # one launch each (host loop)
            for i in range(n):                  # parallel: one thread per satellite
                for stage in stages: stage(i, k, t, dt)
                contrib[m, i] = fold_m(identity_m, i)     # satellite i's share of each total
            for b in range(n_blocks):           # parallel: one thread per block
                acc = identities
                for i in block b: acc[m] = op_m(acc[m], contrib[m, i])   # in index order
                block_acc[m, b, k] = acc
        check every float variable of each block for NaN/inf (one thread per block)

    A GPU runs tens of thousands of threads: a block of satellites per thread (the CPU
    shape) leaves most of them idle and makes each thread's memory access strided. Here
    adjacent threads touch adjacent satellites. The totals stay deterministic: each
    block's contributions are folded in satellite order by one thread, as the CPU kernel
    folds them, so both give the same bits from the same values: a fold is ``op(acc,
    value)`` with the identity's ``op(identity, value) = value`` exactly (sums, counts,
    min, max; `twin_core.metrics.make_accumulator`). The stages' own arithmetic is
    compiled twice, once per shape, and fast math may round it differently in the last
    bit.

    Args:
        funcs, folds, block_acc, checks, block_lo, block_hi, bad, split_last: as
            `build_step_kernel`.
        ops: per metric 0 (sum), 1 (min) or 2 (max): how contributions combine.
        contrib: f64 field ``(n_metrics, >= n)``: each satellite's contribution.
        n_sats: ``n_blocks -> n``, the satellites the blocks cover (``block_hi`` of the
            last block).
    """
    import taichi as ti

    n_metrics = len(folds)
    fold_funcs = tuple(f for f, _ in folds)
    idents = tuple(float(v) for _, v in folds)
    ops = tuple(int(o) for o in ops)
    check_block = _make_check_block(checks, block_lo, block_hi, bad)
    split = tuple(split_last) if split_last is not None else (False,) * len(funcs)
    splitting = split_last is not None

    @ti.kernel
    def step(t: ti.f64, dt: ti.f64, k: ti.i32, n: ti.i32, whole: ti.i32):
        for i in range(n):
            for s in ti.static(range(len(funcs))):
                if ti.static(split[s]):
                    if whole:
                        funcs[s](i, k, t, dt)
                else:
                    funcs[s](i, k, t, dt)
            if whole:
                for m in ti.static(range(n_metrics)):
                    contrib[m, i] = fold_funcs[m](ti.cast(idents[m], ti.f64), i)

    @ti.kernel
    def reduce(k: ti.i32, n_blocks: ti.i32):
        for b in range(n_blocks):
            for m in ti.static(range(n_metrics)):
                acc = ti.cast(idents[m], ti.f64)
                for i in range(block_lo[b], block_hi[b]):
                    if ti.static(ops[m] == 1):
                        acc = ti.min(acc, contrib[m, i])
                    elif ti.static(ops[m] == 2):
                        acc = ti.max(acc, contrib[m, i])
                    else:
                        acc = acc + contrib[m, i]
                block_acc[m, b, k] = acc

    @ti.kernel
    def check(n_blocks: ti.i32):
        for b in range(n_blocks):
            check_block(b)

    def advance(t0: float, dt: float, nsteps: int, n_blocks: int, k0: int) -> None:
        n = n_sats(n_blocks)
        for j in range(nsteps):
            whole = not (splitting and j == nsteps - 1)
            step(t0 + j * dt, dt, k0 + j, n, int(whole))
            if whole and n_metrics:
                reduce(k0 + j, n_blocks)
        check(n_blocks)

    return advance


def build_combine_kernel(ops: Any, block_acc: Any, chunk_acc: Any, chunk_first_block: Any) -> Any:
    """``combine(nsteps, n_metrics, n_chunks)``: ``chunk_acc[m, c, k]`` = the in-order fold of chunk ``c``'s
    blocks of ``block_acc[m, :, k]``; ``ops[m]`` is 0 (sum), 1 (min) or 2 (max). Generic
    over the metrics (no unrolling), so it compiles once and quickly."""
    import taichi as ti

    @ti.kernel
    def combine(nsteps: ti.i32, n_metrics: ti.i32, n_chunks: ti.i32):
        for m, c, k in ti.ndrange(n_metrics, n_chunks, nsteps):
            s = block_acc[m, chunk_first_block[c], k]
            op = ops[m]
            for b in range(chunk_first_block[c] + 1, chunk_first_block[c + 1]):
                x = block_acc[m, b, k]
                if op == 1:
                    s = ti.min(s, x)
                elif op == 2:
                    s = ti.max(s, x)
                else:
                    s = s + x
            chunk_acc[m, c, k] = s

    return combine


def _columns(fields: tuple[tuple[Any, int], ...]) -> tuple[tuple, tuple, tuple, int]:
    """``(fields, components, first column of each, columns)`` of the float64 table that
    `build_gather_kernel` and `build_scatter_kernel` exchange: one column per scalar, one
    per vector component."""
    offsets, col = [], 0
    for _f, comps in fields:
        offsets.append(col)
        col += max(comps, 1)
    return tuple(f for f, _c in fields), tuple(c for _f, c in fields), tuple(offsets), col


def build_gather_kernel(fields: tuple[tuple[Any, int], ...]) -> Any:
    """``gather(out, n)``: copy ``fields`` (``(field, n_components)``, 0 for a scalar) of
    the first ``n`` satellites into the float64 array ``out`` of shape ``(n, columns)``, one launch
    for all of them (taichi's per-field ``to_numpy`` costs a launch and, the first time,
    a compilation per field)."""
    import taichi as ti

    flds, comps_t, offsets, col = _columns(fields)

    @ti.kernel
    def gather(out: ti.types.ndarray(dtype=ti.f64, ndim=2), n: ti.i32):
        for i in range(n):
            for v in ti.static(range(len(flds))):
                if ti.static(comps_t[v] > 0):
                    for c in ti.static(range(comps_t[v])):
                        out[i, offsets[v] + c] = ti.cast(flds[v][i][c], ti.f64)
                else:
                    out[i, offsets[v]] = ti.cast(flds[v][i], ti.f64)

    return gather, col


def build_scatter_kernel(fields: tuple[tuple[Any, int], ...]) -> Any:
    """``scatter(values, n)``: the inverse of `build_gather_kernel`: write the float64
    array ``values`` of shape ``(n, columns)`` into ``fields`` (each value cast to its
    field's type; exact for values of that type), one launch for all of them."""
    import taichi as ti

    flds, comps_t, offsets, col = _columns(fields)

    @ti.kernel
    def scatter(values: ti.types.ndarray(dtype=ti.f64, ndim=2), n: ti.i32):
        for i in range(n):
            for v in ti.static(range(len(flds))):
                if ti.static(comps_t[v] > 0):
                    for c in ti.static(range(comps_t[v])):
                        flds[v][i][c] = ti.cast(values[i, offsets[v] + c], flds[v].dtype)
                else:
                    flds[v][i] = ti.cast(values[i, offsets[v]], flds[v].dtype)

    return scatter, col


def build_coupling_kernel(axis_funcs: tuple[tuple[Callable, ...], ...], sat_funcs: tuple[Callable, ...]) -> Any:
    """Compose the coupling pass (`twin_core.axes`) into
    ``couple(k, t, dt, n0, n1, n2, n3, n_sats)``: first each stage over each axis for
    every local element of it, then each satellite coupling stage for every own
    satellite. Every stage is a top-level loop of its own: taichi runs a kernel's
    top-level loops one after another, each in parallel, so a stage sees every element
    the stages before it wrote (a cluster's members' partial sums). Stage signature
    ``(i, k, t, dt)``: ``k`` the launch's last step, ``dt`` the time since the previous
    pass.

    Args:
        axis_funcs: per axis (at most four), its stages' ``ti.func``\\s in order.
        sat_funcs: the satellites' coupling stages in order.
    """
    import taichi as ti

    if len(axis_funcs) > 4:
        raise ValueError("at most four axes")
    flat = tuple((j, f) for j, funcs in enumerate(axis_funcs) for f in funcs)
    axis_of = tuple(j for j, _f in flat)
    funcs = tuple(f for _j, f in flat)

    @ti.kernel
    def couple(k: ti.i32, t: ti.f64, dt: ti.f64, n0: ti.i32, n1: ti.i32, n2: ti.i32, n3: ti.i32, n_sats: ti.i32):
        lengths = ti.Vector([n0, n1, n2, n3])
        for s in ti.static(range(len(funcs))):
            for i in range(lengths[axis_of[s]]):
                funcs[s](i, k, t, dt)
        for s in ti.static(range(len(sat_funcs))):
            for i in range(n_sats):
                sat_funcs[s](i, k, t, dt)

    return couple
