"""Objectives' evaluation: an :class:`~harness.format.objectives.Objective` checked against one
upstream's statistics into a :class:`Verdict`. An objective over zero samples fails; it never
passes. A latency statistic that timed-out (censored) requests leave uncertain decides an
objective only where its lower bound already does; otherwise the objective fails, with a note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from harness.format.objectives import (
    BREAKER_METRICS,
    OPERATORS,
    TTFB_PREFIX,
    Kind,
    Objective,
    View,
    format_kind_value,
    parse_objective,
)
from harness.format.units import NS_PER_MS
from harness.verdicts.confidence import samples_to_bound
from harness.verdicts.decisions import confidence_bounds, decide
from harness.verdicts.metrics import BreakerSummary, ViewStats

__all__ = ["Verdict", "evaluate", "route_verdicts"]


@dataclass(frozen=True)
class Verdict:
    """An objective checked against a run: what was seen, over how many samples, and the call.

    ``lower_bound``: the observed value is only a lower bound of the true one (timed-out
    requests are censored), so the objective was decided only as far as that allows.
    """

    objective: Objective
    observed: float | str | None
    samples: int
    passed: bool
    note: str | None = None
    lower_bound: bool = False
    inconclusive: bool = False  # the confidence bounds straddle the threshold
    bounds: tuple[float | None, float | None] | None = None  # at the objective's confidence

    @property
    def outcome(self) -> str:
        """Return ``PASS``, ``FAIL`` or ``INCONCLUSIVE``."""
        return "INCONCLUSIVE" if self.inconclusive else "PASS" if self.passed else "FAIL"

    @property
    def observed_text(self) -> str:
        """Return the observed value as a person reads it."""
        if self.observed is None:
            return "no data"
        text = format_kind_value(self.objective.kind, self.observed)
        return f"≥ {text}" if self.lower_bound else text

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
            "lower_bound": self.lower_bound,
            "unit": objective.kind.value,
            "samples": self.samples,
            "passed": self.passed,
            "outcome": self.outcome,
            "confidence": objective.confidence,
            "bounds": None if self.bounds is None else list(self.bounds),
            "note": self.note,
        }


def evaluate(
    objective: Objective,
    views: Mapping[View, ViewStats],
    breaker: BreakerSummary | None,
    ttfb: ViewStats | None = None,
) -> Verdict:
    """Check ``objective`` against one upstream's statistics and breaker summary (and, for a
    ``ttfb.`` metric, the time to first byte of its streamed answers)."""
    if objective.metric in BREAKER_METRICS:
        return _evaluate_breaker(objective, breaker, views[View.CLIENT].requests)
    stats = views[objective.view]
    if objective.metric.startswith(TTFB_PREFIX):
        if ttfb is None or ttfb.latency is None:
            return Verdict(objective, None, 0, False, "no streamed answer sent a first chunk")
        stats = ttfb
    found = _observe(objective, stats)
    if found is None:
        population = "answered requests" if objective.kind is Kind.LATENCY else "requests"
        return Verdict(objective, None, 0, False, f"no {population} in the {stats.view} view")
    observed, exact = found
    samples = stats.requests
    if objective.kind is Kind.LATENCY and stats.latency is not None:
        samples = stats.latency.samples
    if objective.confidence is not None:
        found_bounds = confidence_bounds(objective, stats)
        passed, inconclusive, note = decide(objective, found_bounds, samples)
        return Verdict(
            objective, observed, samples, passed, note, not exact, inconclusive, found_bounds
        )
    holds = bool(OPERATORS[objective.op](observed, objective.threshold))
    if exact:
        return Verdict(objective, observed, samples, holds, _sample_note(objective, samples))
    # The true value is at least the observed one: it decides "greater" when it holds and
    # "less" when it fails; anything else the censored samples leave open, and open never passes.
    if (objective.op in (">", ">=") and holds) or (objective.op in ("<", "<=") and not holds):
        return Verdict(objective, observed, samples, holds, None, lower_bound=True)
    note = (
        f"{stats.latency.censored if stats.latency else 0} timed-out requests are censored: "
        f"the true value is ≥ {format_kind_value(objective.kind, observed)}, which cannot show "
        f"{objective.op} {objective.threshold_text}"
    )
    return Verdict(objective, observed, samples, False, note, lower_bound=True)


def _observe(objective: Objective, stats: ViewStats) -> tuple[float, bool] | None:
    """Return the observed value and whether it is exact (False: only a lower bound)."""
    metric = objective.metric
    if objective.quantile is not None:
        return stats.percentile_bound(objective.quantile)
    if metric == "requests":
        return float(stats.requests), True
    if metric in ("success_rate", "error_rate", "short_circuit_rate"):
        value: float | None = getattr(stats, metric)
        return None if value is None else (value, True)
    if stats.latency is None:
        return None
    stat = metric.removeprefix(TTFB_PREFIX)
    key = {"avg": "avg_ms", "mean": "avg_ms", "min": "min_ms", "max": "max_ms"}[stat]
    return float(getattr(stats.latency, key)), key not in stats.latency.lower_bound


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
    passed = bool(OPERATORS[objective.op](observed, objective.threshold))
    return Verdict(objective, observed, requests, passed)


def _sample_note(objective: Objective, samples: int) -> str | None:
    quantile = objective.quantile
    if quantile is None or quantile >= 100:
        return None
    name = objective.metric.upper()
    needed = math.ceil(100 / (100 - quantile) - 1e-9)
    if samples < needed:
        return f"only {samples} samples: {name} needs at least {needed} to differ from the maximum"
    bound = samples_to_bound(quantile, 0.95)
    if bound is not None and samples < bound:
        return f"only {samples} samples: no 95% upper bound on {name} below {bound}"
    return None


def route_verdicts(hits: dict[str, int]) -> tuple[Verdict, ...]:
    """Return, per route of an upstream, whether it was called (``assert_all_called``): a
    check like ``upstream.requests >= 1`` counting the requests that route answered."""
    template = parse_objective("upstream.requests >= 1")
    return tuple(
        Verdict(
            objective=replace(template, text=f"route {label!r}: upstream.requests >= 1"),
            observed=count,
            samples=count,
            passed=count >= 1,
            note=None if count else f"route {label!r} was never called",
        )
        for label, count in hits.items()
    )
