"""Exact binomial intervals, and percentiles across seeds: the sweep's and the comparison's numbers.

The Clopper–Pearson interval is the one the objectives' confidence levels use
(:func:`harness.verdicts.confidence.rate_bounds`, from the regularized incomplete beta): a
two-sided interval at confidence ``c`` is the pair of one-sided bounds at ``(1 + c) / 2``.
Percentiles across seeds follow the harness's nearest-rank rule
(:func:`harness.verdicts.percentiles.nearest_rank`, exact in rationals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.verdicts.confidence import rate_bounds, regularized_beta
from harness.verdicts.percentiles import nearest_rank

__all__ = [
    "Interval",
    "binomial_tail_at_least",
    "clopper_pearson",
    "percentile",
]


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval for a proportion: ``low <= p <= high``."""

    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        """Return the JSON form."""
        return {"low": self.low, "high": self.high, "confidence": self.confidence}


def binomial_tail_at_least(k: int, n: int, p: float) -> float:
    """Return ``P(X >= k)`` for ``X ~ Binomial(n, p)``."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return regularized_beta(k, n - k + 1, p)


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Return the exact (Clopper–Pearson) interval for ``successes`` out of ``trials``."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    low, high = rate_bounds(successes, trials, (1.0 + confidence) / 2.0)
    return Interval(low, high, confidence)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the nearest-rank ``q``-th percentile (0 < q <= 100; 0 gives the minimum) of
    ``values``: the smallest value with at least q% of the values at or below it, as the
    harness computes latency percentiles."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[0] if q <= 0 else ordered[nearest_rank(len(ordered), q) - 1]
