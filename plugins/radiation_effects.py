"""Effects of radiation on a satellite's electronics and solar cells. Pure numpy, no taichi,
no hooks: the references the radiation plugin's kernel stage reproduces (`orbitwin_plugins.radiation`
wires them; ``docs/radiation.md`` has the figures).

Three effects, each from the dose model of `orbitwin_plugins.radiation_env`:

Accelerator hard failures (total ionizing dose)
-----------------------------------------------
Each of a satellite's ``N`` accelerators fails when its accumulated dose reaches its own
failure dose ``D_k``, drawn once from a lognormal distribution, the form used for the
part-to-part spread of failure levels in total-dose hardness assurance (Xapsos et al.,
"Inclusion of radiation environment variability in total dose hardness assurance
methodology", IEEE TNS 64(1), 2017)::

    ln D_k ~ Normal(ln D_50, sigma^2)

The number failed at dose ``D`` is ``#{k : D_k <= D}``. Rather than keep ``N`` doses per
satellite, the run keeps only the next one: the order statistics of ``N`` uniforms are
drawn one at a time, in survival form ``S_j = 1 - U_(j)`` (Devroye, Non-Uniform Random
Variate Generation, 1986, sec. V.3)::

    ln S_0 = 0,  ln S_j = ln S_(j-1) + ln(V_j) / (N - j + 1),  V_j ~ Uniform(0, 1)
    D_(j) = D_50 exp(sigma Phi^-1(1 - S_j))

so a satellite carries three numbers (failed count, next failure dose, ``ln S``) whatever
``N``. ``V_j`` comes from a counter-based hash of (seed, the satellite's index in the whole
constellation, j) (`uniform`): the draws are the same run to run, on any backend, and under
any sharding, and the kernel computes the same ones as `failure_doses` here.
``Phi^-1`` is Acklam's rational approximation (relative error < 1.2e-9; P. J. Acklam, "An
algorithm for computing the inverse normal cumulative distribution function", 2003), whose
upper tail uses ``ln S`` directly so no precision is lost near 1.

Defaults (`FAILURE_MEDIAN_RAD_SI`, `FAILURE_SIGMA`) are ASSUMPTIONS anchored on the only
published proton test of a data-center accelerator: Google's TPU v6e (Trillium) under a
67 MeV proton beam showed no hard failure up to 15 krad(Si), the most one chip received,
and its HBM first showed irregularities (recoverable) after about 2 krad(Si) (Google
Research, "Towards a future space-based, highly scalable AI infrastructure system
design", Nov 2025). A lognormal with median 30 krad(Si) and sigma 0.5 survives 15 krad(Si)
with probability 0.92, consistent with that single chip; the HBM irregularities are soft
effects, not failures, and are not modelled as such.

Soft errors (upsets that force recomputation)
---------------------------------------------
Single-event upsets that escape ECC (or hang the device) stop a job, which restarts from
its last checkpoint: the work since it and the restart are lost. Trapped protons (and solar
protons) cause them; trapped electrons do not. With ``k`` upsets per accelerator per rad(Si)
of proton dose, a job spanning ``J`` accelerators, ``t_r`` seconds lost per upset and
``dD_p/dt`` the proton dose rate::

    upset rate of a job  lambda = J k dD_p/dt                 [s-1]
    share of compute lost        l = min(1, lambda t_r)        (an expectation; no draws)

Counting upsets per unit dose assumes the upset cross-section is flat over the spectrum
behind the shielding (true above ~30 MeV, where test beams sit). Galactic cosmic rays and
their heavy ions are not modelled: they add a background rate outside the belts.
Defaults (`UPSETS_PER_RAD_SI`, `UPSET_RECOVERY_S`) are ASSUMPTIONS, orders of magnitude
for illustration only: set them from a beam test of your hardware.

Solar-cell damage
-----------------
Cell damage is displacement damage, dominated by the electrons and low-energy protons that
the thin cover glass lets through; a satellite's damage rate relative to another orbit's
follows the dose behind a thin shield. The yearly degradation ``r`` of the solar plugin
(SMAD 3rd ed. sec. 11.4: 2.75 %/yr for GaAs in LEO) is taken to hold in a reference orbit
(550 km, 55 deg: `REFERENCE_ORBIT`, ASSUMPTION: SMAD names no orbit; this is the most
populated LEO shell), and scaled by the cell dose ``D_c`` behind ``x_c`` mm of aluminium
(default 1 mm, the table's thinnest)::

    f_cell = (1 - r)^(y0 + D_c / D_ref)          D_ref: the reference orbit's yearly dose behind x_c

with ``y0`` the years in orbit before the epoch (at the reference rate). A satellite in
the reference orbit degrades exactly at ``r`` a year; one through more of the SAA or the
horns degrades faster. This is a scaling, not a displacement-damage-dose calculation
(Messenger et al., Prog. Photovolt. 9, 2001): the spectra behind 1 mm and behind a cover
glass differ, so treat the result as the orbit's relative severity applied to a
handbook rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from orbitwin_plugins import radiation_env as env

#: Median failure dose of an accelerator [rad(Si)]: ASSUMPTION, twice the 15 krad(Si) a
#: TPU v6e survived under protons without hard failure (module docstring).
FAILURE_MEDIAN_RAD_SI = 30.0e3
#: Spread of ln(failure dose) [1]: ASSUMPTION (module docstring).
FAILURE_SIGMA = 0.5
#: Upsets that stop a job, per accelerator per rad(Si) of proton dose: ASSUMPTION, an order
#: of magnitude for illustration (one per 50 rad(Si)); set it from a beam test.
UPSETS_PER_RAD_SI = 0.02
#: Compute time lost per upset [s]: ASSUMPTION, half of a 10-minute checkpoint interval
#: (the work since the last checkpoint, on average) plus a 5-minute restart.
UPSET_RECOVERY_S = 600.0
#: Shielding in front of the solar cells for the damage scaling [mm Al]: the table's thinnest.
CELL_SHIELDING_MM_AL = 1.0
#: Orbit in which the solar plugin's yearly rate is taken to hold: (altitude km, inclination deg).
REFERENCE_ORBIT = (550.0, 55.0)

#: Stream word of the failure draws ("rad!" in ASCII), so that other plugins seeded by the
#: same ``[scenario] seed`` draw independent numbers.
STREAM = 0x72616421
_M1, _M2, _GOLDEN = 0x7FEB352D, 0x846CA68B, 0x9E3779B9
_U32 = np.uint32

# Acklam's coefficients
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
P_LOW = 0.02425


# --------------------------------------------------------------------------------------
# counter-based uniforms
# --------------------------------------------------------------------------------------

def hash32(x: Any) -> np.ndarray:
    """The "lowbias32" integer hash (C. Wellons, 2018): xor-shift-multiply, uint32, wrapping."""
    x = np.asarray(x, dtype=np.uint64) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * _M1) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * _M2) & 0xFFFFFFFF
    x ^= x >> 16
    return x.astype(_U32)


def draw_keys(seed: int, sat_index: Any) -> np.ndarray:
    """Each satellite's key [int32 bits]: a hash of ``seed`` (64 bits), `STREAM` and the
    satellite's index in the whole constellation."""
    s = int(seed) & 0xFFFFFFFFFFFFFFFF
    base = hash32(hash32(s & 0xFFFFFFFF) ^ hash32((s >> 32) ^ STREAM))
    idx = np.asarray(sat_index, dtype=np.int64).astype(np.uint64) & 0xFFFFFFFF
    return hash32(idx ^ base.astype(np.uint64)).view(np.int32)


def uniform(key: Any, j: Any) -> np.ndarray:
    """The ``j``-th uniform in (0, 1) of a key, 53 bits from two hashes::

        h1 = H(key ^ H(2j + g)),  h2 = H(key ^ H(2j + 1 + g))
        u  = ((h1 >> 5) 2^26 + (h2 >> 6) + 1/2) / 2^53
    """
    k = np.asarray(key).astype(np.int32).view(_U32).astype(np.uint64)
    j2 = (np.asarray(j, dtype=np.uint64) * 2) & 0xFFFFFFFF
    h1 = hash32(k ^ hash32((j2 + _GOLDEN) & 0xFFFFFFFF).astype(np.uint64)).astype(np.float64)
    h2 = hash32(k ^ hash32((j2 + 1 + _GOLDEN) & 0xFFFFFFFF).astype(np.uint64)).astype(np.float64)
    return (np.floor(h1 / 32.0) * 67108864.0 + np.floor(h2 / 64.0) + 0.5) / 9007199254740992.0


# --------------------------------------------------------------------------------------
# failure doses
# --------------------------------------------------------------------------------------

def _poly(c: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, c[0])
    for v in c[1:]:
        out = out * x + v
    return out


def one_minus_exp(log_s: Any) -> np.ndarray:
    """``1 - exp(L)`` for ``L <= 0``, exact to rounding also for tiny ``|L|`` (series)."""
    L = np.asarray(log_s, dtype=np.float64)
    small = L > -1e-5
    series = -(L + L * L / 2.0 + L * L * L / 6.0)
    return np.where(small, series, 1.0 - np.exp(np.where(small, -1.0, L)))


def normal_quantile_of_survival(log_s: Any) -> np.ndarray:
    """``Phi^-1(1 - S)`` from ``L = ln S``: Acklam's approximation, the upper tail from
    ``sqrt(-2 L)`` so that ``S`` near 0 or 1 loses nothing."""
    L = np.minimum(np.asarray(log_s, dtype=np.float64), 0.0)
    p = one_minus_exp(L)
    out = np.empty_like(p)
    lo, hi = p < P_LOW, p > 1.0 - P_LOW
    mid = ~(lo | hi)
    q = np.sqrt(-2.0 * np.log(np.where(lo, p, 0.5)))
    out[lo] = (_poly(_C, q) / (_poly(_D, q) * q + 1.0))[lo]
    q = np.sqrt(-2.0 * np.where(hi, L, -1.0))
    out[hi] = -(_poly(_C, q) / (_poly(_D, q) * q + 1.0))[hi]
    q = p - 0.5
    r = q * q
    out[mid] = (_poly(_A, r) * q / (_poly(_B, r) * r + 1.0))[mid]
    return out


def dose_of_survival(log_s: Any, median_rad_si: float, sigma: float) -> np.ndarray:
    """The failure dose [rad(Si)] at survival level ``ln S``: ``D_50 exp(sigma Phi^-1(1 - S))``."""
    return median_rad_si * np.exp(sigma * normal_quantile_of_survival(log_s))


def next_log_survival(log_s: Any, key: Any, j: Any, n: int) -> np.ndarray:
    """``ln S_(j+1) = ln S_j + ln(V_j) / (n - j)`` (``j`` failed so far)."""
    return np.asarray(log_s, np.float64) + np.log(uniform(key, j)) / (n - np.asarray(j, np.float64))


def failure_doses(seed: int, sat_index: Any, n: int, median_rad_si: float = FAILURE_MEDIAN_RAD_SI,
                  sigma: float = FAILURE_SIGMA) -> np.ndarray:
    """The failure doses of each satellite's ``n`` accelerators in increasing order
    ``(len(sat_index), n)`` [rad(Si)], as the kernel draws them one at a time."""
    keys = draw_keys(seed, sat_index)
    log_s = np.zeros(keys.shape)
    out = np.empty(keys.shape + (int(n),))
    for j in range(int(n)):
        log_s = next_log_survival(log_s, keys, j, n)
        out[:, j] = dose_of_survival(log_s, median_rad_si, sigma)
    return out


def failed_count(doses_sorted: Any, dose_rad_si: Any) -> np.ndarray:
    """Accelerators failed at dose ``dose_rad_si`` (per satellite, last axis of the doses)."""
    d = np.asarray(doses_sorted)
    return np.sum(d <= np.asarray(dose_rad_si, np.float64)[..., None], axis=-1)


def survival_probability(dose_rad_si: Any, median_rad_si: float = FAILURE_MEDIAN_RAD_SI,
                         sigma: float = FAILURE_SIGMA) -> np.ndarray:
    """Probability that one accelerator survives ``dose_rad_si``: ``1 - Phi(ln(D/D_50)/sigma)``."""
    z = np.log(np.maximum(np.asarray(dose_rad_si, np.float64), 1e-300) / median_rad_si) / sigma
    return 0.5 * np.vectorize(math.erfc)(z / math.sqrt(2.0))


# --------------------------------------------------------------------------------------
# soft errors and cells
# --------------------------------------------------------------------------------------

def upset_loss(proton_dose_rate_rad_si_s: Any, job_accelerators: int, upsets_per_rad_si: float = UPSETS_PER_RAD_SI,
               recovery_s: float = UPSET_RECOVERY_S) -> np.ndarray:
    """Share of compute lost to upsets: ``min(1, J k dD_p/dt t_r)``."""
    lam = job_accelerators * upsets_per_rad_si * np.asarray(proton_dose_rate_rad_si_s, np.float64)
    return np.minimum(1.0, lam * recovery_s)


def reference_cell_dose_rad_si_per_year(cell_shielding_mm_al: float = CELL_SHIELDING_MM_AL,
                                        year: float = env.IGRF_EPOCH_YEAR) -> float:
    """``D_ref``: the model's long-term trapped dose behind the cells' shielding in the
    reference orbit, per Julian year [rad(Si)]."""
    alt, inc = REFERENCE_ORBIT
    return env.orbit_average(alt, inc, cell_shielding_mm_al, year)["total"] * env.SECONDS_PER_YEAR


def cell_remaining_fraction(cell_dose_rad_si: Any, degradation_per_year: float, reference_rad_si_per_year: float,
                            years_at_epoch: float = 0.0) -> np.ndarray:
    """``(1 - r)^(y0 + D_c / D_ref)``."""
    years = years_at_epoch + np.asarray(cell_dose_rad_si, np.float64) / reference_rad_si_per_year
    return np.exp(math.log1p(-degradation_per_year) * years)


__all__ = ["CELL_SHIELDING_MM_AL", "FAILURE_MEDIAN_RAD_SI", "FAILURE_SIGMA", "REFERENCE_ORBIT", "STREAM",
           "UPSETS_PER_RAD_SI", "UPSET_RECOVERY_S", "cell_remaining_fraction", "dose_of_survival", "draw_keys",
           "failed_count", "failure_doses", "hash32", "next_log_survival", "normal_quantile_of_survival",
           "one_minus_exp", "reference_cell_dose_rad_si_per_year", "survival_probability", "uniform", "upset_loss"]
