"""The variable registry and its taichi fields: one field per variable (structure of
arrays), allocated together in one SNode tree that is freed when the run ends.

Layout lives here and nowhere else: stages fetch their fields with `State.field` and never
allocate. Vectors are ``ti.Vector.field(3, ...)``, so a vector's three components of one
satellite are adjacent.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from twin_core.declarations import CommonSeries, SatelliteTable, Variable
from twin_core.errors import BuildError


def _ti_dtype(ti: Any, dtype: str) -> Any:
    return {"f64": ti.f64, "f32": ti.f32, "i32": ti.i32, "i8": ti.i8, "u8": ti.u8}[dtype]


class State:
    """All per-satellite variables of one run (or one shard of it).

    Attributes:
        variables: name -> `Variable`, in declaration order.
        owners: name -> plugin that declared it.
        satellites: the full constellation's `SatelliteTable`.
        sat_start, sat_stop: the slice of the constellation this process simulates.
        n: satellites in this process (``sat_stop - sat_start``).
        n_total: satellites in the whole constellation.
        max_steps: the largest number of steps per kernel launch (size of the common
            series tables).
    """

    def __init__(self, variables: Iterable[tuple[str, Variable]], common: Iterable[tuple[str, CommonSeries]],
                 satellites: SatelliteTable, sat_start: int = 0, sat_stop: int | None = None,
                 max_steps: int = 1):
        self.variables: dict[str, Variable] = {}
        self.owners: dict[str, str] = {}
        for plugin, var in variables:
            if var.name in self.variables:
                raise BuildError(f"variable '{var.name}' is declared by both plugins "
                                 f"'{self.owners[var.name]}' and '{plugin}'; disable one")
            self.variables[var.name] = var
            self.owners[var.name] = plugin
        self.common_series: dict[str, CommonSeries] = {}
        for plugin, series in common:
            if series.name in self.variables or series.name in self.common_series:
                raise BuildError(f"'{series.name}' is declared twice (plugin '{plugin}')")
            self.common_series[series.name] = series
            self.owners[series.name] = plugin
        self.satellites = satellites
        self.n_total = satellites.count
        self.sat_start = sat_start
        self.sat_stop = satellites.count if sat_stop is None else sat_stop
        self.n = self.sat_stop - self.sat_start
        if self.n <= 0:
            raise BuildError("the constellation has no satellites")
        self.max_steps = max(1, max_steps)
        self._fields: dict[str, Any] = {}
        self._common: dict[str, Any] = {}
        self._tree: Any = None

    # -- allocation -------------------------------------------------------------------

    def allocate(self) -> None:
        """Take every field from the process's field pool (`twin_core.fieldpool`), sized
        for `capacity` satellites and `steps_capacity` steps (taichi must be started)."""
        import taichi as ti

        from twin_core import fieldpool

        self.capacity = fieldpool.capacity(self.n)
        self.steps_capacity = fieldpool.capacity(self.max_steps, minimum=1)
        key = ("state", self.capacity, self.steps_capacity,
               tuple((n, v.dtype, tuple(v.shape)) for n, v in self.variables.items()),
               tuple((n, tuple(c.shape)) for n, c in self.common_series.items()))

        def place(fb: Any) -> tuple[dict[str, Any], int]:
            fields, nbytes = {}, 0
            for name, var in self.variables.items():
                dt = _ti_dtype(ti, var.dtype)
                f = ti.Vector.field(var.shape[0], dt) if var.shape else ti.field(dt)
                fb.dense(ti.i, self.capacity).place(f)
                fields[name] = f
                nbytes += self.capacity * var.numpy_dtype.itemsize * int(np.prod(var.shape, dtype=int))
            for name, series in self.common_series.items():
                f = ti.Vector.field(series.shape[0], ti.f64) if series.shape else ti.field(ti.f64)
                fb.dense(ti.i, self.steps_capacity).place(f)
                fields["common:" + name] = f
            return fields, nbytes

        self._alloc = fieldpool.acquire(key, place)
        for name in self.variables:
            self._fields[name] = self._alloc.fields[name]
        for name in self.common_series:
            self._common[name] = self._alloc.fields["common:" + name]

    def free(self) -> None:
        """Give the fields back to the pool (the State is unusable afterwards)."""
        from twin_core import fieldpool

        if getattr(self, "_alloc", None) is not None:
            fieldpool.release(self._alloc)
            self._alloc = None
            self._fields.clear()
            self._common.clear()

    # -- access -----------------------------------------------------------------------

    def field(self, name: str) -> Any:
        """The taichi field of a per-satellite variable (for closures in stages)."""
        try:
            return self._fields[name]
        except KeyError:
            raise BuildError(self._missing(name)) from None

    def common(self, name: str) -> Any:
        """The taichi field of a common series, indexed by step within a launch."""
        try:
            return self._common[name]
        except KeyError:
            raise BuildError(self._missing(name)) from None

    def has(self, name: str) -> bool:
        return name in self.variables or name in self.common_series

    def _missing(self, name: str) -> str:
        import difflib

        known = list(self.variables) + list(self.common_series)
        close = difflib.get_close_matches(name, known, n=1)
        return (f"no variable '{name}' is declared by any loaded plugin"
                + (f" (did you mean '{close[0]}'?)" if close else ""))

    def set(self, name: str, values: Any) -> None:
        """Set a variable for the whole constellation: ``values`` has ``n_total`` rows (or
        is a scalar); the rows of this shard are stored."""
        var = self.variables.get(name)
        if var is None:
            raise BuildError(self._missing(name))
        arr = np.asarray(values, dtype=var.numpy_dtype)
        full_shape = (self.n_total,) + var.shape
        if arr.shape != full_shape:
            arr = np.broadcast_to(arr, full_shape)
        self.load(name, arr[self.sat_start:self.sat_stop])

    def load(self, name: str, rows: np.ndarray) -> None:
        """Set this shard's ``n`` rows of a variable (a checkpoint's values)."""
        var = self.variables[name]
        full = np.zeros((self.capacity,) + var.shape, dtype=var.numpy_dtype)
        full[:self.n] = rows
        self._fields[name].from_numpy(full)

    def get(self, name: str) -> np.ndarray:
        """The current values of a variable for this shard, as a new numpy array."""
        if name in self._common:
            return self._common[name].to_numpy()[:self.max_steps]
        return self.field(name).to_numpy()[:self.n]

    def gatherer(self, names: list[str]):
        """A function returning ``{name: values}`` for ``names`` with one kernel launch
        (values in each variable's own dtype; float64 holds every declared dtype exactly)."""
        from twin_core.kernel import build_gather_kernel

        vars_ = [self.variables[n] for n in names]
        kernel, ncols = build_gather_kernel(tuple((self._fields[v.name], v.shape[0] if v.shape else 0)
                                                  for v in vars_))

        def gather() -> dict[str, np.ndarray]:
            out = np.empty((self.n, max(ncols, 1)), dtype=np.float64)
            if vars_:
                kernel(out, self.n)
            result, col = {}, 0
            for v in vars_:
                width = v.shape[0] if v.shape else 1
                block = out[:, col:col + width] if v.shape else out[:, col]
                result[v.name] = block.astype(v.numpy_dtype)
                col += width
            return result

        return gather

    def bytes_per_satellite(self) -> int:
        """Bytes of field storage per satellite."""
        return sum(v.numpy_dtype.itemsize * int(np.prod(v.shape, dtype=int)) for v in self.variables.values())
