"""The radiation effects' numpy references (`orbitwin_plugins.radiation_effects`) against
independent answers: the normal quantile against Python's `statistics.NormalDist`, the
failure doses against the lognormal distribution they are drawn from, the cell scaling
against the handbook rate in its reference orbit."""

import math
import statistics

import numpy as np
import pytest

from orbitwin_plugins import radiation_effects as fx
from orbitwin_plugins import radiation_env as env


def test_the_normal_quantile_matches_python_s_to_acklam_s_accuracy():
    nd = statistics.NormalDist()
    p = np.concatenate([np.logspace(-15, -1, 40), np.linspace(0.01, 0.99, 99), 1.0 - np.logspace(-15, -1, 40)])
    got = fx.normal_quantile_of_survival(np.log1p(-p))
    want = np.array([nd.inv_cdf(float(x)) for x in p])
    # Acklam's stated relative error is 1.15e-9; the tails lose nothing to 1 - p
    np.testing.assert_allclose(got, want, rtol=2e-9, atol=1e-12)


def test_one_minus_exp_is_exact_for_tiny_arguments():
    L = np.array([-1e-14, -1e-9, -1e-6, -1.0001e-5, -1e-3, -1.0, -50.0])
    # series below 1e-5 (third order: error L^4/24 < 1e-21 relative); above it 1 - exp(L)
    # loses at most eps / |L| ~ 1e-11 relative
    np.testing.assert_allclose(fx.one_minus_exp(L), -np.expm1(L), rtol=2e-11)


def test_the_hash_is_the_published_lowbias32():
    # reference values computed by hand from the definition (xor-shift-multiply constants
    # 0x7feb352d and 0x846ca68b, C. Wellons 2018)
    def ref(x):
        x &= 0xFFFFFFFF
        x ^= x >> 16
        x = (x * 0x7FEB352D) & 0xFFFFFFFF
        x ^= x >> 15
        x = (x * 0x846CA68B) & 0xFFFFFFFF
        return x ^ (x >> 16)

    xs = [0, 1, 2, 12345, 0xFFFFFFFF, 0x9E3779B9]
    assert [int(v) for v in fx.hash32(xs)] == [ref(x) for x in xs]


def test_uniforms_are_in_the_open_interval_and_uniform():
    keys = fx.draw_keys(3, np.arange(20000))
    u = fx.uniform(keys, 5)
    assert np.all((u > 0.0) & (u < 1.0))
    # Kolmogorov-Smirnov distance against U(0, 1): 1.63 / sqrt(n) is the 1 % critical value
    s = np.sort(u)
    d = np.max(np.abs(s - (np.arange(1, s.size + 1) - 0.5) / s.size))
    assert d < 1.63 / math.sqrt(s.size)


def test_failure_doses_follow_the_lognormal_they_are_drawn_from():
    median, sigma, n = 30e3, 0.5, 16
    d = fx.failure_doses(11, np.arange(4000), n, median, sigma)
    assert np.all(np.diff(d, axis=1) >= 0.0)  # in increasing order, as the kernel meets them
    # the pooled doses are n x 4000 draws of the lognormal: compare the empirical CDF
    pooled = np.sort(d.ravel())
    cdf = 1.0 - fx.survival_probability(pooled, median, sigma)
    ks = np.max(np.abs(cdf - (np.arange(1, pooled.size + 1) - 0.5) / pooled.size))
    assert ks < 1.63 / math.sqrt(pooled.size)
    # the median of the smallest of n: F^-1(1 - 2^(-1/n))
    p1 = 1.0 - 2.0 ** (-1.0 / n)
    want = median * math.exp(sigma * statistics.NormalDist().inv_cdf(p1))
    assert abs(np.median(d[:, 0]) / want - 1.0) < 0.03


def test_draws_depend_on_seed_and_global_index_only():
    whole = fx.failure_doses(5, np.arange(10), 8)
    part = fx.failure_doses(5, np.arange(4, 7), 8)  # a shard of satellites 4-6
    np.testing.assert_array_equal(part, whole[4:7])
    np.testing.assert_array_equal(fx.failure_doses(5, np.arange(10), 8), whole)  # run to run
    assert not np.array_equal(fx.failure_doses(6, np.arange(10), 8), whole)


def test_failed_count_counts_doses_reached():
    d = np.array([[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(fx.failed_count(d, [2.0, 4.0]), [2, 0])


def test_upset_loss_is_rate_times_recovery_capped_at_one():
    np.testing.assert_allclose(fx.upset_loss([0.0, 1e-6, 1.0], 32, 0.02, 600.0),
                               [0.0, 32 * 0.02 * 1e-6 * 600.0, 1.0])


def test_the_cell_scaling_gives_the_handbook_rate_in_the_reference_orbit():
    ref = fx.reference_cell_dose_rad_si_per_year()
    alt, inc = fx.REFERENCE_ORBIT
    one_year = env.orbit_average(alt, inc, fx.CELL_SHIELDING_MM_AL)["total"] * env.SECONDS_PER_YEAR
    assert fx.cell_remaining_fraction(one_year, 0.0275, ref) == pytest.approx(1.0 - 0.0275, rel=1e-12)
    assert fx.cell_remaining_fraction(0.0, 0.0275, ref, years_at_epoch=2.0) == pytest.approx(0.9725**2, rel=1e-12)
    # a harsher orbit (650 km, 98 deg) degrades faster than the reference
    harsh = env.orbit_average(650.0, 98.0, fx.CELL_SHIELDING_MM_AL)["total"] * env.SECONDS_PER_YEAR
    assert harsh > one_year
