"""Latency that load shedding cannot flatter, and timeouts as censored observations."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import run
from harness.events import BreakerState, Outcome
from harness.format.loader import load_scenario
from harness.format.objectives import parse_objective
from harness.report.monitor import status, write_p95_results
from harness.verdicts.metrics import SampleLog, Samples, View, view_stats
from harness.verdicts.objectives import evaluate
from tests.reporting import pair
from tests.support import SCENARIOS, examples

OUTAGES = ["vertex-outage-recovery.yaml", "pybreaker-outage.yaml", "vertex-slow-brownout.yaml"]
SHED = (Outcome.SHORT_CIRCUITED, Outcome.DROPPED, Outcome.CONNECT_ERROR)


def samples_of(rows: list[tuple[int, float, Outcome]]) -> Samples:
    log = SampleLog()
    for start_ms, latency_ms, outcome in sorted(rows, key=lambda row: row[0]):
        log.record(start_ms * 10**6, int(latency_ms * 10**6), outcome, 0, BreakerState.CLOSED)
    return log.freeze()


def views(data: Samples) -> dict[View, Any]:
    return {view: view_stats(data, view, "nearest_rank") for view in View}


@pytest.mark.parametrize("name", OUTAGES)
def test_no_p95_of_0ms_anywhere_while_the_breaker_is_open(name: str) -> None:
    result = run(load_scenario(SCENARIOS / name))
    entry, digest = pair(result)
    vertex, rolling = entry["upstreams"]["vertex"], digest["upstreams"]["vertex"]["rolling"]
    series = vertex["timeseries"]
    opened = [i for i, state in enumerate(series["state"]) if state == "OPEN"]
    assert opened, "the scenario no longer opens its breaker: pick one that does"
    assert all(series["p95_ms"][i] != 0 for i in opened)
    assert all(series["p50_ms"][i] != 0 for i in opened)
    shown = digest["upstreams"]["vertex"]["display"]["p95_ms"]
    assert 0 not in shown
    stream = io.StringIO()
    write_p95_results(stream, entry, digest)
    rows = json.loads(stream.getvalue())["upstreams"]["vertex"]["results"]
    while_open = [row for row in rows if row["state"] == "OPEN"]
    assert while_open
    assert all(row["p95_ms"] != 0 and row["consensus"] is False for row in while_open)
    assert np.isnan(rolling["columns"]["p95_ms"]).any() or all(row["samples"] for row in rows)
    assert status(entry)["circuit_breakers"]["vertex"]["p95_response_time_ms"] != 0
    answered = result.upstreams["vertex"].client.latency
    assert answered is not None
    assert answered.p50_ms > 0


@settings(max_examples=examples(deep=200, fast=50), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1000),
            st.integers(1, 3000).map(float),
            st.sampled_from([Outcome.SUCCESS, Outcome.HTTP_ERROR, Outcome.TIMEOUT]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(SHED)), min_size=1, max_size=60),
    st.sampled_from(["p50", "p95", "p99", "avg", "max", "min"]),
    st.sampled_from(["<", "<=", ">", ">="]),
    st.integers(1, 3000),
)
def test_shedding_more_never_turns_a_latency_objective_into_a_pass(
    answered: list[tuple[int, float, Outcome]],
    shed: list[tuple[int, Outcome]],
    metric: str,
    op: str,
    threshold: int,
) -> None:
    before = samples_of(answered)
    after = samples_of([*answered, *((start, 0.0, outcome) for start, outcome in shed)])
    for view in ("", "upstream."):
        objective = parse_objective(f"{view}{metric} {op} {threshold}ms")
        first = evaluate(objective, views(before), None)
        second = evaluate(objective, views(after), None)
        assert (second.observed, second.passed, second.samples) == (
            first.observed,
            first.passed,
            first.samples,
        )
    rate = parse_objective("success_rate >= 1%")
    first_rate = evaluate(rate, views(before), None).observed
    assert evaluate(rate, views(after), None).observed < first_rate or first_rate == 0


def test_the_issued_view_names_the_population_with_shed_requests_at_0ms() -> None:
    rows = [(i, 100.0, Outcome.SUCCESS) for i in range(10)]
    data = samples_of([*rows, *((100 + i, 0.0, Outcome.SHORT_CIRCUITED) for i in range(10))])
    stats = views(data)
    assert evaluate(parse_objective("p50 < 50ms"), stats, None).observed == 100.0
    flattered = evaluate(parse_objective("issued.p50 < 50ms"), stats, None)
    assert (flattered.observed, flattered.passed, flattered.samples) == (0.0, True, 20)
    assert stats[View.CLIENT].to_dict()["short_circuited"] == 10


def test_every_request_timed_out_gives_no_p50_of_0ms_but_a_lower_bound() -> None:
    rows = [(i, 0.0, Outcome.SHORT_CIRCUITED) for i in range(50)]
    rows += [(100 + i, 1000.0, Outcome.TIMEOUT) for i in range(10)]
    stats = views(samples_of(rows))
    latency = stats[View.CLIENT].latency
    assert latency is not None
    assert (latency.p50_ms, latency.samples, latency.censored) == (1000.0, 10, 10)
    assert {"p50_ms", "p99_ms", "avg_ms", "max_ms", "min_ms"} <= set(latency.lower_bound)


@pytest.mark.parametrize(
    ("objective", "passed", "decided"),
    [
        ("p99 < 20s", False, False),  # P99 ≥ 10 s: the censored tail could be anywhere above
        ("p99 < 5s", False, True),  # ≥ 10 s already breaks it
        ("p99 >= 10s", True, True),  # ≥ 10 s already meets it
        ("p99 > 15s", False, False),
        ("p50 < 20s", True, True),  # the P50 is among the answered ones: exact
        ("max <= 10s", False, False),
    ],
)
def test_an_objective_on_a_censored_percentile_is_decided_only_as_far_as_censoring_allows(
    objective: str, passed: bool, decided: bool
) -> None:
    rows = [(i, 100.0 + i, Outcome.SUCCESS) for i in range(95)]
    rows += [(200 + i, 10_000.0, Outcome.TIMEOUT) for i in range(5)]
    verdict = evaluate(parse_objective(objective), views(samples_of(rows)), None)
    assert verdict.passed is passed
    assert (verdict.note is None or "censored" not in verdict.note) is decided
    if verdict.lower_bound:
        assert verdict.observed_text.startswith("≥ ")
