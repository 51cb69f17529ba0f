"""Trigonometry without libm calls, for stages that run every satellite-step.

Taichi's CPU backend calls libm for every sin, cos and asin (about 28-32 ns each in
float64 on the project's machines, DESIGN.md), which is more than all the rest of a
step's arithmetic. These ``ti.func``\\s use polynomials instead; each states its error
bound, and ``tests/test_fastmath.py`` checks it against numpy.

No hooks: a library for plugins, like `orbitwin_plugins.constants`.
"""

from __future__ import annotations

import math

#: asin(y) = y * P(y^2) for |y| <= 0.5: Taylor coefficients (2n)! / (4^n (n!)^2 (2n+1)).
_ASIN_TAYLOR = tuple(math.factorial(2 * n) / (4 ** n * math.factorial(n) ** 2 * (2 * n + 1)) for n in range(12))


def make_asin():
    """``asin(x)`` for x in [-1, 1], absolute error < 2e-9 rad (1e-7 deg).

    |x| <= 0.5: the Taylor series through x^23 (remainder < 0.5^25 * 0.013 = 4e-10).
    |x| > 0.5: asin(x) = sign(x) (pi/2 - 2 asin(sqrt((1 - |x|) / 2))), whose argument is
    at most 0.5 (the range reduction of Cephes' asin); the factor 2 doubles the error.
    """
    import taichi as ti

    coeffs = _ASIN_TAYLOR
    last = coeffs[-1]
    half_pi = math.pi / 2

    @ti.func
    def asin_small(y):
        y2 = y * y
        p = last
        for j in ti.static(range(len(coeffs) - 2, -1, -1)):
            p = p * y2 + coeffs[j]
        return y * p

    @ti.func
    def asin(x):
        ax = ti.min(ti.abs(x), 1.0)
        out = 0.0
        if ax <= 0.5:
            out = asin_small(ax)
        else:
            out = half_pi - 2.0 * asin_small(ti.sqrt((1.0 - ax) * 0.5))
        return out if x >= 0.0 else -out

    return asin


def make_cos_sin_small():
    """``(cos x, sin x)`` for |x| <= 0.1 rad from their Taylor series through x^10 and
    x^9: error below x^11 / 11! = 2.5e-19 at the bound."""
    import taichi as ti

    @ti.func
    def cos_sin_small(x):
        x2 = x * x
        c = 1.0 + x2 * (-1.0 / 2 + x2 * (1.0 / 24 + x2 * (-1.0 / 720 + x2 * (1.0 / 40320 - x2 / 3628800.0))))
        s = x * (1.0 + x2 * (-1.0 / 6 + x2 * (1.0 / 120 + x2 * (-1.0 / 5040 + x2 / 362880.0))))
        return c, s

    return cos_sin_small
