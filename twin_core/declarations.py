"""What plugins hand to the core: variables, stages, common series, metrics, satellites.

These frozen classes are the whole vocabulary between a plugin and the engine. A plugin
never touches taichi fields it did not declare, and the engine never knows what a
variable means beyond what is written here: its name, units, dtype, shape and role.

Roles
-----
``parameter``
    Set once by ``orbitwin_initial_state`` and constant during the run (orbital elements,
    per-satellite array area). No stage writes it.
``state``
    Carried from step to step and integrated by exactly one stage (battery energy,
    temperature). Its initial value comes from ``orbitwin_initial_state``.
``output``
    Recomputed every step by exactly one stage from parameters, states and other outputs
    (position, illumination, power). Never integrated.

Names are ``subsystem.quantity_unit`` (``battery.energy_j``, ``orbit.r_eci_m``); units are
SI in every variable, and the ``units`` string says which (UDUNITS spelling, ``1`` for
dimensionless).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Callable, Literal

import attrs
import numpy as np

Role = Literal["parameter", "state", "output"]
Dtype = Literal["f64", "f32", "i32", "i8", "u8"]

#: numpy dtype of each declared dtype
NUMPY_DTYPES: dict[str, type] = {
    "f64": np.float64,
    "f32": np.float32,
    "i32": np.int32,
    "i8": np.int8,
    "u8": np.uint8,
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


def _check_name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not _NAME.match(value):
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must look like "
            f"'subsystem.quantity' (lower case, one dot): {value!r}"
        )


@attrs.frozen
class Variable:
    """A per-satellite variable: one taichi field of shape ``(n_sats,) + shape``.

    Attributes:
        name: ``subsystem.quantity`` with its unit in the name where it has one.
        units: UDUNITS string of the stored value (``"m"``, ``"W"``, ``"1"``).
        description: one sentence a user reads in ``orbitwin info`` and the zarr attrs.
        role: ``parameter``, ``state`` or ``output`` (module docstring).
        dtype: storage type; ``f64`` for anything that accumulates or measures position.
        shape: ``()`` for a scalar, ``(3,)`` for a vector in the ECI frame.
        record: recorded by default when the scenario does not list what to record.
        flags: for integer codes, the meaning of each value (``{0: "off", 1: "idle"}``),
            written to the output attributes.
        flags_like: for an integer code that shares another variable's code table (a
            loss reason that repeats the reason a limit recorded): that variable's name.
            The engine gives both the same flags, including the codes it assigns to
            contributions' reasons (`Combined`).
        axis: ``"sat"`` (one value per satellite), or the name of an `Axis` a plugin
            declares (``"link"``: one value per link slot). Variables on an axis are
            written only by stages over that axis (`Stage.over`) and recorded in the
            store's group of that name as ``(time, axis)`` arrays.
    """

    name: str = attrs.field(validator=_check_name)
    units: str
    description: str
    role: Role = attrs.field(validator=attrs.validators.in_(("parameter", "state", "output")))
    dtype: Dtype = attrs.field(default="f64", validator=attrs.validators.in_(tuple(NUMPY_DTYPES)))
    shape: tuple[int, ...] = attrs.field(default=(), converter=tuple)
    record: bool = True
    flags: dict[int, str] = attrs.field(factory=dict)
    flags_like: str | None = None
    axis: str = "sat"

    @property
    def numpy_dtype(self) -> np.dtype:
        """The numpy dtype of the stored values (`NUMPY_DTYPES`)."""
        return np.dtype(NUMPY_DTYPES[self.dtype])


_AXIS_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@attrs.frozen
class Axis:
    """An axis of the simulation other than satellites: links between satellites (hook
    ``orbitwin_axes``).

    A link axis is stored in *slots*: every satellite owns ``slots`` of them, and slot
    ``s`` of satellite ``i`` is link ``i * slots + s`` of the axis. ``targets[i, s]`` is
    the link's other end (a satellite index in the whole constellation), or -1 for an
    unused slot. A link is listed once, by the satellite that owns it. Slots keep the
    link axis aligned with the satellite axis: the links of a store chunk of satellites
    are one chunk of links, so a shard writes its links' columns and no other shard's,
    and work scales with the number of slots, never with pairs of satellites.

    The engine turns ``targets`` into local endpoint rows (`State.endpoints`) and, per
    satellite, the list of links that touch it (`State.incidence`). Stages over the axis
    (`Stage.over`) run in the coupling pass (`twin_core.axes`).

    Attributes:
        name: lower-case identifier (``"link"``); the store group and the dimension.
        description: what one element is, for the store's attributes.
        targets: int64 array ``(n_total, slots)`` of other ends, -1 where unused.
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(_AXIS_NAME))
    description: str
    targets: np.ndarray = attrs.field(eq=False, converter=lambda a: np.asarray(a, dtype=np.int64))

    def __attrs_post_init__(self) -> None:
        if self.name in ("sat", "time", "xyz", "chunk"):
            raise ValueError(f"Axis {self.name!r}: the name is taken by the store's own dimensions")
        if self.targets.ndim != 2 or self.targets.shape[1] < 1:
            raise ValueError(f"Axis {self.name}: targets must have shape (n_satellites, slots >= 1), "
                             f"got {self.targets.shape}")

    @property
    def slots(self) -> int:
        """Link slots per satellite."""
        return int(self.targets.shape[1])

    @property
    def length(self) -> int:
        """Slots in the whole constellation (the axis's length in the store)."""
        return int(self.targets.size)


Combine = Literal["sum", "min"]


@attrs.frozen
class Combined:
    """A per-satellite quantity that several plugins contribute to without owning it.

    One plugin declares it (returned from ``orbitwin_variables`` beside its variables)
    and reads it like any variable; any plugin adds a `Contribution` to it (hook
    ``orbitwin_contributions``). No plugin writes it: the engine does, in the fused
    kernel, with a stage of its own (``combine.<name>``) that runs after every
    contributor's writer and before every reader, folding the contributions in a fixed
    order (plugin registration order, then each plugin's list order), so runs stay
    bitwise deterministic:

    ``sum``
        ``value = start + c_1 + c_2 + ...`` in float64: loads on the bus, heat into a
        thermal node.
    ``min``
        ``value = min(start, c_1, c_2, ...)``: a limit (the highest power state the
        accelerators may run in, the share of them available). ``start`` is the value
        when nothing limits. With ``reason`` set, the engine also writes there the code
        of the contribution that bound (the first in order on a tie), 0 when none did.

    Reason codes: the ``reason`` variable (an integer `Variable` the declaring plugin
    declares, with ``flags`` for its own codes) gets one more code per distinct
    `Contribution.reason` label not already among its flags, numbered after the highest
    in contribution order; they appear in the store's ``flag_values``/``flag_meanings``
    and in every metric split by that code table.

    Attributes:
        name, units, description, dtype, record: as in `Variable` (role ``output``).
        op: ``sum`` or ``min``.
        start: the value with no contribution [units].
        reason: ``min`` only: name of the integer variable recording the binding
            contribution's code.
        required: when set, a run in which no plugin contributes is refused with this
            text as the hint (``policy = "external"`` needs a policy plugin).
    """

    name: str = attrs.field(validator=_check_name)
    units: str
    description: str
    op: Combine = attrs.field(validator=attrs.validators.in_(("sum", "min")))
    start: float = 0.0
    dtype: Dtype = attrs.field(default="f64", validator=attrs.validators.in_(tuple(NUMPY_DTYPES)))
    reason: str | None = None
    record: bool = True
    required: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.reason is not None and self.op != "min":
            raise ValueError(f"Combined {self.name}: a reason variable needs op='min'")

    def variable(self) -> Variable:
        """The per-satellite variable the engine allocates and writes."""
        return Variable(self.name, self.units, self.description, "output", self.dtype, record=self.record)


@attrs.frozen
class Contribution:
    """One plugin's share of a `Combined` quantity (hook ``orbitwin_contributions``).

    The share is a per-satellite variable the contributing plugin can already name: one
    it declares (a parameter for a constant load, an output its stage writes each step),
    or any other declared variable (the thermal plugin adds ``power.bus_load_w`` to its
    node's heat). Its units must be the target's. A contribution to a quantity no loaded
    plugin declares is left out (the plugin that would use it is not loaded);
    ``orbitwin plugins --scenario`` lists it.

    Attributes:
        target: the `Combined` quantity's name (``power.bus_demand_w``).
        variable: the contributing per-satellite variable (``link.terminal_w``).
        reason: for a ``min`` target with a reason variable: the label recorded when this
            contribution binds (``"radiation"``); contributions may share a label.
        optional: leave the contribution out, instead of refusing the run, when no loaded
            plugin declares ``variable`` (a plugin passing on another plugin's output,
            which may not run).
    """

    target: str = attrs.field(validator=_check_name)
    variable: str = attrs.field(validator=_check_name)
    reason: str | None = None
    optional: bool = False


@attrs.frozen
class CommonSeries:
    """A quantity that depends on time only and is the same for every satellite.

    The Sun's direction is the example: computing it per satellite per step would spend
    trigonometry a million times on one number. Before each kernel launch the engine calls
    ``compute(t_s)`` on the host with the times of the launch's steps (float64 seconds
    since the scenario epoch, shape ``(k,)``), and stores the result in a field of shape
    ``(k,) + shape`` that stages read as ``state.common(name)[k]`` with ``k`` the step
    index inside the launch.

    Attributes:
        name, units, description, shape, record: as in `Variable`.
        compute: ``f(t_s: np.ndarray) -> np.ndarray`` of shape ``(len(t_s),) + shape``.
    """

    name: str = attrs.field(validator=_check_name)
    units: str
    description: str
    compute: Callable[[np.ndarray], np.ndarray]
    shape: tuple[int, ...] = attrs.field(default=(), converter=tuple)
    record: bool = True


@attrs.frozen
class Stage:
    """One per-satellite step of a plugin's model, run inside the engine's fused kernel.

    ``func`` is a ``taichi.func`` with the signature ``(i, k, t, dt)``: satellite index
    ``i`` (i32, 0-based within this process's shard), step index ``k`` within the launch
    (i32, for `CommonSeries` lookups), time ``t`` (f64 s since epoch) at which the step
    evaluates its model, and step length ``dt`` (f64 s; 0 for the initial evaluation at
    the epoch, when states must not change). It reads and writes only the fields it
    declares below, fetched from the `State` when the plugin built the stage.

    Step convention: a step labelled ``t`` covers ``(t - dt, t]``. Outputs are evaluated
    at ``t``; a state is advanced over the step with rates evaluated at ``t`` (right-point
    rule), so that the recorded value at ``t`` is consistent with the recorded outputs.

    Ordering: a stage runs after the writer of every variable in ``reads`` and after
    every stage named in ``after``; it runs *before* the writer of every variable in
    ``reads_previous``, so it sees that variable's value from the previous step (the
    explicit one-step lag used to break loops such as payload power <-> temperature).

    Coupling stages (``phase = "coupling"``, or ``over`` an `Axis`) join satellites: they
    run in a second kernel after every ``coupling_every_s`` of steps (`twin_core.axes`),
    with ``k`` the launch's last step and ``dt`` the time since the previous coupling
    pass (0 at the epoch). A stage over an axis gets the element's index (a link) for
    ``i`` and may read any satellite's fields through the axis's endpoints; a
    satellite's coupling stage may read other satellites' fields (its links' far ends,
    its cluster's members). Step stages read what coupling stages write as of the last
    pass: a lag of at most ``coupling_every_s``.

    Attributes:
        name: ``plugin.stage``, unique in a run.
        func: the ``taichi.func``.
        writes: variables this stage writes (each must have exactly one writer).
        reads: variables read at the current step.
        reads_previous: variables read at their previous-step value.
        after: names of stages that must run earlier.
        phase: ``"step"`` (the fused per-satellite kernel) or ``"coupling"``.
        over: ``"sat"``, or the name of an `Axis` (implies ``phase = "coupling"``).
    """

    name: str = attrs.field(validator=_check_name)
    func: Callable
    writes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    reads: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    reads_previous: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    after: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    phase: Literal["step", "coupling"] = attrs.field(default="step",
                                                     validator=attrs.validators.in_(("step", "coupling")))
    over: str = "sat"

    @property
    def coupled(self) -> bool:
        """Whether the stage runs in the coupling pass."""
        return self.phase == "coupling" or self.over != "sat"


Reduce = Literal["sum", "mean", "min", "max", "fraction_below", "fraction_above", "fraction_equal"]


@attrs.frozen
class Metric:
    """A constellation total recorded at every record time (group ``constellation``).

    ``value = reduce(variable over satellites) * scale``. For the ``fraction_*`` reductions
    the value is the share of satellites whose variable is below / above / equal to
    ``threshold``. Sums are taken in float64 in satellite order, so the same run gives the
    same bytes.

    Attributes:
        name: ``subsystem.quantity`` as it appears in the output.
        variable: the per-satellite variable reduced (any component of a vector is not
            supported; reduce a scalar).
        reduce: one of ``sum, mean, min, max, fraction_below, fraction_above,
            fraction_equal``.
        units, description: as in `Variable` (units of the result after ``scale``).
        threshold: for the ``fraction_*`` reductions.
        scale: multiplies the result (``1e-15`` turns FLOP/s into PFLOP/s).
        where_variable, where_equal: reduce only over satellites whose
            ``where_variable`` equals ``where_equal`` (for ``sum``: the lost compute of
            the satellites whose loss reason is "thermal"); ``mean`` and ``fraction_*``
            still divide by the whole constellation, so such metrics add up to the
            unconditioned one.
        per_flag: one metric per non-zero code of an integer variable's flags, plugins'
            reason codes included: with ``where_variable`` (and no ``where_equal``), each
            is conditioned on that code; with ``fraction_equal`` (and no ``threshold``),
            each counts the satellites whose ``variable`` equals it. ``name`` holds
            ``{flag}``, replaced by the code's meaning with non-alphanumerics as ``_``
            (``constellation.lost_pflops_{flag}`` -> ``constellation.lost_pflops_thermal_limited``).
        all_satellites: fold every satellite, inactive ones included (deployment
            totals). By default, in a run where some satellites are inactive
            (`twin_core.activity`), only the active ones are folded and ``mean`` and
            ``fraction_*`` divide by their count.
    """

    name: str = attrs.field(validator=lambda inst, att, v: _check_name(inst, att, v.replace("{flag}", "x")))
    variable: str
    reduce: Reduce = attrs.field(
        validator=attrs.validators.in_(
            ("sum", "mean", "min", "max", "fraction_below", "fraction_above", "fraction_equal")
        )
    )
    units: str
    description: str
    threshold: float | None = None
    scale: float = 1.0
    where_variable: str | None = None
    where_equal: float | None = None
    per_flag: bool = False
    all_satellites: bool = False

    def __attrs_post_init__(self) -> None:
        if self.per_flag:
            if "{flag}" not in self.name:
                raise ValueError(f"metric {self.name}: per_flag needs '{{flag}}' in the name")
            if not ((self.where_variable is not None and self.where_equal is None)
                    or (self.reduce == "fraction_equal" and self.threshold is None and self.where_variable is None)):
                raise ValueError(f"metric {self.name}: per_flag needs where_variable without where_equal, or "
                                 "fraction_equal without a threshold")
            return
        if self.reduce.startswith("fraction") and self.threshold is None:
            raise ValueError(f"metric {self.name}: reduce={self.reduce!r} needs a threshold")
        if (self.where_variable is None) != (self.where_equal is None):
            raise ValueError(f"metric {self.name}: give both where_variable and where_equal, or neither")

    def for_flag(self, code: int, meaning: str) -> "Metric":
        """The metric of one code (``per_flag``)."""
        key = re.sub(r"[^a-z0-9]+", "_", meaning.lower()).strip("_")
        changes: dict[str, Any] = {"name": self.name.replace("{flag}", key), "per_flag": False,
                                   "description": self.description.replace("{flag}", meaning)}
        if self.where_variable is not None:
            changes["where_equal"] = float(code)
        else:
            changes["threshold"] = float(code)
        return attrs.evolve(self, **changes)


@attrs.frozen
class SatelliteTable:
    """Who is in the constellation: answered by one plugin (``orbitwin_satellites``).

    Attributes:
        count: number of satellites.
        plane: int32 array (count,), orbital plane index of each satellite; satellites of
            one plane are contiguous, so shards split the constellation along planes.
        shell: int32 array (count,), index of the shell or group each satellite belongs to.
        name: optional str array (count,): each satellite's name ("" where it has none),
            for satellites that are real ones (imported element sets); stored as the
            coordinate ``sat/name``.
        catalog_number: optional int64 array (count,): NORAD catalog number (-1 where
            none); stored as ``sat/catalog_number``. Telemetry is matched by either.
    """

    count: int
    plane: np.ndarray = attrs.field(eq=False)
    shell: np.ndarray = attrs.field(eq=False)
    name: np.ndarray | None = attrs.field(default=None, eq=False)
    catalog_number: np.ndarray | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.plane.shape != (self.count,) or self.shell.shape != (self.count,):
            raise ValueError("SatelliteTable: plane and shell must have shape (count,)")
        for key in ("name", "catalog_number"):
            value = getattr(self, key)
            if value is not None and np.shape(value) != (self.count,):
                raise ValueError(f"SatelliteTable: {key} must have shape (count,)")


@attrs.frozen
class ValidRange:
    """Dates over which a model holds what its documentation claims (hook
    ``orbitwin_validity``).

    Attributes:
        model: the model, as a reader knows it (``"Sun ephemeris (Astronomical Almanac
            low-precision formulae)"``); ranges of one model are reported once.
        start, end: the range, UTC datetimes (``end`` included).
        holds: what holds inside, with its source (``"0.01 deg in direction, stated by the
            Almanac"``).
        outside: what happens outside, in words (``"the error grows"``).
        refuse: refuse a run that leaves the range (default: warn).
    """

    model: str
    start: _dt.datetime
    end: _dt.datetime
    holds: str
    outside: str
    refuse: bool = False


@attrs.frozen
class MassItem:
    """One line of a satellite's mass budget (hook ``orbitwin_mass_budget``).

    An item is either a fixed mass (``mass_kg``) or a share of the satellite's total
    (``fraction``, for structure sized as a fraction of the whole): the total is
    ``sum(mass_kg) / (1 - sum(fraction))``.

    Attributes:
        name: what it is (``"solar array"``).
        mass_kg: mass per satellite [kg].
        source: where the figure (or the specific figure it derives from) comes from.
        fraction: share of the satellite's total mass, in [0, 1).
    """

    name: str
    mass_kg: float
    source: str
    fraction: float = 0.0


@attrs.frozen
class PowerItem:
    """One line of a satellite's power budget (hook ``orbitwin_power_budget``).

    Attributes:
        name: what it is (``"accelerators, training"``).
        power_w: positive for a source, negative for a load.
        source: where the figure comes from.
    """

    name: str
    power_w: float
    source: str


@attrs.frozen
class CaseResult:
    """One number that sums up a finished run (hook ``orbitwin_case_results``): what a
    sweep keeps of each case, one value per case (``cost.space_usd_per_pflop_day``).

    Attributes:
        name: ``plugin.quantity``, unique across plugins, units in the name where they
            help a reader (``cost.parity_launch_price_usd_per_kg``).
        value: the number (NaN where the run has no answer, such as no parity price).
        units: UDUNITS-2 units of ``value`` (``"1"`` for a ratio or a count).
        description: what it is, in a sentence.
    """

    name: str = attrs.field(validator=lambda inst, att, v: _check_name(inst, att, v))
    value: float = attrs.field(converter=float)
    units: str
    description: str
