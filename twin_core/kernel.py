"""The fused kernel. Kept in its own module without ``from __future__ import
annotations``: taichi reads the kernel's annotations as objects, not strings."""

from typing import Any, Callable


def build_step_kernel(funcs: tuple[Callable, ...], folds: tuple[Callable, ...], block_lo: Any,
                      block_hi: Any, n_blocks: int) -> Any:
    """Compose the ordered stage functions and the metric folds into one kernel
    ``advance(t0: f64, dt: f64, nsteps: i32)``.

    Parallel over kernel blocks; each thread runs its block's satellites in index order,
    every step of the launch for one satellite before the next (its fields stay in
    registers and L1), and folds each metric into the block's accumulator.
    """
    import taichi as ti

    @ti.kernel
    def advance(t0: ti.f64, dt: ti.f64, nsteps: ti.i32):
        for b in range(n_blocks):
            for i in range(block_lo[b], block_hi[b]):
                for k in range(nsteps):
                    t = t0 + ti.cast(k, ti.f64) * dt
                    for stage in ti.static(funcs):
                        stage(i, k, t, dt)
                    for fold in ti.static(folds):
                        fold(b, k, i)

    return advance
