"""Objectives: a short grammar, and their evaluation into verdicts.

An objective is ``[view.]metric op threshold``::

    p95 < 500ms                    95th percentile latency, client view
    upstream.success_rate >= 65%   success rate of the requests that reached the upstream
    error_rate < 5%                1 - success rate, client view
    final_state == CLOSED          the breaker's state when the run ended
    opens <= 3                     how many times the breaker opened
    time_open <= 2m                total time the breaker spent OPEN

``view`` is ``client`` (default) or ``upstream`` (see :mod:`harness.metrics`). ``<`` and ``>`` are
strict, ``<=`` and ``>=`` are not. An objective over zero samples fails; it never passes.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from enum import StrEnum
from typing import Any

from harness.metrics import BreakerSummary, View, ViewStats
from harness.units import NS_PER_MS, parse_duration, parse_rate

__all__ = ["OPERATORS", "Kind", "Objective", "Verdict", "evaluate", "parse_objective"]


class Kind(StrEnum):
    """What a metric measures, which fixes its threshold's unit."""

    LATENCY = "ms"
    RATE = "ratio"
    COUNT = "count"
    DURATION = "duration_ms"
    STATE = "state"


_METRICS: dict[str, Kind] = {
    "avg": Kind.LATENCY,
    "mean": Kind.LATENCY,
    "min": Kind.LATENCY,
    "max": Kind.LATENCY,
    "success_rate": Kind.RATE,
    "error_rate": Kind.RATE,
    "short_circuit_rate": Kind.RATE,
    "requests": Kind.COUNT,
    "opens": Kind.COUNT,
    "time_open": Kind.DURATION,
    "final_state": Kind.STATE,
}
_BREAKER_METRICS = {"opens", "time_open", "final_state"}
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?|100)")
_OBJECTIVE = re.compile(
    r"\s*(?:(?P<view>[A-Za-z_]+)\.(?=[A-Za-z]))?(?P<metric>[A-Za-z_][A-Za-z0-9_.]*)"
    r"\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<threshold>\S.*?)\s*"
)
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_STATES = ("CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED")
GRAMMAR_HINT = (
    "an objective like 'p95 < 500ms', 'upstream.success_rate >= 90%' or 'final_state == CLOSED'"
)


@dataclass(frozen=True)
class Objective:
    """One parsed objective; ``threshold`` is in ms, a 0–1 fraction, a count or a state name."""

    text: str
    view: View
    metric: str
    op: str
    threshold: float | str
    kind: Kind
    quantile: float | None = None

    def __str__(self) -> str:
        return self.text

    @property
    def threshold_text(self) -> str:
        """Return the threshold as a person would write it."""
        return _format_value(self.kind, self.threshold)


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
        return _format_value(self.objective.kind, self.observed)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: numbers are numbers, the unit is named."""
        objective = self.objective
        return {
            "objective": objective.text,
            "view": None if objective.metric in _BREAKER_METRICS else objective.view.value,
            "metric": objective.metric,
            "op": objective.op,
            "threshold": objective.threshold,
            "observed": self.observed,
            "unit": objective.kind.value,
            "samples": self.samples,
            "passed": self.passed,
            "note": self.note,
        }


def parse_objective(text: object) -> Objective:
    """Parse ``text`` such as ``"p95 < 500ms"``; raise ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"expected {GRAMMAR_HINT}, got {text!r}")
    match = _OBJECTIVE.fullmatch(text)
    if match is None:
        raise ValueError(f"expected {GRAMMAR_HINT}, got {text!r}")
    view = _parse_view(match.group("view"), text)
    metric, kind, quantile = _parse_metric(match.group("metric"))
    op = match.group("op")
    if metric in _BREAKER_METRICS and match.group("view"):
        raise ValueError(f"{metric!r} describes the breaker and takes no view prefix")
    if metric == "short_circuit_rate" and view is View.UPSTREAM:
        raise ValueError("short_circuit_rate is always 0 in the upstream view; use the client view")
    threshold = _parse_threshold(kind, match.group("threshold"), op)
    normal = (
        f"{'upstream.' if view is View.UPSTREAM else ''}{metric} {op} {match.group('threshold')}"
    )
    return Objective(normal, view, metric, op, threshold, kind, quantile)


def _parse_view(view: str | None, text: str) -> View:
    if view is None:
        return View.CLIENT
    try:
        return View(view)
    except ValueError:
        raise ValueError(
            f"unknown view {view!r} in {text!r}; expected 'client' or 'upstream'"
        ) from None


def _parse_metric(metric: str) -> tuple[str, Kind, float | None]:
    if metric in _METRICS:
        return metric, _METRICS[metric], None
    match = _PERCENTILE.fullmatch(metric)
    if match is not None:
        return metric, Kind.LATENCY, float(match.group(1))
    names = ["p50", "p95", "p99", "p99.9", *_METRICS]
    close = get_close_matches(metric, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown metric {metric!r}{hint} (known: pNN such as p95 or p99.9, {', '.join(_METRICS)})"
    )


def _parse_threshold(kind: Kind, text: str, op: str) -> float | str:
    if kind is Kind.STATE:
        if op not in ("==", "!="):
            raise ValueError(f"a state compares with == or !=, got {op!r}")
        state = text.strip().upper()
        if state not in _STATES:
            raise ValueError(
                f"unknown breaker state {text!r}; expected one of {', '.join(_STATES)}"
            )
        return state
    if kind in (Kind.LATENCY, Kind.DURATION):
        return parse_duration(text) / NS_PER_MS
    if kind is Kind.RATE:
        return parse_rate(_number_or_text(text))
    if not text.isdigit():
        raise ValueError(f"expected a whole number, got {text!r}")
    return float(int(text))


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def evaluate(
    objective: Objective, views: Mapping[View, ViewStats], breaker: BreakerSummary | None
) -> Verdict:
    """Check ``objective`` against one upstream's statistics and breaker summary."""
    if objective.metric in _BREAKER_METRICS:
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


def _format_value(kind: Kind, value: float | str) -> str:
    # The one formatter every report uses; imported here because the report modules import
    # this one.
    from harness.report.values import format_value

    return format_value(value, kind.value)
