"""Objectives' evaluation: an :class:`~harness.format.objectives.Objective` checked against one
upstream's statistics into a :class:`Verdict`. An objective over zero samples fails; it never
passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from harness.format.objectives import (
    BREAKER_METRICS,
    OPERATORS,
    Objective,
    View,
    format_kind_value,
)
from harness.format.units import NS_PER_MS
from harness.verdicts.metrics import BreakerSummary, ViewStats

__all__ = ["Verdict", "evaluate"]


@dataclass(frozen=True)
class Verdict:
    """An objective checked against a run: what was seen, over how many samples, and the call."""

    objective: Objective
    observed: float | str | None
    samples: int
    passed: bool
    note: str | None = None

    @property
    def observed_text(self) -> str:
        """Return the observed value as a person reads it."""
        if self.observed is None:
            return "no data"
        return format_kind_value(self.objective.kind, self.observed)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: numbers are numbers, the unit is named."""
        objective = self.objective
        return {
            "objective": objective.text,
            "view": None if objective.metric in BREAKER_METRICS else objective.view.value,
            "metric": objective.metric,
            "op": objective.op,
            "threshold": objective.threshold,
            "observed": self.observed,
            "unit": objective.kind.value,
            "samples": self.samples,
            "passed": self.passed,
            "note": self.note,
        }


def evaluate(
    objective: Objective, views: Mapping[View, ViewStats], breaker: BreakerSummary | None
) -> Verdict:
    """Check ``objective`` against one upstream's statistics and breaker summary."""
    if objective.metric in BREAKER_METRICS:
        return _evaluate_breaker(objective, breaker, views[View.CLIENT].requests)
    stats = views[objective.view]
    observed = _observe(objective, stats)
    if observed is None:
        return Verdict(objective, None, 0, False, f"no requests in the {stats.view} view")
    passed = OPERATORS[objective.op](observed, objective.threshold)
    return Verdict(objective, observed, stats.requests, passed, _sample_note(objective, stats))


def _observe(objective: Objective, stats: ViewStats) -> float | None:
    metric = objective.metric
    if objective.quantile is not None:
        return stats.percentile_ms(objective.quantile)
    if metric == "requests":
        return float(stats.requests)
    if metric in ("success_rate", "error_rate", "short_circuit_rate"):
        value: float | None = getattr(stats, metric)
        return value
    if stats.latency is None:
        return None
    return {
        "avg": stats.latency.avg_ms,
        "mean": stats.latency.avg_ms,
        "min": stats.latency.min_ms,
        "max": stats.latency.max_ms,
    }[metric]


def _evaluate_breaker(
    objective: Objective, breaker: BreakerSummary | None, requests: int
) -> Verdict:
    if breaker is None:
        return Verdict(objective, None, 0, False, "this upstream has no breaker")
    if requests == 0:  # a breaker no call went through proves nothing: fail, never pass
        return Verdict(objective, None, 0, False, "no requests: the breaker was never exercised")
    observed: float | str
    if objective.metric == "final_state":
        observed = breaker.final_state.name
    elif objective.metric == "opens":
        observed = float(breaker.opens)
    else:
        observed = breaker.time_open_ns / NS_PER_MS
    passed = OPERATORS[objective.op](observed, objective.threshold)
    return Verdict(objective, observed, requests, passed)


def _sample_note(objective: Objective, stats: ViewStats) -> str | None:
    quantile = objective.quantile
    if quantile is None or quantile >= 100:
        return None
    needed = math.ceil(100 / (100 - quantile) - 1e-9)
    if stats.requests >= needed:
        return None
    return (
        f"only {stats.requests} samples: {objective.metric.upper()} needs at least {needed} "
        "to differ from the maximum"
    )
