"""The fused kernel. Kept in its own module without ``from __future__ import
annotations``: taichi reads the kernel's annotations as objects, not strings."""

from typing import Any, Callable


def build_step_kernel(funcs: tuple[Callable, ...], n: int) -> Any:
    """Compose the ordered stage functions into one kernel
    ``advance(t0: f64, dt: f64, nsteps: i32)`` that runs ``nsteps`` steps of every stage
    for each of the ``n`` satellites, parallel over satellites."""
    import taichi as ti

    @ti.kernel
    def advance(t0: ti.f64, dt: ti.f64, nsteps: ti.i32):
        for i in range(n):
            for k in range(nsteps):
                t = t0 + ti.cast(k, ti.f64) * dt
                for stage in ti.static(funcs):
                    stage(i, k, t, dt)

    return advance
