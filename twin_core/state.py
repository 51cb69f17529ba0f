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
        sat_start, sat_stop: the slice of the constellation this process owns (records).
        n_own: satellites it owns (``sat_stop - sat_start``), its first ``n_own`` rows.
        rows: global index of each row: the own satellites, then the halo (satellites
            of other shards that links reach, stepped but not recorded: `twin_core.axes`).
        n: rows in this process (own and halo).
        axes: name -> `twin_core.axes.LocalAxis`, the links this process evaluates.
        n_total: satellites in the whole constellation.
        max_steps: the largest number of steps per kernel launch (size of the common
            series tables).
        satellite_mass_kg: dry mass of one satellite from every plugin's mass budget
            [kg] (0 when none declares one), for ``orbitwin_initial_state`` hooks that
            need it (launch planning).
    """

    def __init__(self, variables: Iterable[tuple[str, Variable]], common: Iterable[tuple[str, CommonSeries]],
                 satellites: SatelliteTable, sat_start: int = 0, sat_stop: int | None = None,
                 max_steps: int = 1, axes: Iterable[Any] = (), rows: np.ndarray | None = None):
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
        self.constants: dict[str, float] = {}  # Combined quantities nobody contributes to (`constant`)
        self.satellites = satellites
        self.n_total = satellites.count
        self.sat_start = sat_start
        self.sat_stop = satellites.count if sat_stop is None else sat_stop
        self.n_own = self.sat_stop - self.sat_start
        if self.n_own <= 0:
            raise BuildError("the constellation has no satellites")
        self.rows = (np.arange(self.sat_start, self.sat_stop, dtype=np.int64) if rows is None
                     else np.asarray(rows, dtype=np.int64))
        self.n = int(self.rows.shape[0])
        self.axes: dict[str, Any] = {ax.name: ax for ax in axes}
        self.max_steps = max(1, max_steps)
        self._fields: dict[str, Any] = {}
        self._pending: dict[str, np.ndarray] = {}  # per-satellite values set, not yet in their fields (`flush`)
        self._scatter: dict[tuple[str, ...], Any] = {}
        self._common: dict[str, Any] = {}
        self._structure: dict[tuple[str, str], Any] = {}
        self._tree: Any = None
        self._used: frozenset[str] | None = None  # set by the engine once every stage is known
        self.satellite_mass_kg = 0.0

    # -- allocation -------------------------------------------------------------------

    def allocate(self) -> None:
        """Take every field from the process's field pool (`twin_core.fieldpool`), sized
        for `capacity` satellites and `steps_capacity` steps (taichi must be started)."""
        import taichi as ti

        from twin_core import fieldpool

        self.capacity = fieldpool.capacity(self.n)
        self.steps_capacity = fieldpool.capacity(self.max_steps, minimum=1)
        caps = {name: (fieldpool.capacity(ax.n), fieldpool.capacity(2 * ax.n)) for name, ax in self.axes.items()}
        self.axis_capacity = {name: c[0] for name, c in caps.items()}
        key = ("state", self.capacity, self.steps_capacity,
               tuple((n, v.dtype, tuple(v.shape), v.axis) for n, v in self.variables.items()),
               tuple((n, tuple(c.shape)) for n, c in self.common_series.items()), tuple(sorted(caps.items())))

        def place(fb: Any) -> tuple[dict[str, Any], int]:
            fields, nbytes = {}, 0
            for name, var in self.variables.items():
                dt = _ti_dtype(ti, var.dtype)
                f = ti.Vector.field(var.shape[0], dt) if var.shape else ti.field(dt)
                cap = self.capacity if var.axis == "sat" else caps[var.axis][0]
                fb.dense(ti.i, cap).place(f)
                fields[name] = f
                nbytes += cap * var.numpy_dtype.itemsize * int(np.prod(var.shape, dtype=int))
            for name, (cap, inc_cap) in caps.items():
                for part, size in (("a", cap), ("b", cap), ("offsets", self.capacity + 1), ("incident", inc_cap)):
                    f = ti.field(ti.i32)
                    fb.dense(ti.i, size).place(f)
                    fields[f"axis:{name}:{part}"] = f
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
        self._structure = {}
        for name, ax in self.axes.items():
            for part in ("a", "b", "offsets", "incident"):
                f = self._alloc.fields[f"axis:{name}:{part}"]
                values = getattr(ax, part)
                full = np.zeros(f.shape[0], dtype=np.int32)
                full[:values.shape[0]] = values
                f.from_numpy(full)
                self._structure[(name, part)] = f

    def free(self) -> None:
        """Give the fields back to the pool (the State is unusable afterwards)."""
        from twin_core import fieldpool

        if getattr(self, "_alloc", None) is not None:
            fieldpool.release(self._alloc)
            self._alloc = None
            self._fields.clear()
            self._common.clear()
            self._pending.clear()

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

    def endpoints(self, axis: str) -> tuple[Any, Any]:
        """The i32 fields ``(a, b)`` of an axis: the local rows of link ``l``'s owner
        ``a[l]`` and far end ``b[l]`` (-1 for an unused slot). For stages over the axis."""
        return self._axis_part(axis, "a"), self._axis_part(axis, "b")

    def incidence(self, axis: str) -> tuple[Any, Any]:
        """The i32 fields ``(offsets, incident)`` listing the links that touch each row:
        links ``incident[p]`` for ``p`` in ``range(offsets[i], offsets[i + 1])``, in
        increasing order (so sums over them are deterministic). For satellites' coupling
        stages."""
        return self._axis_part(axis, "offsets"), self._axis_part(axis, "incident")

    def _axis_part(self, axis: str, part: str) -> Any:
        if axis not in self.axes:
            raise BuildError(f"no axis '{axis}' is declared by any loaded plugin (orbitwin_axes)"
                             + (f"; declared: {', '.join(sorted(self.axes))}" if self.axes else ""))
        return self._structure[(axis, part)]

    def local_index(self, global_index: Any) -> np.ndarray:
        """Rows of this process of satellites given by their index in the constellation
        (-1 for one it does not hold): to store, in a parameter, another satellite a
        coupling stage reads (a cluster's first member)."""
        from twin_core.axes import to_local

        return to_local(self.rows, self.n_own, self.sat_start, np.asarray(global_index))

    def axis_length(self, axis: str) -> int:
        """Links of ``axis`` this process evaluates (the loop bound of stages over it)."""
        if axis == "sat":
            return self.n
        return self.axes[axis].n

    def constant(self, name: str) -> float | None:
        """The value of the `Combined` quantity ``name`` when no plugin contributes to it
        in this run (its ``start``), else ``None``. A stage may compile such a value in as
        a literal instead of reading its field every step (the payload does so for
        ``payload.available_fraction`` when nothing limits it)."""
        return self.constants.get(name)

    def has(self, name: str) -> bool:
        """Whether some loaded plugin declares ``name`` (a variable or a common series) in
        this run: how a plugin adapts to which others are loaded."""
        return name in self.variables or name in self.common_series

    def used(self, name: str) -> bool:
        """Whether anything in this run reads the variable ``name``: it is recorded,
        reduced into a constellation total, a state, or in some stage's ``reads`` or
        ``reads_previous`` (`twin_core.ordering.live_variables`). A stage may skip
        computing and storing an output nobody reads; a variable no loaded plugin
        declares is an error, as for `field`.

        The answer exists once every plugin's stages are known, which is after
        ``orbitwin_stages`` returns and before the fused kernel compiles. So ask inside
        ``ti.static(...)`` in the stage's function, which taichi evaluates when it
        compiles the kernel::

            @ti.func
            def step(i, k, t, dt):
                ...
                if ti.static(state.used("environment.beta_deg")):
                    beta_f[i] = ti.cast(asin(sin_beta) * RAD2DEG, ti.f32)

        Asked earlier (in the hook's own body) it raises `BuildError`. An output left
        uncomputed keeps its last stored value (zero at the start) in checkpoints.
        """
        if name not in self.variables:
            raise BuildError(self._missing(name))
        if self._used is None:
            raise BuildError(f"state.used('{name}') is answered once every plugin's stages are known: ask it "
                             "inside ti.static(...) in the stage's function (evaluated when the kernel "
                             "compiles), not in the orbitwin_stages hook itself")
        return name in self._used

    def set_used(self, names: Iterable[str]) -> None:
        """Fix the answer of `used` (the engine, once the stages are known)."""
        self._used = frozenset(names)

    def _missing(self, name: str) -> str:
        import difflib

        known = list(self.variables) + list(self.common_series)
        close = difflib.get_close_matches(name, known, n=1)
        return (f"no variable '{name}' is declared by any loaded plugin"
                + (f" (did you mean '{close[0]}'?)" if close else ""))

    def set(self, name: str, values: Any) -> None:
        """Set a variable for the whole constellation: ``values`` has ``n_total`` rows (or,
        on an axis, the axis's whole length), or is a scalar; this process's rows are
        stored."""
        var = self.variables.get(name)
        if var is None:
            raise BuildError(self._missing(name))
        arr = np.asarray(values, dtype=var.numpy_dtype)
        if var.axis == "sat":
            total, pick = self.n_total, self.rows
        else:
            ax = self.axes[var.axis]
            total, pick = self.n_total * ax.slots, ax.links_global
        full_shape = (total,) + var.shape
        if arr.shape != full_shape:
            arr = np.broadcast_to(arr, full_shape)
        self.load(name, arr[pick])

    def length(self, name: str) -> int:
        """Local rows of a variable: ``n`` on satellites, the local links on an axis."""
        var = self.variables[name]
        return self.n if var.axis == "sat" else self.axes[var.axis].n

    def load(self, name: str, rows: np.ndarray) -> None:
        """Set this process's local rows of a variable (a checkpoint's values). Values of
        per-satellite variables wait in numpy until `flush` writes them all with one
        kernel (taichi's ``from_numpy`` is a kernel per field, compiled or loaded from the
        cache the first time for each: 5-10 ms each, tens of fields, at every start)."""
        var = self.variables[name]
        if var.axis == "sat" and not isinstance(self._fields.get(name), DryField):
            self._pending[name] = np.array(rows, dtype=var.numpy_dtype, copy=True).reshape((self.n,) + var.shape)
            return
        f = self._fields[name]
        full = np.zeros((f.shape[0],) + var.shape, dtype=var.numpy_dtype)
        full[:self.length(name)] = rows
        f.from_numpy(full)

    def flush(self) -> None:
        """Write every value `load` (or `set`) holds back into its field: one launch of a
        kernel built for that set of fields (`twin_core.kernel.build_scatter_kernel`).
        The engine calls it before any kernel reads the fields."""
        if not self._pending:
            return
        from twin_core.kernel import build_scatter_kernel

        names = tuple(self._pending)
        if names not in self._scatter:
            self._scatter[names] = build_scatter_kernel(
                tuple((self._fields[n], self.variables[n].shape[0] if self.variables[n].shape else 0) for n in names))
        kernel, ncols = self._scatter[names]
        buf = np.empty((self.n, max(ncols, 1)), dtype=np.float64)
        col = 0
        for n in names:
            values = self._pending[n].reshape(self.n, -1)
            buf[:, col:col + values.shape[1]] = values
            col += values.shape[1]
        kernel(buf, self.n)
        self._pending.clear()

    def get(self, name: str) -> np.ndarray:
        """The current values of a variable for this process's rows, as a new numpy array."""
        if name in self._common:
            return self._common[name].to_numpy()[:self.max_steps]
        if name in self._pending:
            return self._pending[name].copy()
        return self.field(name).to_numpy()[:self.length(name)]

    def gatherer(self, names: list[str], own: bool = False):
        """A function returning ``{name: values}`` for ``names`` with one kernel launch per
        axis (values in each variable's own dtype; float64 holds every declared dtype
        exactly): every local row, or with ``own`` only this process's satellites and
        their link slots (what it records)."""
        from twin_core.kernel import build_gather_kernel

        by_axis: dict[str, list[Variable]] = {}
        for n in names:
            v = self.variables[n]
            by_axis.setdefault(v.axis, []).append(v)
        parts = []
        for axis, vars_ in by_axis.items():
            rows = (self.n_own if own else self.n) if axis == "sat" else \
                (self.axes[axis].n_own if own else self.axes[axis].n)
            kernel, ncols = build_gather_kernel(tuple((self._fields[v.name], v.shape[0] if v.shape else 0)
                                                      for v in vars_))
            parts.append((vars_, rows, kernel, ncols))

        buffers: dict[int, np.ndarray] = {}

        def gather() -> dict[str, np.ndarray]:
            self.flush()
            result = {}
            for p, (vars_, rows, kernel, ncols) in enumerate(parts):
                # one float64 buffer per gatherer, reused: the values handed out are copies
                # (astype), and a fresh 10^6 x 52 buffer per checkpoint cost 1.35 s to
                # allocate and first-touch, and let the peak memory creep up with the run
                out = buffers.get(p)
                if out is None:
                    out = buffers[p] = np.empty((rows, max(ncols, 1)), dtype=np.float64)
                if rows:
                    kernel(out, rows)
                col = 0
                for v in vars_:
                    width = v.shape[0] if v.shape else 1
                    block = out[:, col:col + width] if v.shape else out[:, col]
                    result[v.name] = block.astype(v.numpy_dtype)
                    col += width
            return result

        return gather

    def bytes_per_satellite(self) -> int:
        """Bytes of field storage per satellite (its link slots included)."""
        return sum(v.numpy_dtype.itemsize * int(np.prod(v.shape, dtype=int))
                   * (1 if v.axis == "sat" else self.axes[v.axis].slots) for v in self.variables.values())

    def field_names(self) -> dict[int, tuple[str, str]]:
        """``id(field) -> (kind, name)`` of every field this state hands out (``kind`` is
        ``"variable"`` or ``"common"``): how `twin_core.stagecheck` recognises the fields a
        stage's function closes over."""
        out = {id(f): ("variable", name) for name, f in self._fields.items()}
        out.update({id(f): ("common", name) for name, f in self._common.items()})
        out.update({id(f): ("structure", f"{axis}.{part}") for (axis, part), f in self._structure.items()})
        return out


class DryField:
    """What a `DryState` hands out instead of a taichi field: it names its variable and
    holds nothing. A ``ti.func`` may close over it (decorating needs no field and no
    ``ti.init``); it is never compiled. Python-scope access reads zeros and writes nothing.

    Attributes:
        name: the variable's (or common series') name.
        kind: ``"variable"`` or ``"common"``.
        dtype: the declared dtype (``"f64"``, ...); common series are ``"f64"``.
        vshape: ``()`` for a scalar, ``(3,)`` for a vector.
        n: components of a vector (as taichi's vector fields have it), 1 for a scalar.
    """

    def __init__(self, name: str, kind: str, dtype: str, vshape: tuple[int, ...], rows: int):
        self.name, self.kind, self.dtype, self.vshape, self._rows = name, kind, dtype, tuple(vshape), rows
        self.n = self.vshape[0] if self.vshape else 1

    @property
    def shape(self) -> tuple[int, ...]:
        return (self._rows,)

    def _zeros(self) -> np.ndarray:
        from twin_core.declarations import NUMPY_DTYPES

        return np.zeros((self._rows,) + self.vshape, dtype=NUMPY_DTYPES.get(self.dtype, np.float64))

    def to_numpy(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return self._zeros()

    def from_numpy(self, *args: Any, **kwargs: Any) -> None:
        return None

    def fill(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getitem__(self, index: Any) -> Any:
        return np.zeros(self.vshape) if self.vshape else 0

    def __setitem__(self, index: Any, value: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"<dry field {self.name!r}>"


class DryState(State):
    """A `State` that allocates nothing: ``orbitwin validate`` hands it to the plugins'
    ``orbitwin_initial_state`` and ``orbitwin_stages`` hooks to run every build check a
    run makes (declarations, names, shapes of the values set, stage signatures and the
    fields each stage touches, ordering) without taichi fields or compilation.

    The API is `State`'s: ``field`` and ``common`` return `DryField` placeholders that
    name their variable; ``set`` and ``load`` check the name and the shape, and keep a
    reference to the values (no copy beyond what numpy's conversion to the declared dtype
    makes), which ``get`` returns (zeros for a variable never set).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.capacity = self.n
        self.steps_capacity = self.max_steps
        self._values: dict[str, np.ndarray] = {}
        for name, var in self.variables.items():
            rows = self.n if var.axis == "sat" or var.axis not in self.axes else self.axes[var.axis].n
            self._fields[name] = DryField(name, "variable", var.dtype, var.shape, rows)
        for name, series in self.common_series.items():
            self._common[name] = DryField(name, "common", "f64", series.shape, self.max_steps)
        for axis, ax in self.axes.items():
            for part in ("a", "b", "offsets", "incident"):
                self._structure[(axis, part)] = DryField(f"{axis}.{part}", "structure", "i32", (),
                                                         getattr(ax, part).shape[0])

    def allocate(self) -> None:
        """Nothing to allocate: the placeholders exist from the start."""

    def free(self) -> None:
        self._values.clear()

    def load(self, name: str, rows: np.ndarray) -> None:
        var = self.variables.get(name)
        if var is None:
            raise BuildError(self._missing(name))
        arr = np.asarray(rows, dtype=var.numpy_dtype)
        expect = (self.length(name),) + var.shape
        if arr.shape != expect:
            arr = np.broadcast_to(arr, expect)  # what assigning into the real field's rows requires
        self._values[name] = arr

    def get(self, name: str) -> np.ndarray:
        if name in self._common:
            return self._common[name].to_numpy()
        if name in self._values:
            return np.array(self._values[name])
        return self.field(name).to_numpy()

    def gatherer(self, names: list[str], own: bool = False):
        for name in names:
            if name not in self.variables:
                raise BuildError(self._missing(name))
        return lambda: {name: self.get(name) for name in names}
