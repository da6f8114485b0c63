"""Objectives with a confidence level (``p95 < 500ms @ 95%``): bounds, then a three-way call.

PASS when every value between the bounds meets the objective, FAIL when none does, and
INCONCLUSIVE when the bounds straddle the threshold: the sample is too small to tell. A side the
sample cannot bound (too few samples, or a bound among censored timeouts) is unbounded.
"""

from __future__ import annotations

import math

import numpy as np

from harness.format.objectives import OPERATORS, Objective, format_kind_value
from harness.verdicts.confidence import percentile_ranks, rate_bounds, samples_to_bound
from harness.verdicts.metrics import ViewStats
from harness.verdicts.percentiles import exact_quantile

__all__ = ["Bounds", "confidence_bounds", "decide"]

Bounds = tuple[float | None, float | None]
"""(lower, upper) at the objective's confidence; None: the sample cannot bound that side."""


def confidence_bounds(objective: Objective, stats: ViewStats) -> Bounds:
    """Return the one-sided bounds of the objective's metric at its confidence level."""
    confidence = objective.confidence
    assert confidence is not None, "only objectives with a confidence level have bounds"
    if objective.quantile is None:
        counted = {
            "success_rate": stats.successes,
            "error_rate": stats.requests - stats.successes,
            "short_circuit_rate": stats.short_circuited,
        }[objective.metric]
        return rate_bounds(counted, stats.requests, confidence)
    values, censored = stats.latency_ms, stats.censored
    lower, upper = percentile_ranks(values.size, exact_quantile(objective.quantile), confidence)
    ranks = [rank - 1 for rank in (lower, upper) if rank is not None]
    ordered = np.partition(values, ranks) if ranks else values
    low = None if lower is None else float(ordered[lower - 1])
    high = None if upper is None else float(ordered[upper - 1])
    if high is not None and upper is not None and censored is not None and censored.any():
        # Certain only if ``upper`` uncensored samples lie at or below it (see percentiles).
        certain = int(np.count_nonzero((values <= high) & ~censored))
        high = high if certain >= upper else None
    return low, high


def decide(objective: Objective, bounds: Bounds, samples: int) -> tuple[bool, bool, str | None]:
    """Return (passed, inconclusive, note) of ``objective`` given its ``bounds``."""
    low, high = bounds
    below = -math.inf if low is None else low
    above = math.inf if high is None else high
    holds = OPERATORS[objective.op]
    threshold = objective.threshold
    if objective.op in ("<", "<="):
        passed, failed = holds(above, threshold), not holds(below, threshold)
    else:
        passed, failed = holds(below, threshold), not holds(above, threshold)
    if passed or failed:
        return bool(passed), False, None
    return False, True, _inconclusive_note(objective, bounds, samples)


def _inconclusive_note(objective: Objective, bounds: Bounds, samples: int) -> str:
    confidence = objective.confidence or 0.0
    level = f"{confidence * 100:g}%"
    shown = [
        "unbounded" if value is None else format_kind_value(objective.kind, value)
        for value in bounds
    ]
    note = (
        f"{level} bounds [{shown[0]}, {shown[1]}] over n={samples} straddle "
        f"{objective.threshold_text}"
    )
    needed = samples_to_bound(objective.quantile, confidence)
    if bounds[1] is None and needed is not None and samples < needed:
        note += f"; a {level} upper bound on {objective.metric.upper()} needs n >= {needed}"
    return note
