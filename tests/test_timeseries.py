from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.events import BreakerState, Outcome
from harness.verdicts.metrics import SampleLog
from harness.verdicts.timeseries import slice_percentiles, timeseries
from tests.support import nearest_rank

latencies = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3)),
    min_size=1,
    max_size=300,
)
quantiles = st.floats(min_value=0, max_value=100, allow_nan=False)


def log_of(rows: list[tuple[int, int, Outcome]]) -> SampleLog:
    log = SampleLog()
    for start_ms, latency_ms, outcome in rows:
        log.record(start_ms * 1_000_000, latency_ms * 1_000_000, outcome, 200, BreakerState.CLOSED)
    return log


@given(latencies, st.lists(quantiles, min_size=1, max_size=4))
def test_slice_percentiles_equal_numpy(values: list[float], qs: list[float]) -> None:
    array = np.array(values)
    expected = [nearest_rank(values, q) for q in qs]
    assert slice_percentiles(array, qs, "nearest_rank") == expected
    linear = np.percentile(array, qs, method="linear").tolist()
    assert slice_percentiles(array, qs, "linear") == linear


@given(
    st.lists(st.tuples(st.integers(0, 30_000), st.integers(0, 10_000)), min_size=1, max_size=200),
    st.sampled_from(["nearest_rank", "linear"]),
)
def test_timeseries_percentiles_equal_numpy_per_bucket(
    pairs: list[tuple[int, int]], method: str
) -> None:
    log = SampleLog()
    for start_ms, latency_us in sorted(pairs):
        log.record(start_ms * 1_000_000, latency_us * 1_000, Outcome.SUCCESS, 200, 0)
    samples = log.freeze()
    series = timeseries(samples, None, 30_001 * 1_000_000, method)  # type: ignore[arg-type]
    latency_ms = samples.latency_ns / 1e6
    for index, t_ms in enumerate(series.t_ms):
        window = latency_ms[
            (samples.start_ns >= t_ms * 1e6) & (samples.start_ns < (t_ms + 5000) * 1e6)
        ]
        assert series.requests[index] == window.size
        if window.size:
            for q, column in ((95, series.p95_ms), (50, series.p50_ms)):
                expected = (
                    nearest_rank(window, q)
                    if method == "nearest_rank"
                    else np.percentile(window, q, method="linear")
                )
                assert column[index] == expected
        else:
            assert series.p95_ms[index] is None


def test_timeseries_buckets_by_start_time() -> None:
    rows = [(s * 1000, 10 + s, Outcome.SUCCESS if s % 3 else Outcome.HTTP_ERROR) for s in range(12)]
    samples = log_of(rows).freeze()
    series = timeseries(samples, None, 12_000_000_000, "nearest_rank")
    assert series.t_ms == [0.0, 5000.0, 10000.0]
    assert series.requests == [5, 5, 2]
    assert series.successes == [3, 3, 2]
    assert series.p95_ms == [14.0, 19.0, 21.0]
    assert series.state == ["NONE"] * 3


@given(st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 12_000)), max_size=100))
def test_in_flight_counts_requests_under_way_at_each_bucket_edge(
    pairs: list[tuple[int, int]],
) -> None:
    log = SampleLog()
    for start_ms, latency_ms in sorted(pairs):
        log.record(start_ms * 1_000_000, latency_ms * 1_000_000, Outcome.SUCCESS, 200, 0)
    samples = log.freeze()
    series = timeseries(samples, None, 20_001 * 1_000_000, "nearest_rank")
    for index, t_ms in enumerate(series.t_ms):
        edge = t_ms + 5000
        expected = sum(1 for s, lat in pairs if s <= edge < s + lat)
        assert series.in_flight[index] == expected
