"""Exact binomial intervals, and percentiles across seeds: the sweep's and the comparison's numbers.

scipy is not a dependency, so the Clopper–Pearson interval is computed here from its
definition: the lower bound is the ``p`` at which ``P(X >= k) = alpha/2`` and the upper bound the
``p`` at which ``P(X <= k) = alpha/2``, for ``X ~ Binomial(n, p)``. Both tails are the
regularized incomplete beta function ``I_p(k, n - k + 1)`` (evaluated by its continued fraction,
Lentz's method, as in Numerical Recipes §6.4), and each bound is found by bisection on ``p``,
which that tail is monotone in. Bisection to 2⁻⁶⁰ is far below any digit reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Interval",
    "binomial_tail_at_least",
    "clopper_pearson",
    "percentile",
    "regularized_beta",
]

_EPSILON = 1e-15
_TINY = 1e-300
_MAX_TERMS = 1_000_000

_Monotone = Callable[[float], float]


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval for a proportion: ``low <= p <= high``."""

    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        """Return the JSON form."""
        return {"low": self.low, "high": self.high, "confidence": self.confidence}


def regularized_beta(x: float, a: float, b: float) -> float:
    """Return ``I_x(a, b)``, the regularized incomplete beta function, for ``a, b > 0``."""
    if not (a > 0 and b > 0):
        raise ValueError(f"a and b must be above 0, got a={a}, b={b}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The continued fraction converges fast only left of the mean; use the symmetry elsewhere.
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    """Evaluate the incomplete beta's continued fraction by the modified Lentz method."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = d * c
            h *= step
        if abs(step - 1.0) < _EPSILON:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for x={x}, a={a}, b={b}")


def binomial_tail_at_least(k: int, n: int, p: float) -> float:
    """Return ``P(X >= k)`` for ``X ~ Binomial(n, p)``."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return regularized_beta(p, k, n - k + 1)


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Return the exact (Clopper–Pearson) interval for ``successes`` out of ``trials``."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    tail = (1.0 - confidence) / 2.0
    low = (
        0.0
        if successes == 0
        else _solve(lambda p: binomial_tail_at_least(successes, trials, p), tail)
    )
    high = (
        1.0
        if successes == trials
        else _solve(lambda p: binomial_tail_at_least(successes + 1, trials, p), 1.0 - tail)
    )
    return Interval(low, high, confidence)


def _solve(increasing: _Monotone, target: float) -> float:
    """Return the ``p`` in [0, 1] where the increasing function reaches ``target`` (bisection)."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2.0
        if increasing(middle) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def percentile(values: Sequence[float], q: float) -> float:
    """Return the nearest-rank ``q``-th percentile (0 < q <= 100; 0 gives the minimum) of
    ``values``: the smallest value with at least q% of the values at or below it, as the
    harness computes latency percentiles."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    if q <= 0:
        return ordered[0]
    rank = math.ceil(
        Fraction(str(q)) / 100 * len(ordered)
    )  # exact: no 0.95 * 20 = 19.000000000000004
    return ordered[max(rank, 1) - 1]
