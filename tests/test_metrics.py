from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.events import BreakerState, Outcome, Transition
from harness.verdicts.metrics import SampleLog, View, breaker_summary, percentile, view_stats

latencies = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3)),
    min_size=1,
    max_size=300,
)
quantiles = st.floats(min_value=0, max_value=100, allow_nan=False)


def nearest_rank(values: list[float], q: float) -> float:
    """The textbook definition, in exact arithmetic: the ceil(q/100 * n)-th smallest value, q
    read as the decimal it is written as (99.9 is 999/10)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(Fraction(repr(q)) / 100 * len(ordered)))
    return ordered[rank - 1]


@given(latencies, quantiles)
def test_linear_percentiles_equal_numpy(values: list[float], q: float) -> None:
    array = np.array(sorted(values))
    assert percentile(array, q, "linear") == np.percentile(array, q, method="linear")


@given(latencies, st.sampled_from([50, 90, 95, 99, 99.9]))
def test_nearest_rank_is_the_textbook_definition_at_common_quantiles(
    values: list[float], q: float
) -> None:
    assert percentile(np.array(sorted(values)), q, "nearest_rank") == nearest_rank(values, q)


@given(latencies, quantiles)
def test_nearest_rank_is_an_observed_value_and_at_most_the_max(
    values: list[float], q: float
) -> None:
    result = percentile(np.array(sorted(values)), q, "nearest_rank")
    assert result in values
    assert min(values) <= result <= max(values)


@given(latencies, quantiles, quantiles)
def test_percentiles_are_monotone_in_q(values: list[float], q1: float, q2: float) -> None:
    low, high = sorted((q1, q2))
    array = np.array(sorted(values))
    for method in ("nearest_rank", "linear"):
        assert percentile(array, low, method) <= percentile(array, high, method)  # type: ignore[arg-type]


def log_of(rows: list[tuple[int, int, Outcome]]) -> SampleLog:
    log = SampleLog()
    for start_ms, latency_ms, outcome in rows:
        log.record(start_ms * 1_000_000, latency_ms * 1_000_000, outcome, 200, BreakerState.CLOSED)
    return log


def test_samples_are_ordered_by_start_whatever_the_completion_order() -> None:
    samples = log_of(
        [(5, 1, Outcome.SUCCESS), (0, 10, Outcome.SUCCESS), (3, 1, Outcome.SUCCESS)]
    ).freeze()
    assert samples.start_ns.tolist() == [0, 3_000_000, 5_000_000]
    assert samples.latency_ns.tolist() == [10_000_000, 1_000_000, 1_000_000]


def test_rows_taken_at_the_start_are_filled_at_the_end_without_copying() -> None:
    log = SampleLog()
    first, second = log.open(0), log.open(5)
    log.close(second, 1, Outcome.SUCCESS, 200, BreakerState.CLOSED)
    with pytest.raises(ValueError, match="never finished"):
        log.freeze()
    log.close(first, 9, Outcome.TIMEOUT, 0, BreakerState.CLOSED)
    samples = log.freeze()
    assert samples.latency_ns.tolist() == [9, 1]
    assert samples.outcome.tolist() == [Outcome.TIMEOUT, Outcome.SUCCESS]
    assert np.shares_memory(samples.start_ns, np.frombuffer(log.start_ns, dtype=np.int64))


def test_view_stats() -> None:
    samples = log_of(
        [
            (0, 10, Outcome.SUCCESS),
            (1, 20, Outcome.HTTP_ERROR),
            (2, 0, Outcome.SHORT_CIRCUITED),
            (3, 0, Outcome.DROPPED),
            (4, 30, Outcome.TIMEOUT),
        ]
    ).freeze()
    client = view_stats(samples, View.CLIENT, "nearest_rank")
    upstream = view_stats(samples, View.UPSTREAM, "nearest_rank")
    assert (client.requests, client.successes, client.short_circuited) == (5, 1, 1)
    assert (upstream.requests, upstream.successes) == (3, 1)
    assert client.success_rate == pytest.approx(0.2)
    assert upstream.latency is not None
    assert (upstream.latency.min_ms, upstream.latency.max_ms, upstream.latency.avg_ms) == (
        10,
        30,
        20,
    )
    assert samples.outcome_counts()["dropped"] == 1


def test_memory_is_twenty_bytes_per_sample() -> None:
    log = log_of([(i, 1, Outcome.SUCCESS) for i in range(1000)])
    size = sum(
        column.itemsize * len(column)
        for column in (log.start_ns, log.latency_ns, log.outcome, log.status, log.state)
    )
    assert size == 20 * 1000


def test_breaker_summary_accounts_for_all_time() -> None:
    moves = (
        Transition(10, BreakerState.CLOSED, BreakerState.OPEN),
        Transition(40, BreakerState.OPEN, BreakerState.HALF_OPEN),
        Transition(45, BreakerState.HALF_OPEN, BreakerState.OPEN),
        Transition(75, BreakerState.OPEN, BreakerState.HALF_OPEN),
        Transition(80, BreakerState.HALF_OPEN, BreakerState.CLOSED),
    )
    summary = breaker_summary("builtin", BreakerState.CLOSED, moves, 100)
    assert summary.opens == 2
    assert summary.time_open_ns == 60
    assert sum(summary.time_in_state_ns.values()) == 100
    assert summary.final_state is BreakerState.CLOSED
