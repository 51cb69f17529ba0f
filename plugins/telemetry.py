"""Telemetry of real satellites against a finished run: the residuals telemetry minus
prediction (`compute_residuals`) and their store group (`write_residuals`). No hooks:
``orbitwin compare`` (`orbitwin_plugins.compare`) uses it. The telemetry is read by
`twin_core.telemetry.read_telemetry` (the format is in its module docstring); the user's
guide is ``docs/telemetry.md``.

Rows are skipped and counted, with a warning, when they lie outside the run (before its
first record or after its last), when their satellite is not active (``sat.active`` 0)
at either record around them, and when their prediction is not finite. When no row is
left, it is an error.

**Prediction** at a telemetry time ``t`` between records ``t_k <= t <= t_k+1`` (``h``
apart, ``u = (t - t_k) / h``):

- position ``orbit.r_eci_m`` and velocity ``orbit.v_eci_m_s`` (when the run recorded
  both), by the run's propagator (`orbit_method`):

  - ``hermite`` (the J2 propagator, any but SGP4): Hermite interpolation through the
    four records around ``t`` (two each side, fewer at the ends) matching their
    positions and velocities, degree 7; the velocity its derivative. No force model: it
    is as good as the records are self-consistent: 0.02 m and 0.3 mm/s in LEO at 300 s
    records, 6 m at 600 s (O(h^8)).
  - ``hermite_gravity`` (SGP4): the two records of the interval with their positions,
    velocities and the acceleration of gravity with J2 (`gravity_m_s2`), degree 5; the
    velocity from the velocities, accelerations and their rate. SGP4's velocity is not
    exactly the derivative of its position (by 0.02-0.2 m/s for the Vallado sets, the
    sgp4 library's own), which spoils the first method (1-24 m at 300 s); its
    acceleration is close to gravity's: 1-10 m and 2-30 mm/s at 300 s.

  Record at 300 s or less to compare positions in LEO. Without the velocity, positions
  are interpolated linearly (~90 km off at 300 s; warned).
- every other variable: linear. Where the prediction *jumps* within the interval (an
  eclipse entry in ``power.generated_w``, a power state switching: ``|d_k| > 4 max(|d_k-1|,
  |d_k+1|)`` and ``|d_k| >`` the variable's scale, ``d`` the change over an interval), the
  time of the jump between the records is unknown, so every value between the two
  records is consistent with the model: the prediction is then the telemetry clipped to
  ``[min, max]`` of the two records (residual 0 inside, the distance outside), method
  ``bracket``.

The interpolation error for the record interval is measured, not assumed: each
variable is interpolated from every other record to the records between; the largest
error at ``2h`` is reported, and half of it as the estimate at ``h`` (every method here
is at least first order: kinks such as an eclipse entry, and SGP4's velocity, make the
linear and the Hermite so; the 2h error itself is an upper bound, and for smooth,
self-consistent records both are far above the error at h).

**Residuals** are telemetry minus prediction. Per (satellite, variable): count, mean, RMS
and max |residual|; for vectors whose three components share a time, the residual's
norm (``name[norm]``) and, for positions, its radial, along-track and cross-track parts
(``[radial]``, ``[along_track]``, ``[cross_track]``: R = r/|r|, N = r x v/|r x v|,
T = N x R at the prediction). Satellites are ranked per variable by RMS; across
variables by RMS normalised by the variable's *scale*, the accuracy one may expect of
the twin for it (`SCALES`: 1 km for positions, 1 m/s for velocities, 1 K, 0.01 for
fractions such as the state of charge, otherwise 1 % of the largest |prediction| of that
variable among the compared satellites).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from orbitwin_plugins.constants import J2_EARTH, MU_EARTH_M3_S2, R_EARTH_M
from twin_core.errors import UserError
from twin_core.telemetry import RunView, Telemetry, _iso, _VAR

POSITION = "orbit.r_eci_m"
VELOCITY = "orbit.v_eci_m_s"
ACTIVE = "sat.active"
#: Scale of a variable by its units: the accuracy one may expect of the twin; units not
#: listed take 1 % of the largest |prediction| of the variable (module docstring).
SCALES = {"m": 1000.0, "m s-1": 1.0, "K": 1.0, "1": 0.01}
FALLBACK_SCALE_FRACTION = 0.01
#: Jump rule (module docstring): the change over an interval against its neighbours'.
JUMP_FACTOR = 4.0
#: Interpolation methods, as the per-row ``method`` code stores them.
METHODS = {0: "linear", 1: "hermite", 2: "bracket", 3: "hermite_gravity"}
#: Derived parts of a vector residual (for positions all four, other vectors the norm).
POSITION_PARTS = ("norm", "radial", "along_track", "cross_track")


# --------------------------------------------------------------------------------------
# Interpolation
# --------------------------------------------------------------------------------------

#: Records around a telemetry time that the orbit's Hermite interpolation uses.
HERMITE_NODES = 4


def _newton(x: np.ndarray, y: np.ndarray, *derivatives: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The Newton coefficients of the Hermite polynomial through nodes ``x`` (rows, m)
    matching values ``y`` and the given derivatives (first, second, ...; each (rows, m,
    c)), and its nodes, each repeated once per condition. Confluent divided differences:
    where an order-j difference spans one repeated node it is the j-th derivative / j!."""
    k = 1 + len(derivatives)
    n = k * x.shape[1]
    z = np.repeat(x, k, axis=1)
    cur = np.repeat(y, k, axis=1)
    coef = [cur[:, 0]]
    for j in range(1, n):
        den = (z[:, j:] - z[:, :-j])[:, :, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            nxt = (cur[:, 1:] - cur[:, :-1]) / den
        if j < k:
            for r in range(k - j):  # differences starting at a node's r-th copy stay on that node
                part = nxt[:, r::k]
                part[...] = derivatives[j - 1][:, :part.shape[1]] / math.factorial(j)
        coef.append(nxt[:, 0])
        cur = nxt
    return coef, z


def _evaluate(coef: list[np.ndarray], z: np.ndarray, xq: np.ndarray) -> tuple[np.ndarray, ...]:
    """The Newton form and its first two derivatives at ``xq`` (rows,): Horner's rule."""
    u = xq[:, None]
    p = coef[-1]
    dp = np.zeros_like(p)
    ddp = np.zeros_like(p)
    for j in range(len(coef) - 2, -1, -1):
        w = u - z[:, j:j + 1]
        ddp = ddp * w + 2.0 * dp
        dp = dp * w + p
        p = p * w + coef[j]
    return p, dp, ddp


def hermite(x: np.ndarray, y: np.ndarray, d: np.ndarray, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hermite interpolation through ``m`` nodes (values and first derivatives), row by
    row: the polynomial of degree 2m - 1 (Newton's divided differences, nodes doubled)
    and its derivative at ``xq``.

    Args:
        x: (rows, m) distinct node abscissae (scaled to order 1 for conditioning).
        y: (rows, m, c) values at the nodes.
        d: (rows, m, c) derivatives at the nodes (d y / d x).
        xq: (rows,) where to evaluate.

    Returns:
        ``(p, dp)``, each (rows, c).
    """
    coef, z = _newton(x, y, d)
    p, dp, _ = _evaluate(coef, z, xq)
    return p, dp


def gravity_m_s2(r: np.ndarray) -> np.ndarray:
    """Acceleration of gravity [m/s^2] at ECI positions ``r`` [m] (..., 3): point mass and
    J2 about the z axis (the mean J2000 pole; the pole of date is within 0.3 deg of it
    this century, ~1e-4 m/s^2, millimetres over a record interval)."""
    r = np.asarray(r, dtype=np.float64)
    d2 = np.sum(r * r, axis=-1, keepdims=True)
    z2 = r[..., 2:3] ** 2 / d2
    k = 1.5 * J2_EARTH * R_EARTH_M ** 2 / d2
    f = np.concatenate([1.0 + k * (1.0 - 5.0 * z2)] * 2 + [1.0 + k * (3.0 - 5.0 * z2)], axis=-1)
    return -MU_EARTH_M3_S2 * r / (d2 * np.sqrt(d2)) * f


def _state_records(R: np.ndarray, V: np.ndarray, t: np.ndarray, k: np.ndarray, s: np.ndarray,
                   tq: np.ndarray, want: str = "rv") -> tuple[np.ndarray | None, np.ndarray | None]:
    """Method ``hermite``: the records' positions and velocities at the `HERMITE_NODES`
    records around interval ``k`` (two each side; fewer at the ends), degree 7; the
    velocity the polynomial's derivative."""
    n = t.shape[0]
    m = min(HERMITE_NODES, n)
    j0 = np.clip(k - (m // 2 - 1), 0, n - m)
    idx = j0[:, None] + np.arange(m)[None, :]
    h = t[k + 1] - t[k]
    x = (t[idx] - t[k][:, None]) / h[:, None]
    p, dp = hermite(x, R[idx, s[:, None]], V[idx, s[:, None]] * h[:, None, None], (tq - t[k]) / h)
    return p, dp / h[:, None]


def _state_gravity(R: np.ndarray, V: np.ndarray, t: np.ndarray, k: np.ndarray, s: np.ndarray,
                   tq: np.ndarray, want: str = "rv") -> tuple[np.ndarray | None, np.ndarray | None]:
    """Method ``hermite_gravity``: the two records of interval ``k`` with their positions,
    velocities and gravity's acceleration (`gravity_m_s2`), degree 5; the velocity from
    the velocities, accelerations and the accelerations' rate along the motion (central
    difference over 1 s), degree 5."""
    h = t[k + 1] - t[k]
    x = np.stack([np.zeros_like(h), np.ones_like(h)], axis=1)
    xq = (tq - t[k]) / h
    r0, r1, v0, v1 = R[k, s], R[k + 1, s], V[k, s], V[k + 1, s]
    a = np.stack([gravity_m_s2(r0), gravity_m_s2(r1)], axis=1)
    hh = h[:, None, None]
    r = v = None
    if "r" in want:
        r = _evaluate(*_newton(x, np.stack([r0, r1], axis=1), np.stack([v0, v1], axis=1) * hh, a * hh * hh), xq)[0]
    if "v" in want:
        jerk = np.stack([(gravity_m_s2(r0 + v0) - gravity_m_s2(r0 - v0)) / 2.0,
                         (gravity_m_s2(r1 + v1) - gravity_m_s2(r1 - v1)) / 2.0], axis=1)
        v = _evaluate(*_newton(x, np.stack([v0, v1], axis=1), a * hh, jerk * hh * hh), xq)[0]
    return r, v


#: The orbit's interpolation methods: name -> (per-row code in `METHODS`, function).
ORBIT_METHODS = {"hermite": (1, _state_records), "hermite_gravity": (3, _state_gravity)}


def orbit_method(propagator: str) -> str:
    """The orbit interpolation for records of ``propagator`` (the scenario's ``[orbit]
    propagator``): ``hermite_gravity`` for SGP4, whose velocity is not exactly the
    derivative of its position but whose acceleration is close to gravity's;
    ``hermite`` (the records alone) for every other, which suits self-consistent records."""
    return "hermite_gravity" if propagator.strip().lower() == "sgp4" else "hermite"


def orbit_state(R: np.ndarray, V: np.ndarray, t: np.ndarray, k: np.ndarray, s: np.ndarray,
                tq: np.ndarray, method: str = "hermite", want: str = "rv") -> tuple[Any, Any]:
    """Position and velocity (rows, 3) at times ``tq`` from records ``R``, ``V`` (n, sats,
    3) at times ``t``, on interval ``k`` of satellite ``s``, by ``method`` (a key of
    `ORBIT_METHODS`; module docstring); ``want`` ``"r"`` or ``"v"`` leaves the other None
    where that saves work."""
    return ORBIT_METHODS[method][1](R, V, t, k, s, tq, want)


@attrs.frozen
class Interpolated:
    """A prediction at telemetry times: ``value``; ``lo``/``hi`` the two records' range
    and ``jump`` where the bracket rule applies (scalars); ``method`` per row (`METHODS`)."""

    value: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    jump: np.ndarray
    method: np.ndarray

    def against(self, telemetry: np.ndarray) -> np.ndarray:
        """The prediction to subtract from ``telemetry``: bracketed rows clipped."""
        return np.where(self.jump, np.clip(telemetry, self.lo, self.hi), self.value)


def interpolate_linear(P: np.ndarray, t: np.ndarray, k: np.ndarray, s: np.ndarray, tq: np.ndarray,
                       scale: float) -> Interpolated:
    """Linear interpolation of ``P`` (n, sats) on interval ``k`` of satellite ``s``, with
    the jump rule (module docstring)."""
    n = P.shape[0]
    p0, p1 = P[k, s], P[k + 1, s]
    u = (tq - t[k]) / (t[k + 1] - t[k])
    d = p1 - p0
    prev = np.where(k >= 1, P[np.maximum(k - 1, 0), s], np.nan)
    nxt = np.where(k + 2 <= n - 1, P[np.minimum(k + 2, n - 1), s], np.nan)
    with np.errstate(invalid="ignore"):
        nb = np.fmax(np.abs(p0 - prev), np.abs(nxt - p1))
        jump = np.isfinite(nb) & (np.abs(d) > JUMP_FACTOR * nb) & (np.abs(d) > scale)
    return Interpolated(value=p0 + u * d, lo=np.minimum(p0, p1), hi=np.maximum(p0, p1), jump=jump,
                        method=np.where(jump, 2, 0).astype(np.int8))


def _plain(value: np.ndarray, method: int) -> Interpolated:
    z = np.zeros(value.shape[0], dtype=bool)
    return Interpolated(value=value, lo=value, hi=value, jump=z, method=np.full(value.shape[0], method, np.int8))


def _decimated(t: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Every other record as the records and the ones between as the queries: the
    queried records, their interval among the kept ones, satellites and times (each
    repeated or tiled over ``m`` satellites); None with fewer than 3 records."""
    te = t[::2]
    if te.size < 2 or m == 0:
        return None
    rec = np.arange(1, 2 * (te.size - 1), 2)
    return np.repeat(rec, m), np.repeat(rec // 2, m), np.tile(np.arange(m), rec.size), np.repeat(t[rec], m)


def _bound(err: np.ndarray) -> tuple[float, float]:
    """``(estimate at h, measured at 2h)``: half the largest error at 2h (module
    docstring: first order at least)."""
    err = err[np.isfinite(err)]
    if err.size == 0:
        return math.nan, math.nan
    worst = float(err.max())
    return worst / 2.0, worst


def interpolation_error_orbit(t: np.ndarray, R: np.ndarray, V: np.ndarray, which: str, comp: int,
                              method: str = "hermite") -> tuple[float, float]:
    """The orbit interpolation's error (`orbit_state` by ``method``) for
    component ``comp`` of the position (``which = "r"``) or velocity (``"v"``) at the
    record interval h: measured at 2h (from every other record to the records between)
    and halved (`_bound`), the largest over satellites and times; NaN with fewer than 3
    records."""
    d = _decimated(t, R.shape[1])
    if d is None:
        return math.nan, math.nan
    rec, kk, ss, tq = d
    r, v = orbit_state(R[::2], V[::2], t[::2], kk, ss, tq, method, want=which)
    got, truth = (r, R) if which == "r" else (v, V)
    return _bound(np.abs(got[:, comp] - truth[rec, ss, comp]))


def interpolation_error_linear(t: np.ndarray, P: np.ndarray, scale: float) -> tuple[float, float]:
    """The same for linear interpolation (with the jump rule) of ``P`` (n, sats)."""
    d = _decimated(t, P.shape[1])
    if d is None:
        return math.nan, math.nan
    rec, kk, ss, tq = d
    ip = interpolate_linear(P[::2], t[::2], kk, ss, tq, scale)
    truth = P[rec, ss]
    return _bound(np.abs(truth - ip.against(truth)))


# --------------------------------------------------------------------------------------
# Residuals
# --------------------------------------------------------------------------------------

@attrs.frozen(eq=False)
class Residuals:
    """Telemetry minus prediction (`compute_residuals`).

    Attributes:
        run: the run.
        telemetry: the telemetry read.
        time_s, sat, var, telemetry_value, prediction, residual, method, line: the rows
            compared (in file order; ``var`` indexes ``names``; ``method`` `METHODS`).
        skipped: rows left out, by reason (``outside_run``, ``inactive``, ``no_prediction``).
        names: every variable summarised: those given, then derived vector parts.
        units, scale, interpolation, interp_error, interp_error_2h: per name (derived
            parts: the vector's units, scale and interpolation, and the norm of its
            components' interpolation errors, a bound).
        vec_time_s, vec_sat, vec_var, vec_parts: vector samples whose three components
            share a time: ``vec_var`` indexes ``names`` (the vector's ``[0]``), and
            ``vec_parts`` (samples, 4): norm, radial, along-track, cross-track (NaN for
            all but the norm when the vector is no position).
        sats: the satellites compared (run indices, sorted).
        count, mean, rms, max_abs: (sats, names) statistics (count 0: NaN).
        notes: warnings for the user (positions interpolated linearly).
    """

    run: RunView
    telemetry: Telemetry
    time_s: np.ndarray
    sat: np.ndarray
    var: np.ndarray
    telemetry_value: np.ndarray
    prediction: np.ndarray
    residual: np.ndarray
    method: np.ndarray
    line: np.ndarray
    skipped: dict[str, int]
    names: tuple[str, ...]
    units: tuple[str, ...]
    scale: np.ndarray
    interpolation: tuple[str, ...]
    interp_error: np.ndarray
    interp_error_2h: np.ndarray
    vec_time_s: np.ndarray
    vec_sat: np.ndarray
    vec_var: np.ndarray
    vec_parts: np.ndarray
    sats: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    rms: np.ndarray
    max_abs: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def normalised_rms(self) -> np.ndarray:
        return self.rms / self.scale[None, :]

    def headline(self) -> list[int]:
        """The variables the overall rankings use: scalars, each vector's norm where it
        has one (else its components)."""
        with_norm = {n[: -len("[norm]")] for n in self.names if n.endswith("[norm]")}
        out = []
        for j, n in enumerate(self.names):
            base, _, part = n.partition("[")
            if not part:
                out.append(j)
            elif base in with_norm:
                if part == "norm]":
                    out.append(j)
            elif part[:-1].isdigit():
                out.append(j)
        return out

    def ranking(self, j: int) -> list[int]:
        """Satellites (positions in ``sats``) with telemetry of variable ``j``, by RMS,
        largest first."""
        have = np.flatnonzero(self.count[:, j] > 0)
        return [int(i) for i in have[np.argsort(-self.rms[have, j], kind="stable")]]

    def divergences(self) -> list[tuple[int, int]]:
        """(satellite position, variable) pairs of the headline variables by normalised
        RMS, largest first."""
        nr = self.normalised_rms
        pairs = [(i, j) for j in self.headline() for i in np.flatnonzero(self.count[:, j] > 0)]
        return sorted(pairs, key=lambda p: (-nr[p[0], p[1]], p[1], p[0]))

    def satellites(self) -> list[tuple[int, int, float]]:
        """Each satellite's largest normalised RMS over the headline variables:
        ``(position in sats, variable, value)``, largest first."""
        nr = np.where(self.count > 0, self.normalised_rms, -np.inf)
        head = self.headline()
        out = []
        for i in range(self.sats.size):
            j = head[int(np.argmax(nr[i, head]))]
            if np.isfinite(nr[i, j]):
                out.append((i, j, float(nr[i, j])))
        return sorted(out, key=lambda x: -x[2])

    def largest_rows(self, n: int) -> np.ndarray:
        """Indices of the ``n`` rows with the largest |residual| / scale."""
        size = np.abs(self.residual) / self.scale[self.var]
        n = min(n, size.size)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-size, n - 1)[:n]
        return top[np.argsort(-size[top], kind="stable")]


def _load(arr: Any, k0: int, k1: int, sats: np.ndarray, all_sats: bool) -> np.ndarray:
    sel = (slice(k0, k1), slice(None) if all_sats else sats) + ((slice(None),) if arr.ndim == 3 else ())
    data = arr[sel] if all_sats else arr.oindex[sel]
    return np.asarray(data, dtype=np.float64)


def _stats(key: np.ndarray, x: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    count = np.bincount(key, minlength=size).astype(np.int64)
    s1 = np.bincount(key, weights=x, minlength=size)
    s2 = np.bincount(key, weights=x * x, minlength=size)
    mx = np.zeros(size)
    np.maximum.at(mx, key, np.abs(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, s1 / count, np.nan)
        rms = np.where(count > 0, np.sqrt(s2 / np.maximum(count, 1)), np.nan)
    return count, mean, rms, np.where(count > 0, mx, np.nan)


def compute_residuals(run: RunView, tel: Telemetry) -> Residuals:
    """Residuals of ``tel`` against ``run``'s records (module docstring)."""
    t = run.times_s
    n_rec = t.size
    if n_rec < 2:
        raise UserError(f"{run.path}: the run has {n_rec} record: nothing to interpolate between")
    grp = run.sat_group
    sats = np.unique(tel.sat)
    local = np.full(run.n_sats, -1, dtype=np.int64)
    local[sats] = np.arange(sats.size)
    all_sats = sats.size == run.n_sats
    s_loc = local[tel.sat]
    kg = np.clip(np.searchsorted(t, tel.time_s, side="right") - 1, 0, n_rec - 2)
    k0, k1 = max(int(kg.min()) - 1, 0), min(int(kg.max()) + 3, n_rec)
    tl = t[k0:k1]
    k = kg - k0
    cache: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = _load(grp[name], k0, k1, sats, all_sats)
        return cache[name]

    keep = np.ones(tel.time_s.size, dtype=bool)
    skipped = {"outside_run": tel.skipped_outside, "inactive": 0, "no_prediction": 0}
    if ACTIVE in run.variables:
        act = load(ACTIVE)
        alive = (act[k, s_loc] > 0) & (act[k + 1, s_loc] > 0)
        skipped["inactive"] = int((~alive).sum())
        keep &= alive

    have_orbit = POSITION in run.variables and VELOCITY in run.variables
    omethod = orbit_method(run.propagator)
    orbit_rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    n_var = len(tel.var_names)
    pred = np.full(tel.time_s.size, np.nan)
    method = np.zeros(tel.time_s.size, dtype=np.int8)
    units, scale, interp, err_h, err_2h = [], np.ones(n_var), [], np.full(n_var, np.nan), np.full(n_var, np.nan)
    parsed = [(_VAR.match(n).group("base"), int(_VAR.match(n).group("comp") or -1)) for n in tel.var_names]
    notes: list[str] = []
    probe = np.arange(min(sats.size, 200))  # satellites the interpolation error is measured on
    for j, (base, comp) in enumerate(parsed):
        rows = np.flatnonzero(tel.var == j)
        P = load(base)
        Pc = P if comp < 0 else P[:, :, comp]
        u = run.variables[base].units
        units.append(u)
        if u in SCALES:
            scale[j] = SCALES[u]
        else:
            with np.errstate(invalid="ignore"):
                big = float(np.nanmax(np.abs(Pc[:, local[np.unique(tel.sat[rows])]]))) if rows.size else math.nan
            scale[j] = FALLBACK_SCALE_FRACTION * big if math.isfinite(big) and big > 0 else 1.0
        kr, sr, tq = k[rows], s_loc[rows], tel.time_s[rows]
        if base in (POSITION, VELOCITY) and have_orbit:
            R, V = load(POSITION), load(VELOCITY)
            if base not in orbit_rows:  # every component's rows at once
                codes_b = [jj for jj, (b, _c) in enumerate(parsed) if b == base]
                all_rows = np.flatnonzero(np.isin(tel.var, codes_b))
                r, v = orbit_state(R, V, tl, k[all_rows], s_loc[all_rows], tel.time_s[all_rows], omethod,
                                   want="r" if base == POSITION else "v")
                orbit_rows[base] = (all_rows, r if base == POSITION else v)
            all_rows, vec = orbit_rows[base]
            ip = _plain(vec[np.searchsorted(all_rows, rows), comp], ORBIT_METHODS[omethod][0])
            interp.append(omethod)
            err_h[j], err_2h[j] = interpolation_error_orbit(tl, R[:, probe], V[:, probe],
                                                            "r" if base == POSITION else "v", comp, omethod)
        else:
            ip = interpolate_linear(Pc, tl, kr, sr, tq, scale[j])
            interp.append("linear")
            err_h[j], err_2h[j] = interpolation_error_linear(tl, Pc[:, probe], scale[j])
            if base == POSITION:
                notes.append(f"{run.path}: the run recorded no {VELOCITY}: positions are interpolated linearly "
                             f"between records (error up to {err_h[j]:.3g} m here; docs/telemetry.md)")
        pred[rows] = ip.against(tel.value[rows])
        method[rows] = ip.method
    finite = np.isfinite(pred)
    skipped["no_prediction"] = int((keep & ~finite).sum())
    keep &= finite
    if not keep.any():
        raise UserError(f"{tel.path}: no row left to compare: " + ", ".join(
            f"{n} {k_.replace('_', ' ')}" for k_, n in skipped.items() if n))
    idx = np.flatnonzero(keep)
    time_s, sat, var = tel.time_s[idx], tel.sat[idx], tel.var[idx]
    value, pred, method, line = tel.value[idx], pred[idx], method[idx], tel.line[idx]
    resid = value - pred

    # vectors whose three components share a time
    names = list(tel.var_names)
    units_all, scale_all, interp_all = list(units), list(scale), list(interp)
    err_h_all, err_2h_all = list(err_h), list(err_2h)
    vec = {"t": [], "s": [], "v": [], "parts": []}
    by_base: dict[str, dict[int, int]] = {}
    for j, (base, comp) in enumerate(parsed):
        if comp >= 0:
            by_base.setdefault(base, {})[comp] = j
    derived_code: dict[tuple[str, str], int] = {}
    for base, comps in by_base.items():
        if set(comps) != {0, 1, 2}:
            continue
        codes = np.array([comps[0], comps[1], comps[2]])
        rows = np.flatnonzero(np.isin(var, codes))
        comp_of = np.full(n_var, -1)
        comp_of[codes] = [0, 1, 2]
        c = comp_of[var[rows]]
        order = np.lexsort((c, time_s[rows], sat[rows]))
        rows, c = rows[order], c[order]
        if rows.size < 3:
            continue
        ok = ((c[:-2] == 0) & (c[1:-1] == 1) & (c[2:] == 2)
              & (sat[rows[:-2]] == sat[rows[2:]]) & (time_s[rows[:-2]] == time_s[rows[2:]])
              & (sat[rows[:-2]] == sat[rows[1:-1]]) & (time_s[rows[:-2]] == time_s[rows[1:-1]]))
        start = np.flatnonzero(ok)
        if start.size == 0:
            continue
        i0, i1, i2 = rows[start], rows[start + 1], rows[start + 2]
        d = np.stack([resid[i0], resid[i1], resid[i2]], axis=-1)
        parts = np.full((start.size, 4), np.nan)
        parts[:, 0] = np.linalg.norm(d, axis=-1)
        which = ("norm",)
        if base == POSITION and have_orbit:
            kk = np.clip(np.searchsorted(t, time_s[i0], side="right") - 1, 0, n_rec - 2) - k0
            r, v = orbit_state(load(POSITION), load(VELOCITY), tl, kk, local[sat[i0]], time_s[i0], omethod)
            rhat = r / np.linalg.norm(r, axis=-1, keepdims=True)
            nvec = np.cross(r, v)
            nhat = nvec / np.linalg.norm(nvec, axis=-1, keepdims=True)
            that = np.cross(nhat, rhat)
            parts[:, 1] = np.sum(d * rhat, axis=-1)
            parts[:, 2] = np.sum(d * that, axis=-1)
            parts[:, 3] = np.sum(d * nhat, axis=-1)
            which = POSITION_PARTS
        for part in which:  # interpolation errors: the norm of the components' (a bound)
            derived_code[(base, part)] = len(names)
            names.append(f"{base}[{part}]")
            units_all.append(units[comps[0]])
            scale_all.append(scale[comps[0]])
            interp_all.append(interp[comps[0]])
            err_h_all.append(float(np.sqrt(np.sum(err_h[codes] ** 2))))
            err_2h_all.append(float(np.sqrt(np.sum(err_2h[codes] ** 2))))
        vec["t"].append(time_s[i0])
        vec["s"].append(sat[i0])
        vec["v"].append(np.full(start.size, comps[0], dtype=np.int32))
        vec["parts"].append(parts)
    cat = (lambda key, dtype, shape=(0,): np.concatenate(vec[key]) if vec[key] else np.zeros(shape, dtype))
    vec_t, vec_s, vec_v = cat("t", np.float64), cat("s", np.int32), cat("v", np.int32)
    vec_parts = cat("parts", np.float64, (0, 4))

    # statistics per (satellite, variable)
    n_all = len(names)
    size = sats.size * n_all
    keys = [local[sat] * n_all + var]
    xs = [resid]
    for base, comps in by_base.items():
        for p, part in enumerate(POSITION_PARTS):
            code = derived_code.get((base, part))
            if code is None:
                continue
            sel = vec_v == comps[0]
            keys.append(local[vec_s[sel]] * n_all + code)
            xs.append(vec_parts[sel, p])
    count, mean, rms, mx = _stats(np.concatenate(keys), np.concatenate(xs), size)
    shape = (sats.size, n_all)
    return Residuals(
        run=run, telemetry=tel, time_s=time_s, sat=sat.astype(np.int32), var=var.astype(np.int32),
        telemetry_value=value, prediction=pred, residual=resid, method=method, line=line, skipped=skipped,
        names=tuple(names), units=tuple(units_all), scale=np.asarray(scale_all, dtype=np.float64),
        interpolation=tuple(interp_all), interp_error=np.asarray(err_h_all), interp_error_2h=np.asarray(err_2h_all),
        vec_time_s=vec_t, vec_sat=vec_s, vec_var=vec_v, vec_parts=vec_parts, sats=sats.astype(np.int32),
        count=count.reshape(shape), mean=mean.reshape(shape), rms=rms.reshape(shape), max_abs=mx.reshape(shape),
        notes=tuple(notes))


# --------------------------------------------------------------------------------------
# Writing and reporting
# --------------------------------------------------------------------------------------

GROUP = "residuals"
#: Rows per chunk of the long-form arrays.
ROW_CHUNK = 1 << 18


def _array(grp: Any, name: str, data: np.ndarray, dims: tuple[str, ...], description: str, units: str = "1",
           **more: Any) -> None:
    data = np.asarray(data)
    if data.dtype == object:
        arr = grp.create_array(name, shape=data.shape, dtype=str,
                               chunks=tuple(max(1, min(s, ROW_CHUNK)) for s in data.shape),
                               dimension_names=dims, attributes={"units": units, "description": description, **more})
        if data.size:
            arr[...] = data
        return
    chunks = tuple(max(1, min(s, ROW_CHUNK)) for s in data.shape)
    arr = grp.create_array(name, shape=data.shape, dtype=data.dtype, chunks=chunks, dimension_names=dims,
                           attributes={"units": units, "description": description, **more})
    if data.size:
        arr[...] = data


def write_residuals(parent: Any, res: Residuals, attributes: dict[str, Any]) -> None:
    """Write ``res`` as the group ``residuals/`` of the zarr group ``parent``, replacing
    one there (layout: docs/telemetry.md, "Output"). ``attributes`` are added to the group's."""
    if GROUP in parent:
        del parent[GROUP]
    g = parent.create_group(GROUP)
    run, tel = res.run, res.telemetry
    epoch = run.epoch.replace("+00:00", "").replace("Z", "")
    tattrs = {"calendar": "proleptic_gregorian", "standard_name": "time"}
    g.attrs.update({
        "complete": False, "description": "telemetry minus the run's prediction (orbitwin compare)",
        "telemetry": tel.path, "telemetry_sha256": tel.sha256, "telemetry_format": tel.format,
        "rows_read": tel.n_rows, "rows_compared": int(res.residual.size), "rows_skipped": dict(res.skipped),
        "epoch": run.epoch, "record_every_s": float(np.median(np.diff(run.times_s))),
        "scale_rule": "by units: " + ", ".join(f"{u or '1'} {s:g}" for u, s in SCALES.items())
                      + f"; other units: {FALLBACK_SCALE_FRACTION:g} x the largest |prediction|",
        "methods": {str(k): v for k, v in METHODS.items()}, **attributes})
    names = np.asarray(res.names, dtype=object)
    rows = g.create_group("rows")
    rows.attrs["description"] = "one row per telemetry value compared, in file order"
    _array(rows, "time", res.time_s, ("row",), "telemetry time", f"seconds since {epoch}", **tattrs)
    _array(rows, "satellite", res.sat, ("row",), "satellite index in the run")
    _array(rows, "variable", names[res.var], ("row",), "store variable (vector components as name[i])")
    _array(rows, "telemetry", res.telemetry_value, ("row",), "telemetry value, in the variable's units")
    _array(rows, "prediction", res.prediction, ("row",), "the run's prediction at the telemetry time")
    _array(rows, "residual", res.residual, ("row",), "telemetry minus prediction")
    _array(rows, "method", res.method, ("row",), "interpolation of the prediction",
           flag_values=list(METHODS), flag_meanings=" ".join(METHODS.values()))
    _array(rows, "line", res.line, ("row",), f"{tel.where_word} of the row in the telemetry file")
    vg = g.create_group("vectors")
    vg.attrs["description"] = "vector residuals whose three components share a time and satellite"
    _array(vg, "time", res.vec_time_s, ("sample",), "telemetry time", f"seconds since {epoch}", **tattrs)
    _array(vg, "satellite", res.vec_sat, ("sample",), "satellite index in the run")
    _array(vg, "variable", np.asarray([n.partition("[")[0] for n in names[res.vec_var]], dtype=object)
           if res.vec_var.size else np.zeros(0, dtype=object), ("sample",), "the vector variable")
    vunits = sorted({res.units[int(j)] for j in np.unique(res.vec_var)})
    for p, part in enumerate(POSITION_PARTS):
        _array(vg, part, res.vec_parts[:, p], ("sample",),
               {"norm": "norm of the residual vector",
                "radial": "residual along r/|r| (positions only, NaN otherwise)",
                "along_track": "residual along N x R, in the orbit plane (positions only)",
                "cross_track": "residual along r x v/|r x v| (positions only)"}[part]
               + ("" if len(vunits) == 1 else ", in the vector's units"),
               vunits[0] if len(vunits) == 1 else "")
    sg = g.create_group("summary")
    sg.attrs["description"] = "statistics per (satellite, variable) of the residuals; count 0: NaN"
    _array(sg, "sat", res.sats, ("sat",), "satellite index in the run")
    if run.names is not None:
        _array(sg, "name", np.asarray([run.names[i] for i in res.sats], dtype=object), ("sat",), "satellite name")
    if run.catalog_numbers is not None:
        _array(sg, "catalog_number", run.catalog_numbers[res.sats], ("sat",), "catalog number (-1: none)")
    _array(sg, "variable", names, ("variable",), "variable: given, or a derived part name[part] of a vector")
    _array(sg, "units", np.asarray(res.units, dtype=object), ("variable",), "the variable's units")
    _array(sg, "scale", res.scale, ("variable",), "the variable's scale, in its units (docs/telemetry.md)")
    _array(sg, "interpolation", np.asarray(res.interpolation, dtype=object), ("variable",), "linear or hermite")
    _array(sg, "interpolation_error", res.interp_error, ("variable",),
           "estimated max interpolation error at the record interval, in the variable's units")
    _array(sg, "interpolation_error_2h", res.interp_error_2h, ("variable",),
           "max interpolation error measured at twice the record interval")
    for name, data, desc in (("count", res.count, "residuals"), ("mean", res.mean, "mean residual"),
                             ("rms", res.rms, "root mean square residual"),
                             ("max_abs", res.max_abs, "largest |residual|"),
                             ("normalised_rms", res.normalised_rms, "rms / scale")):
        _array(sg, name, data, ("sat", "variable"), desc, "1" if name in ("count", "normalised_rms") else "")
    rg = g.create_group("ranking")
    rg.attrs["description"] = "per variable, the satellites by RMS residual, largest first (-1: none)"
    order = np.full((len(names), res.sats.size), -1, dtype=np.int32)
    for j in range(len(names)):
        r = res.ranking(j)
        order[j, :len(r)] = res.sats[r]
    _array(rg, "variable", names, ("variable",), "variable")
    _array(rg, "satellite", order, ("variable", "rank"), "satellite index in the run, by RMS residual")
    g.attrs["complete"] = True


def to_json(res: Residuals, top: int) -> dict[str, Any]:
    """What ``orbitwin compare --json`` prints (docs/telemetry.md)."""
    run, tel = res.run, res.telemetry

    def f(x: float) -> float | None:
        return float(x) if math.isfinite(float(x)) else None

    def sat(i: int) -> dict[str, Any]:
        g = int(res.sats[i])
        return {"satellite": g, "name": run.names[g] if run.names else None,
                "catalog_number": int(run.catalog_numbers[g]) if run.catalog_numbers is not None else None}

    variables = []
    for j, n in enumerate(res.names):
        variables.append({"variable": n, "units": res.units[j], "scale": f(res.scale[j]),
                          "interpolation": res.interpolation[j], "interpolation_error": f(res.interp_error[j]),
                          "interpolation_error_2h": f(res.interp_error_2h[j]),
                          "satellites": [{**sat(i), "count": int(res.count[i, j]), "rms": f(res.rms[i, j]),
                                          "normalised_rms": f(res.normalised_rms[i, j])}
                                         for i in res.ranking(j)[:top]]})
    summary = [{**sat(i), "variable": res.names[j], "units": res.units[j], "count": int(res.count[i, j]),
                "mean": f(res.mean[i, j]), "rms": f(res.rms[i, j]), "max_abs": f(res.max_abs[i, j]),
                "normalised_rms": f(res.normalised_rms[i, j])}
               for i, j in [(i, j) for i in range(res.sats.size) for j in range(len(res.names))
                            if res.count[i, j] > 0]]
    summary.sort(key=lambda d: -(d["normalised_rms"] or 0.0))
    rows = []
    for r in res.largest_rows(top):
        rows.append({"time": _iso(run.epoch, res.time_s[r]), "time_s": float(res.time_s[r]),
                     **sat(int(np.searchsorted(res.sats, res.sat[r]))), "variable": res.names[res.var[r]],
                     "telemetry": float(res.telemetry_value[r]), "prediction": float(res.prediction[r]),
                     "residual": float(res.residual[r]), "method": METHODS[int(res.method[r])],
                     tel.where_word: int(res.line[r])})
    return {
        "telemetry": {"path": tel.path, "format": tel.format, "sha256": tel.sha256, "rows_read": tel.n_rows,
                      "rows_compared": int(res.residual.size), "rows_skipped": dict(res.skipped),
                      "converted_units": dict(tel.converted)},
        "divergences": [{**sat(i), "variable": res.names[j], "units": res.units[j], "rms": f(res.rms[i, j]),
                         "mean": f(res.mean[i, j]), "max_abs": f(res.max_abs[i, j]),
                         "normalised_rms": f(res.normalised_rms[i, j])} for i, j in res.divergences()[:top]],
        "satellites": [{**sat(i), "variable": res.names[j], "normalised_rms": f(v)}
                       for i, j, v in res.satellites()[:top]],
        "largest_residuals": rows,
        "variables": variables,
        "summary": summary,
    }


__all__ = ["GROUP", "HERMITE_NODES", "METHODS", "ORBIT_METHODS", "POSITION", "POSITION_PARTS", "SCALES", "VELOCITY",
           "Interpolated", "Residuals", "compute_residuals", "gravity_m_s2", "hermite", "interpolate_linear",
           "interpolation_error_linear", "interpolation_error_orbit", "orbit_method", "orbit_state", "to_json",
           "write_residuals"]
