"""Reusing taichi fields between runs in one process.

Taichi numbers every SNode it creates in a process and compiles those numbers into each
kernel, so a kernel built over freshly allocated fields never matches the offline cache:
in a process that builds several runs (the tests, a dask worker running several shards,
a sweep) every run after the first would spend seconds compiling again. Runs therefore
take their fields from this pool: an allocation with the same layout (variable names,
dtypes, shapes and a rounded-up capacity) is handed out again, zeroed, so the same plugins
give the same kernel and taichi loads it from its cache.

Capacities are rounded up (`capacity`) so that constellations of similar size share an
allocation; the rows beyond a run's satellites are never stepped. Allocations larger than
`POOL_MAX_BYTES` are freed when released rather than kept.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

#: Largest allocation kept for reuse after its run ends [bytes].
POOL_MAX_BYTES = 512 * 2**20


def capacity(n: int, minimum: int = 64) -> int:
    """``n`` rounded up to a multiple of 2^(bits(n) - 3) (at most 12.5 % more, and at least
    ``minimum``), so nearby sizes share one allocation."""
    n = max(int(n), minimum)
    grain = 1 << max(0, n.bit_length() - 3)
    return -(-n // grain) * grain


class Allocation:
    """Fields placed in one SNode tree, and whether a run holds them."""

    def __init__(self, key: Hashable, fields: dict[str, Any], tree: Any, nbytes: int):
        self.key, self.fields, self.tree, self.nbytes = key, fields, tree, nbytes
        self.in_use = True
        self._zero_kernel: Any = None

    def zero(self) -> None:
        """Zero every field with one kernel (built once per allocation). ``field.fill``
        compiles a kernel per field: with some 70 fields that took 8 s per reused run."""
        if self._zero_kernel is None:
            self._zero_kernel = _build_zero_kernel(tuple(self.fields.values()))
        self._zero_kernel()


def _build_zero_kernel(fields: tuple[Any, ...]) -> Any:
    import taichi as ti

    comps = tuple(int(f.n) if isinstance(f, ti.MatrixField) else 0 for f in fields)  # vector length, 0: scalar

    @ti.kernel
    def zero_all():
        for j in ti.static(range(len(fields))):
            for I in ti.grouped(fields[j]):
                if ti.static(comps[j] > 0):
                    for c in ti.static(range(comps[j])):
                        fields[j][I][c] = 0
                else:
                    fields[j][I] = 0

    return zero_all


_POOL: dict[Hashable, list[Allocation]] = {}


def acquire(key: Hashable, place: Callable[[Any], tuple[dict[str, Any], int]]) -> Allocation:
    """An allocation for ``key``: a free pooled one (zeroed), or a new one made by
    ``place(fields_builder) -> (fields, nbytes)``."""
    import taichi as ti

    for alloc in _POOL.get(key, []):
        if not alloc.in_use:
            alloc.in_use = True
            alloc.zero()
            return alloc
    fb = ti.FieldsBuilder()
    fields, nbytes = place(fb)
    alloc = Allocation(key, fields, fb.finalize(), nbytes)
    if nbytes <= POOL_MAX_BYTES:
        _POOL.setdefault(key, []).append(alloc)
    return alloc


def release(alloc: Allocation) -> None:
    """Give an allocation back (kept for reuse if small enough, else freed)."""
    alloc.in_use = False
    if alloc.nbytes > POOL_MAX_BYTES and alloc.tree is not None:
        alloc.tree.destroy()
        alloc.tree = None
