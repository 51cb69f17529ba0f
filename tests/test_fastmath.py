"""The polynomial trigonometry of orbitwin_plugins.fastmath against numpy, on the taichi
CPU backend."""

import numpy as np
import taichi as ti

from orbitwin_plugins.fastmath import make_asin, make_cos_sin_small


def test_asin_within_2e9_rad_over_the_whole_domain():
    asin = make_asin()
    x = np.concatenate([np.linspace(-1, 1, 200001), [-1.0, -0.5, 0.0, 0.5, 1.0, 0.4999999, 0.5000001]])
    out = np.empty_like(x)

    @ti.kernel
    def run(a: ti.types.ndarray(dtype=ti.f64, ndim=1), b: ti.types.ndarray(dtype=ti.f64, ndim=1)):
        for i in range(a.shape[0]):
            b[i] = asin(a[i])

    run(x, out)
    assert np.abs(out - np.arcsin(x)).max() < 2e-9


def test_cos_sin_small_to_rounding():
    cs = make_cos_sin_small()
    x = np.linspace(-0.1, 0.1, 20001)
    c, s = np.empty_like(x), np.empty_like(x)

    @ti.kernel
    def run(a: ti.types.ndarray(dtype=ti.f64, ndim=1), oc: ti.types.ndarray(dtype=ti.f64, ndim=1),
            os_: ti.types.ndarray(dtype=ti.f64, ndim=1)):
        for i in range(a.shape[0]):
            oc[i], os_[i] = cs(a[i])

    run(x, c, s)
    assert np.abs(c - np.cos(x)).max() < 3e-16 and np.abs(s - np.sin(x)).max() < 3e-16
