"""Time series: per-bucket statistics of the client view over virtual time (5 s buckets; runs
over a day of virtual time in wider ones, see :data:`MAX_BUCKETS`).

Requests are counted in the bucket they started in; each bucket's latency (percentiles, exact,
and average) is over that bucket's answered requests: a short-circuited, dropped or refused
request has no latency, and a bucket where every request was shed has none (a gap, never
0 ms). In-flight counts and breaker states are taken at each bucket's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.events import Outcome
from harness.verdicts.metrics import BreakerSummary, FloatArray, IntArray, Samples, answered
from harness.verdicts.percentiles import PercentileMethod, percentiles

__all__ = [
    "BUCKET_NS",
    "MAX_BUCKETS",
    "TimeSeries",
    "bucket_width",
    "slice_percentiles",
    "timeseries",
]

BUCKET_NS = 5_000_000_000
"""Width of one time-series bucket: 5 s of virtual time, as the original monitor sampled."""
MAX_BUCKETS = 17_280
"""The most buckets a series has: a day of 5 s buckets. A longer run gets buckets a whole
multiple of 5 s wide, so memory and reports stay bounded whatever the virtual span."""


def bucket_width(end_ns: int, bucket_ns: int = BUCKET_NS) -> int:
    """Return the bucket width for a series over ``[0, end_ns)``: ``bucket_ns``, or the
    smallest whole multiple of it that needs at most MAX_BUCKETS buckets."""
    needed = -(-end_ns // bucket_ns)
    return bucket_ns * max(1, -(-needed // MAX_BUCKETS))


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
    latency is over that slice's answered requests.
    """
    if latency_ms is None:
        latency_ms = samples.latency_ns / 1e6
    bucket_ns = bucket_width(end_ns, bucket_ns)
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
    """Return (requests, successes, p50, p95, avg, short-circuited) of the samples in
    ``[low, high)``; latency over the answered ones only (None where the breaker or the cap
    shed every request)."""
    count = high - low
    if count == 0:
        return 0, 0, None, None, None, 0
    # Per slice, not cumulative over the run: no temporary as long as the run itself.
    outcome = samples.outcome[low:high]
    wins = int(np.count_nonzero(outcome == Outcome.SUCCESS))
    shed = int(np.count_nonzero(outcome == Outcome.SHORT_CIRCUITED))
    heard = answered(outcome)
    answers = int(np.count_nonzero(heard))
    if not answers:
        return count, wins, None, None, None, shed
    part_ns, part_ms = samples.latency_ns[low:high], latency_ms[low:high]
    if answers < count:  # else the slices themselves: no copy
        part_ns, part_ms = part_ns[heard], part_ms[heard]
    spent_ns = int(part_ns.sum(dtype=np.int64))
    p50, p95 = slice_percentiles(part_ms, (50, 95), method)
    return count, wins, p50, p95, spent_ns / answers / 1e6, shed


def slice_percentiles(
    values: FloatArray, quantiles: Sequence[float], method: PercentileMethod
) -> list[float]:
    """Return the exact ``quantiles`` of ``values`` (see :mod:`harness.verdicts.percentiles`)."""
    return percentiles(values, quantiles, method)


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
