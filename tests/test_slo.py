from __future__ import annotations

import numpy as np
import pytest

from harness.events import BreakerState, Outcome, Transition
from harness.format.objectives import Kind, parse_objective
from harness.verdicts.metrics import Samples, View, breaker_summary, view_stats
from harness.verdicts.objectives import evaluate


def samples(latencies_ms: list[float], outcomes: list[Outcome] | None = None) -> Samples:
    n = len(latencies_ms)
    outcomes = outcomes or [Outcome.SUCCESS] * n
    return Samples(
        start_ns=np.arange(n, dtype=np.int64) * 1_000_000,
        latency_ns=np.array([round(ms * 1e6) for ms in latencies_ms], dtype=np.int64),
        outcome=np.array(outcomes, dtype=np.int8),
        status=np.full(n, 200, dtype=np.int16),
        state=np.zeros(n, dtype=np.int8),
    )


def views(data: Samples) -> dict[View, object]:
    return {view: view_stats(data, view, "nearest_rank") for view in View}


@pytest.mark.parametrize(
    ("text", "view", "metric", "op", "threshold", "kind"),
    [
        ("p95 < 500ms", View.CLIENT, "p95", "<", 500.0, Kind.LATENCY),
        ("p99.9<=1s", View.CLIENT, "p99.9", "<=", 1000.0, Kind.LATENCY),
        ("upstream.success_rate >= 65%", View.UPSTREAM, "success_rate", ">=", 0.65, Kind.RATE),
        ("client.error_rate < 0.05", View.CLIENT, "error_rate", "<", 0.05, Kind.RATE),
        ("avg < 200ms", View.CLIENT, "avg", "<", 200.0, Kind.LATENCY),
        ("final_state == closed", View.CLIENT, "final_state", "==", "CLOSED", Kind.STATE),
        ("opens <= 3", View.CLIENT, "opens", "<=", 3.0, Kind.COUNT),
        ("time_open < 2m", View.CLIENT, "time_open", "<", 120_000.0, Kind.DURATION),
        ("requests >= 600", View.CLIENT, "requests", ">=", 600.0, Kind.COUNT),
    ],
)
def test_parse(text: str, view: View, metric: str, op: str, threshold: object, kind: Kind) -> None:
    objective = parse_objective(text)
    assert (
        objective.view,
        objective.metric,
        objective.op,
        objective.threshold,
        objective.kind,
    ) == (
        view,
        metric,
        op,
        threshold,
        kind,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95x < 5ms", "did you mean 'p95'"),
        ("p95 < 5", "the unit is required"),
        ("p95 500ms", "expected an objective"),
        ("success_rate > 150%", "between 0% and 100%"),
        ("final_state < CLOSED", "compares with == or !="),
        ("final_state == SHUT", "unknown breaker state"),
        ("upstream.final_state == CLOSED", "takes no view prefix"),
        ("server.p95 < 5ms", "unknown view 'server'"),
        ("upstream.short_circuit_rate > 0%", "always 0 in the upstream view"),
        ("opens < 1.5", "whole number"),
        (42, "expected an objective"),
    ],
)
def test_parse_rejects(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_objective(text)


def test_less_than_is_strict_and_less_equal_is_not() -> None:
    stats = views(samples([100.0] * 40))
    assert not evaluate(parse_objective("p95 < 100ms"), stats, None).passed  # type: ignore[arg-type]
    assert evaluate(parse_objective("p95 <= 100ms"), stats, None).passed  # type: ignore[arg-type]
    assert not evaluate(parse_objective("success_rate > 100%"), stats, None).passed  # type: ignore[arg-type]
    assert evaluate(parse_objective("success_rate >= 100%"), stats, None).passed  # type: ignore[arg-type]


def test_an_objective_over_zero_samples_fails() -> None:
    data = samples([0.0, 0.0], [Outcome.SHORT_CIRCUITED, Outcome.SHORT_CIRCUITED])
    stats = views(data)
    for text in ("upstream.p95 < 1s", "upstream.success_rate >= 0%", "upstream.error_rate <= 100%"):
        verdict = evaluate(parse_objective(text), stats, None)  # type: ignore[arg-type]
        assert not verdict.passed
        assert verdict.observed is None
        population = "answered requests" if "p95" in text else "requests"
        assert verdict.note == f"no {population} in the upstream view"


def test_verdict_carries_observed_threshold_and_samples() -> None:
    stats = views(samples([float(i) for i in range(1, 101)]))
    verdict = evaluate(parse_objective("p95 < 90ms"), stats, None)  # type: ignore[arg-type]
    assert (verdict.observed, verdict.samples, verdict.passed) == (95.0, 100, False)
    assert verdict.to_dict() == {
        "objective": "p95 < 90ms",
        "view": "client",
        "metric": "p95",
        "op": "<",
        "threshold": 90.0,
        "observed": 95.0,
        "lower_bound": False,
        "unit": "ms",
        "samples": 100,
        "passed": False,
        "outcome": "FAIL",
        "confidence": None,
        "bounds": None,
        "note": None,
    }


def test_percentiles_over_too_few_samples_say_so() -> None:
    stats = views(samples([1.0] * 10))
    verdict = evaluate(parse_objective("p99 < 1s"), stats, None)  # type: ignore[arg-type]
    assert verdict.passed
    assert verdict.note == "only 10 samples: P99 needs at least 100 to differ from the maximum"
    unbounded = views(samples([1.0] * 100))
    verdict = evaluate(parse_objective("p99 < 1s"), unbounded, None)  # type: ignore[arg-type]
    assert verdict.note == "only 100 samples: no 95% upper bound on P99 below 299"
    enough = views(samples([1.0] * 299))
    assert evaluate(parse_objective("p99 < 1s"), enough, None).note is None  # type: ignore[arg-type]


def test_client_and_upstream_views_count_different_requests() -> None:
    outcomes = [Outcome.SUCCESS] * 6 + [Outcome.HTTP_ERROR] * 2 + [Outcome.SHORT_CIRCUITED] * 2
    stats = views(samples([10.0] * 8 + [0.0] * 2, outcomes))
    client = evaluate(parse_objective("success_rate >= 60%"), stats, None)  # type: ignore[arg-type]
    upstream = evaluate(parse_objective("upstream.success_rate >= 75%"), stats, None)  # type: ignore[arg-type]
    assert (client.observed, client.samples) == (0.6, 10)
    assert (upstream.observed, upstream.samples) == (0.75, 8)
    short = evaluate(parse_objective("short_circuit_rate == 20%"), stats, None)  # type: ignore[arg-type]
    assert short.passed


def test_breaker_objectives() -> None:
    moves = (
        Transition(10_000_000_000, BreakerState.CLOSED, BreakerState.OPEN),
        Transition(40_000_000_000, BreakerState.OPEN, BreakerState.HALF_OPEN),
        Transition(41_000_000_000, BreakerState.HALF_OPEN, BreakerState.CLOSED),
    )
    summary = breaker_summary("builtin", BreakerState.CLOSED, moves, 60_000_000_000)
    stats = views(samples([1.0]))
    assert evaluate(parse_objective("final_state == CLOSED"), stats, summary).passed  # type: ignore[arg-type]
    assert evaluate(parse_objective("opens == 1"), stats, summary).passed  # type: ignore[arg-type]
    time_open = evaluate(parse_objective("time_open <= 30s"), stats, summary)  # type: ignore[arg-type]
    assert (time_open.observed, time_open.passed) == (30_000.0, True)
    assert not evaluate(parse_objective("time_open < 30s"), stats, summary).passed  # type: ignore[arg-type]
    none = evaluate(parse_objective("final_state == CLOSED"), stats, None)  # type: ignore[arg-type]
    assert (none.passed, none.note) == (False, "this upstream has no breaker")


def test_breaker_objectives_over_zero_requests_fail() -> None:
    summary = breaker_summary("builtin", BreakerState.CLOSED, (), 60_000_000_000)
    empty = {view: view_stats(samples([]), view, "nearest_rank") for view in View}
    for text in ("final_state == CLOSED", "opens == 0", "time_open <= 0s"):
        verdict = evaluate(parse_objective(text), empty, summary)
        assert (verdict.passed, verdict.observed) == (False, None)
        assert verdict.note == "no requests: the breaker was never exercised"
