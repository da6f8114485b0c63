"""Time series: per-bucket statistics of the client view over virtual time (5 s buckets).

Requests are counted in the bucket they started in; each bucket's percentiles are exactly
``numpy.percentile`` over that bucket's samples; in-flight counts and breaker states are taken
at each bucket's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.events import Outcome
from harness.verdicts.metrics import (
    BreakerSummary,
    FloatArray,
    IntArray,
    PercentileMethod,
    Samples,
)

__all__ = ["BUCKET_NS", "TimeSeries", "slice_percentiles", "timeseries"]

BUCKET_NS = 5_000_000_000
"""Width of one time-series bucket: 5 s of virtual time, as the original monitor sampled."""


@dataclass(frozen=True)
class TimeSeries:
    """Per-bucket statistics of the client view (requests bucketed by start time)."""

    bucket_ms: float
    t_ms: list[float]
    requests: list[int]
    successes: list[int]
    success_rate: list[float | None]
    p50_ms: list[float | None]
    p95_ms: list[float | None]
    avg_ms: list[float | None]
    in_flight: list[int]
    state: list[str]
    short_circuited: list[int]  # requests the breaker rejected (counted in requests)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: one list per column."""
        return dict(self.__dict__)


def timeseries(
    samples: Samples,
    breaker: BreakerSummary | None,
    end_ns: int,
    method: PercentileMethod,
    bucket_ns: int = BUCKET_NS,
    latency_ms: FloatArray | None = None,
) -> TimeSeries:
    """Return per-bucket client-view statistics over ``[0, end_ns)``, requests bucketed by start.

    Samples are in start order, so each bucket is one contiguous slice; each bucket's
    percentiles are ``numpy.percentile`` over that slice.
    """
    if latency_ms is None:
        latency_ms = samples.latency_ns / 1e6
    n_buckets = max(1, -(-end_ns // bucket_ns))
    edges = (np.arange(n_buckets, dtype=np.int64) + 1) * bucket_ns
    bounds = np.searchsorted(samples.start_ns, edges[:-1], side="left").tolist()
    slices = list(zip([0, *bounds], [*bounds, len(samples)], strict=True))
    rows = [_bucket(samples, latency_ms, low, high, method) for low, high in slices]
    return TimeSeries(
        bucket_ms=bucket_ns / 1e6,
        t_ms=[i * bucket_ns / 1e6 for i in range(n_buckets)],
        requests=[row[0] for row in rows],
        successes=[row[1] for row in rows],
        success_rate=[row[1] / row[0] if row[0] else None for row in rows],
        p50_ms=[row[2] for row in rows],
        p95_ms=[row[3] for row in rows],
        avg_ms=[row[4] for row in rows],
        in_flight=_in_flight(samples, edges),
        state=_states_at(breaker, edges),
        short_circuited=[row[5] for row in rows],
    )


def _bucket(
    samples: Samples, latency_ms: FloatArray, low: int, high: int, method: PercentileMethod
) -> tuple[int, int, float | None, float | None, float | None, int]:
    """Return (requests, successes, p50, p95, avg, short-circuited) of ``[low, high)``."""
    count = high - low
    if count == 0:
        return 0, 0, None, None, None, 0
    # Per slice, not cumulative over the run: no temporary as long as the run itself.
    wins = int(np.count_nonzero(samples.outcome[low:high] == Outcome.SUCCESS))
    spent_ns = int(samples.latency_ns[low:high].sum(dtype=np.int64))
    p50, p95 = slice_percentiles(latency_ms[low:high], (50, 95), method)
    shed = int(np.count_nonzero(samples.outcome[low:high] == Outcome.SHORT_CIRCUITED))
    return count, wins, p50, p95, spent_ns / count / 1e6, shed


def slice_percentiles(
    values: FloatArray, quantiles: Sequence[float], method: PercentileMethod
) -> list[float]:
    """Return ``numpy.percentile(values, quantiles, method)``, computed by one partition.

    For the many small slices of a time series, numpy's own call costs more in overhead than
    the work; this does the same index arithmetic, in the same floating-point steps (see
    numpy's ``_inverted_cdf``, ``_compute_virtual_index`` and ``_lerp``), on one partition.
    """
    n = values.size
    fractions = [np.true_divide(q, 100) for q in quantiles]
    if method == "nearest_rank":
        chosen = [_nearest_rank_index(n, fraction) for fraction in fractions]
        ordered = np.partition(values, sorted(set(chosen)))
        return [float(ordered[index]) for index in chosen]
    virtual = [(n - 1) * fraction for fraction in fractions]
    below = [int(np.floor(v)) for v in virtual]
    above = [min(index + 1, n - 1) for index in below]
    ordered = np.partition(values, sorted({*below, *above}))
    return [
        _lerp(float(ordered[low]), float(ordered[high]), v - low)
        for v, low, high in zip(virtual, below, above, strict=True)
    ]


def _nearest_rank_index(n: int, fraction: float) -> int:
    index = n * fraction - 1
    previous = float(np.floor(index))
    chosen = int(previous) if index - previous == 0 else int(previous) + 1
    return max(chosen, 0)


def _lerp(below: float, above: float, gamma: float) -> float:
    diff = above - below
    if gamma >= 0.5:
        return above - diff * (1 - gamma)
    return below + diff * gamma


def _in_flight(samples: Samples, edges: IntArray, chunk: int = 1 << 20) -> list[int]:
    """Return how many requests were under way at each edge: start <= edge < end.

    Edge k is at (k + 1) × bucket; a request counts at every edge from the first at or after
    its start to the last before its end: a difference array, linear time, built a chunk of
    samples at a time so its temporaries stay small.
    """
    n = edges.size
    bucket = int(edges[0])
    steps = np.zeros(n + 1, dtype=np.int64)
    for low in range(0, len(samples), chunk):
        start = samples.start_ns[low : low + chunk]
        end = start + samples.latency_ns[low : low + chunk]
        first = np.maximum((start + bucket - 1) // bucket - 1, 0)
        last = np.minimum((end + bucket - 1) // bucket - 2, n - 1)
        spans = first <= last
        steps += np.bincount(first[spans], minlength=n + 1)
        steps -= np.bincount(last[spans] + 1, minlength=n + 1)
    return [int(x) for x in np.cumsum(steps)[:n]]


def _states_at(breaker: BreakerSummary | None, edges: IntArray) -> list[str]:
    if breaker is None:
        return ["NONE"] * len(edges)
    states: list[str] = []
    moves = breaker.transitions
    index = 0
    state = moves[0].source.name if moves else breaker.final_state.name
    for edge in edges:
        while index < len(moves) and moves[index].at_ns < edge:
            state = moves[index].target.name
            index += 1
        states.append(state)
    return states
