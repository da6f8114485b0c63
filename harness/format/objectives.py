"""Objectives' grammar: ``[view.]metric op threshold``, parsed into an :class:`Objective`.

An objective is ``[view.]metric op threshold``::

    p95 < 500ms                    95th percentile latency, client view
    upstream.success_rate >= 65%   success rate of the requests that reached the upstream
    error_rate < 5%                1 - success rate, client view
    final_state == CLOSED          the breaker's state when the run ended
    opens <= 3                     how many times the breaker opened
    time_open <= 2m                total time the breaker spent OPEN
    amplification <= 1.5           attempts that reached upstreams per client request
    good_rate(800ms) >= 99%        successes answered within 800ms, per client request
    fallback_rate < 5%             answers an entry point marked as a fallback
    dropped_rate == 0%             requests refused over the concurrency cap
    budget_spent <= 25%            error budget spent (see :mod:`harness.verdicts.budget`)
    ttfb.p95 < 300ms               time to first byte of streamed answers (see
                                   :mod:`harness.format.streaming`); also ttfb.avg, .min, .max
    p95 < 500ms @ 95%              decided on 95% confidence bounds (see
                                   :mod:`harness.verdicts.confidence`); else INCONCLUSIVE

``view`` is ``client`` (default), ``upstream`` or ``issued`` (see
:mod:`harness.verdicts.metrics`). ``<`` and
``>`` are strict, ``<=`` and ``>=`` are not. Evaluation is :mod:`harness.verdicts.objectives`.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from enum import StrEnum
from typing import Any

from harness.format.units import NS_PER_MS, parse_duration, parse_rate
from harness.format.values import format_value

__all__ = [
    "BREAKER_METRICS",
    "CONFIDENCE_RATES",
    "GRAMMAR_HINT",
    "OPERATORS",
    "SERVICE_METRICS",
    "TTFB_PREFIX",
    "Kind",
    "Objective",
    "View",
    "format_kind_value",
    "parse_objective",
]


class View(StrEnum):
    """Which requests a statistic counts (see :mod:`harness.verdicts.metrics`)."""

    CLIENT = "client"
    UPSTREAM = "upstream"
    ISSUED = "issued"


class Kind(StrEnum):
    """What a metric measures, which fixes its threshold's unit."""

    LATENCY = "ms"
    RATE = "ratio"
    COUNT = "count"
    DURATION = "duration_ms"
    STATE = "state"
    NUMBER = "x"


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
    # What resilience code changes (evaluated by harness.verdicts.service):
    "amplification": Kind.NUMBER,
    "fallback_rate": Kind.RATE,
    "dropped_rate": Kind.RATE,
    # The error budget spent (evaluated by harness.verdicts.budget):
    "budget_spent": Kind.RATE,
}
SERVICE_METRICS = {"amplification", "fallback_rate", "dropped_rate", "good_rate"}
_GOOD_RATE = re.compile(r"good_rate\((?P<bound>[^()]+)\)")
BREAKER_METRICS = {"opens", "time_open", "final_state"}
TTFB_PREFIX = "ttfb."
"""Latency metrics written ``ttfb.p95``, ``ttfb.avg``…: of the time to first byte of streamed
answers, over the requests whose stream sent a first chunk (they take no view prefix)."""
_TTFB_STATS = ("avg", "mean", "min", "max")
CONFIDENCE_RATES = {"success_rate", "error_rate", "short_circuit_rate"}
"""Rates an objective may ask a confidence level of (percentiles may too)."""
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?|100)")
_OBJECTIVE = re.compile(
    r"\s*(?:(?P<view>[A-Za-z_]+)\.(?=[A-Za-z]))?(?P<metric>[A-Za-z_][A-Za-z0-9_.]*(?:\([^()]*\))?)"
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
    bound_ms: float | None = None  # good_rate(BOUND): the latency a good answer is within
    confidence: float | None = None  # a fraction in (0, 1): decide on confidence bounds
    phase: str | None = None  # "... during NAME": measured within that timeline phase only

    def __str__(self) -> str:
        return self.text

    @property
    def threshold_text(self) -> str:
        """Return the threshold as a person would write it."""
        return format_kind_value(self.kind, self.threshold)


def parse_objective(text: object) -> Objective:
    """Parse ``text`` such as ``"p95 < 500ms"``; raise ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"expected {GRAMMAR_HINT}, got {text!r}")
    during = _DURING.fullmatch(text)
    if during is not None:
        return _parse_during(during.group("objective"), during.group("phase"))
    text, at, level = text.partition("@")
    objective = _parse_plain(text)
    if not at:
        return objective
    confidence = _parse_confidence(level, objective)
    normal = f"{objective.text} @ {level.strip()}"
    return dataclasses.replace(objective, text=normal, confidence=confidence)


_DURING = re.compile(r"(?P<objective>.*\S)\s+during\s+(?P<phase>\S+)\s*", re.DOTALL)
PHASE_METRICS = {"requests", "amplification"}
"""Metrics an objective may measure within one phase (``... during NAME``), upstream view."""


def _parse_during(text: str, phase: str) -> Objective:
    objective = _parse_plain(text)
    if objective.metric not in PHASE_METRICS or objective.view is not View.UPSTREAM:
        raise ValueError(
            f"only upstream.requests and upstream.amplification can be measured during a "
            f"phase, got {text.strip()!r} (write e.g. 'upstream.amplification <= 3 during {phase}')"
        )
    return dataclasses.replace(objective, text=f"{objective.text} during {phase}", phase=phase)


def _parse_plain(text: str) -> Objective:
    match = _OBJECTIVE.fullmatch(text)
    if match is None:
        raise ValueError(f"expected {GRAMMAR_HINT}, got {text!r}")
    written_view, metric = match.group("view"), match.group("metric")
    if written_view == "ttfb":  # "ttfb.p95": a metric, not a view
        written_view, metric = None, f"{TTFB_PREFIX}{metric}"
    view = _parse_view(written_view, text)
    if metric.startswith(TTFB_PREFIX):
        if written_view:
            raise ValueError(f"{metric!r} measures streamed answers and takes no view prefix")
        metric, kind, quantile = _parse_ttfb(metric)
    else:
        metric, kind, quantile = _parse_metric(metric)
    bound_ms = None
    if metric.startswith("good_rate("):
        _, kind, bound_ms = _parse_good_rate(metric)
    op = match.group("op")
    if metric in BREAKER_METRICS and written_view:
        raise ValueError(f"{metric!r} describes the breaker and takes no view prefix")
    if metric == "short_circuit_rate" and view is View.UPSTREAM:
        raise ValueError("short_circuit_rate is always 0 in the upstream view; use the client view")
    threshold = _parse_threshold(kind, match.group("threshold"), op)
    prefix = "" if view is View.CLIENT else f"{view.value}."
    normal = f"{prefix}{metric} {op} {match.group('threshold')}"
    if bound_ms is not None:
        metric = "good_rate"
    return Objective(normal, view, metric, op, threshold, kind, quantile, bound_ms)


def _parse_confidence(level: str, objective: Objective) -> float:
    """Return the confidence level of ``… @ 95%`` as a fraction in (0, 1)."""
    try:
        confidence = parse_rate(_number_or_text(level.strip()))
    except ValueError:
        confidence = -1.0
    if not 0 < confidence < 1:
        raise ValueError(
            "a confidence level lies strictly between 0% and 100%, like '@ 95%', "
            f"got {level.strip()!r}"
        )
    metric, quantile = objective.metric, objective.quantile
    if not ((quantile is not None and 0 < quantile < 100) or metric in CONFIDENCE_RATES):
        raise ValueError(
            f"{metric!r} has no confidence interval; '@ {level.strip()}' applies to a percentile "
            f"strictly between p0 and p100 or to {', '.join(sorted(CONFIDENCE_RATES))}"
        )
    if objective.op in ("==", "!="):
        raise ValueError(f"a confidence level needs <, <=, > or >=, got {objective.op!r}")
    return confidence


def _parse_view(view: str | None, text: str) -> View:
    if view is None:
        return View.CLIENT
    try:
        return View(view)
    except ValueError:
        raise ValueError(
            f"unknown view {view!r} in {text!r}; expected 'client', 'upstream' or 'issued'"
        ) from None


def _parse_metric(metric: str) -> tuple[str, Kind, float | None]:
    if metric in _METRICS:
        return metric, _METRICS[metric], None
    if _GOOD_RATE.fullmatch(metric):
        return metric, Kind.RATE, None
    match = _PERCENTILE.fullmatch(metric)
    if match is not None:
        return metric, Kind.LATENCY, float(match.group(1))
    names = ["p50", "p95", "p99", "p99.9", *_METRICS]
    close = get_close_matches(metric, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown metric {metric!r}{hint} (known: pNN such as p95 or p99.9, {', '.join(_METRICS)}"
        ", good_rate(BOUND) such as good_rate(800ms))"
    )


def _parse_ttfb(metric: str) -> tuple[str, Kind, float | None]:
    stat = metric.removeprefix(TTFB_PREFIX)
    if stat in _TTFB_STATS:
        return metric, Kind.LATENCY, None
    match = _PERCENTILE.fullmatch(stat)
    if match is not None:
        return metric, Kind.LATENCY, float(match.group(1))
    names = ["p50", "p95", "p99", *_TTFB_STATS]
    close = get_close_matches(stat, names, n=1)
    hint = f"; did you mean 'ttfb.{close[0]}'?" if close else ""
    raise ValueError(
        f"unknown metric {metric!r}{hint} (time to first byte takes pNN such as ttfb.p95, "
        "or ttfb.avg, ttfb.mean, ttfb.min, ttfb.max)"
    )


def _parse_good_rate(metric: str) -> tuple[str, Kind, float]:
    """Parse ``good_rate(800ms)``: the share of requests answered with success within 800ms."""
    match = _GOOD_RATE.fullmatch(metric)
    assert match is not None
    bound_ms = parse_duration(match.group("bound").strip()) / NS_PER_MS
    if bound_ms <= 0:
        raise ValueError(f"good_rate's bound must be above zero, got {match.group('bound')!r}")
    return "good_rate", Kind.RATE, bound_ms


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
    if kind is Kind.NUMBER:
        number = _number_or_text(text)
        if isinstance(number, str) or not number >= 0 or number == float("inf"):
            raise ValueError(f"expected a number such as 1.5, got {text!r}")
        return number
    if not text.isdigit():
        raise ValueError(f"expected a whole number, got {text!r}")
    return float(int(text))


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def format_kind_value(kind: Kind, value: float | str) -> str:
    """Return ``value`` as a person reads a value of ``kind`` (the formatter every report uses)."""
    return format_value(value, kind.value)
