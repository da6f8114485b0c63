"""Exact percentiles: nearest rank by its definition, in rational arithmetic; linear as numpy.

- ``nearest_rank``: the smallest sample with at least q% of the samples at or below it, i.e.
  the k-th smallest with k = ceil(q·n/100) (at least 1). q and n are rationals here, never
  floats: q is read from its decimal text (``99.9`` is 999/10, not 99.900000000000006), so
  P99.9 of 1 000 samples is the 999th smallest. ``numpy.percentile(method="inverted_cdf")``
  computes q/100·n in floating point and lands on the next sample where that product is a
  whole number but the float is a hair above it (0.999·1000 = 999.0000000000001).
- ``linear``: numpy's ``method="linear"``, in numpy's floating-point steps.

Both select the needed order statistics with one ``numpy.partition`` (linear time), so any
number of quantiles costs about one pass.

Censoring: a sample flagged censored (a timeout) is only known to be at least its recorded
value. :func:`bounded_percentiles` says whether a percentile computed from the recorded values
is the true one or only a lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "PercentileMethod",
    "bounded_percentiles",
    "exact_quantile",
    "nearest_rank",
    "order_indices",
    "percentile",
    "percentiles",
]

PercentileMethod = Literal["nearest_rank", "linear"]
FloatArray = npt.NDArray[np.float64]
Quantile = float | int | str | Decimal | Fraction


def exact_quantile(q: Quantile) -> Fraction:
    """Return ``q`` (0–100) as an exact rational, a float read as the decimal it prints as.

    ``repr`` of a float is the shortest decimal that reads back as the same float, so a
    quantile written ``99.9`` (parsed to the float 99.9) becomes exactly 999/10.
    """
    if isinstance(q, float):
        return Fraction(Decimal(repr(q)))
    if isinstance(q, str):
        return Fraction(Decimal(q))
    return Fraction(q)


def nearest_rank(n: int, q: Quantile) -> int:
    """Return the 1-based rank of the ``q``-th nearest-rank percentile of ``n`` samples."""
    product = exact_quantile(q) * n / 100
    return max(1, -(-product.numerator // product.denominator))


def order_indices(n: int, q: Quantile, method: PercentileMethod) -> tuple[int, int, float]:
    """Return (lower index, upper index, weight of the upper) of the ``q``-th percentile.

    Nearest rank picks one order statistic (both indices equal, weight 0); linear follows
    numpy's virtual index (n-1)·q/100 in floating point.
    """
    if method == "nearest_rank":
        index = nearest_rank(n, q) - 1
        return index, index, 0.0
    virtual = (n - 1) * float(np.true_divide(float(q), 100))
    below = int(np.floor(virtual))
    return below, min(below + 1, n - 1), virtual - below


def percentiles(
    values: FloatArray, quantiles: Sequence[Quantile], method: PercentileMethod
) -> list[float]:
    """Return the ``quantiles`` (0–100) of ``values`` (non-empty), selected by one partition."""
    return [value for value, _ in bounded_percentiles(values, None, quantiles, method)]


def percentile(values: FloatArray, q: Quantile, method: PercentileMethod) -> float:
    """Return the ``q``-th percentile of ``values`` (non-empty)."""
    return percentiles(values, [q], method)[0]


def bounded_percentiles(
    values: FloatArray,
    censored: npt.NDArray[np.bool_] | None,
    quantiles: Sequence[Quantile],
    method: PercentileMethod,
) -> list[tuple[float, bool]]:
    """Return each of the ``quantiles`` of the recorded ``values`` (non-empty) and whether it
    is the true one, given that the ``censored`` samples are only known to be at least as
    large as recorded (False: it is only a lower bound).

    The true k-th smallest is at least the recorded one, and equals it for certain exactly when
    k uncensored samples lie at or below it (every censored one could be larger). For linear,
    the upper of the two order statistics must be certain (the lower then is too).
    """
    picks = [order_indices(values.size, q, method) for q in quantiles]
    if not picks:
        return []
    ordered = np.partition(values, sorted({i for low, high, _ in picks for i in (low, high)}))
    found = []
    at_most = None if censored is None or not censored.any() else values[censored]
    for low, high, weight in picks:
        value = _lerp(float(ordered[low]), float(ordered[high]), weight)
        exact = True
        if at_most is not None:
            top = float(ordered[high])
            certain = np.count_nonzero(values <= top) - np.count_nonzero(at_most <= top)
            exact = int(certain) >= high + 1
        found.append((value, exact))
    return found


def _lerp(below: float, above: float, gamma: float) -> float:
    """Interpolate as numpy's ``_lerp`` does, bit for bit (exact at both ends)."""
    if gamma == 0:
        return below
    diff = above - below
    if gamma >= 0.5:
        return above - diff * (1 - gamma)
    return below + diff * gamma
