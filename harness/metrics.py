"""Record every request in columns, then compute exact statistics over chosen populations.

Populations ("views") are explicit:

- ``client``: every request the traffic issued, as the calling code saw it. Success means a
  2xx/3xx response; a short-circuited or dropped request is a failure with the (near-zero)
  latency the caller observed.
- ``upstream``: only the requests that reached the upstream (not short-circuited, not dropped).
  Success means the upstream answered 2xx/3xx in time; latency is what that exchange took.

Percentiles are exact over the recorded samples and equal ``numpy.percentile`` with
``method="inverted_cdf"`` (nearest rank, the default) or ``method="linear"``.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from harness.events import BreakerState, Outcome, Transition

__all__ = [
    "LatencyStats",
    "PercentileMethod",
    "SampleLog",
    "Samples",
    "TimeSeries",
    "View",
    "ViewStats",
    "bucket_percentiles",
    "percentile",
    "timeseries",
    "view_stats",
]

PercentileMethod = Literal["nearest_rank", "linear"]
BUCKET_NS = 5_000_000_000
"""Width of one time-series bucket: 5 s of virtual time, as the original monitor sampled."""
NUMPY_METHOD: dict[str, Literal["inverted_cdf", "linear"]] = {
    "nearest_rank": "inverted_cdf",
    "linear": "linear",
}
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class View(StrEnum):
    """Which requests a statistic counts (see the module docstring)."""

    CLIENT = "client"
    UPSTREAM = "upstream"


class SampleLog:
    """Append-only columns of one upstream's requests: 20 bytes per request, no objects."""

    __slots__ = ("latency_ns", "outcome", "start_ns", "state", "status", "transitions")

    def __init__(self) -> None:
        self.start_ns = array("q")
        self.latency_ns = array("q")
        self.outcome = array("b")
        self.status = array("h")
        self.state = array("b")
        self.transitions: list[Transition] = []

    def __len__(self) -> int:
        return len(self.start_ns)

    def record(self, start_ns: int, latency_ns: int, outcome: int, status: int, state: int) -> None:
        """Append one finished request."""
        self.start_ns.append(start_ns)
        self.latency_ns.append(latency_ns)
        self.outcome.append(outcome)
        self.status.append(status)
        self.state.append(state)

    def transition(self, at_ns: int, source: BreakerState, target: BreakerState) -> None:
        """Append one breaker state transition."""
        self.transitions.append(Transition(at_ns, source, target))

    def freeze(self) -> Samples:
        """Return the samples as numpy arrays, ordered by start time then completion."""
        start = np.frombuffer(self.start_ns, dtype=np.int64).copy()
        latency = np.frombuffer(self.latency_ns, dtype=np.int64).copy()
        # Requests are recorded when they finish; order them by start for every consumer.
        order = np.lexsort((latency, start))
        return Samples(
            start_ns=start[order],
            latency_ns=latency[order],
            outcome=np.frombuffer(self.outcome, dtype=np.int8)[order],
            status=np.frombuffer(self.status, dtype=np.int16)[order],
            state=np.frombuffer(self.state, dtype=np.int8)[order],
            transitions=tuple(self.transitions),
        )


@dataclass(frozen=True, eq=False)
class Samples:
    """One upstream's recorded requests as columns, ordered by start time."""

    start_ns: IntArray
    latency_ns: IntArray
    outcome: npt.NDArray[np.int8]
    status: npt.NDArray[np.int16]
    state: npt.NDArray[np.int8]
    transitions: tuple[Transition, ...] = ()

    def __len__(self) -> int:
        return int(self.start_ns.size)

    def mask(self, view: View) -> npt.NDArray[np.bool_]:
        """Return which samples belong to ``view``."""
        if view is View.CLIENT:
            return np.ones(self.outcome.shape, dtype=bool)
        unsent = (self.outcome == Outcome.SHORT_CIRCUITED) | (self.outcome == Outcome.DROPPED)
        reached: npt.NDArray[np.bool_] = ~unsent
        return reached

    def outcome_counts(self) -> dict[str, int]:
        """Return how many requests ended in each outcome, every outcome listed."""
        counts = np.bincount(self.outcome.astype(np.int64), minlength=len(Outcome))
        return {outcome.label: int(counts[outcome]) for outcome in Outcome}


@dataclass(frozen=True)
class LatencyStats:
    """Latency of one population, in milliseconds."""

    samples: int
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    avg_ms: float
    min_ms: float
    max_ms: float

    def to_dict(self) -> dict[str, float | int]:
        """Return the JSON form."""
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class ViewStats:
    """Counts, success rate and latency of one population of requests."""

    view: View
    requests: int
    successes: int
    short_circuited: int
    latency: LatencyStats | None
    method: PercentileMethod
    sorted_latency_ms: FloatArray = field(repr=False)

    @property
    def success_rate(self) -> float | None:
        """Return successes / requests, or None over zero requests."""
        return self.successes / self.requests if self.requests else None

    @property
    def error_rate(self) -> float | None:
        """Return 1 - success rate, or None over zero requests."""
        return (self.requests - self.successes) / self.requests if self.requests else None

    @property
    def short_circuit_rate(self) -> float | None:
        """Return the share of requests the breaker rejected, or None over zero requests."""
        return self.short_circuited / self.requests if self.requests else None

    def percentile_ms(self, q: float) -> float | None:
        """Return the ``q``-th percentile latency (0 ≤ q ≤ 100), or None over zero samples."""
        if not self.sorted_latency_ms.size:
            return None
        return percentile(self.sorted_latency_ms, q, self.method)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: rates as 0–1 numbers (null over zero requests), times in ms."""
        return {
            "requests": self.requests,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "error_rate": self.error_rate,
            "latency_ms": None if self.latency is None else self.latency.to_dict(),
        }


def percentile(values: FloatArray, q: float, method: PercentileMethod) -> float:
    """Return the exact ``q``-th percentile of ``values``, as numpy computes it."""
    return float(np.percentile(values, q, method=NUMPY_METHOD[method]))


def view_stats(samples: Samples, view: View, method: PercentileMethod) -> ViewStats:
    """Return the statistics of ``samples`` restricted to ``view``."""
    mask = samples.mask(view)
    outcomes = samples.outcome[mask]
    latency_ns = samples.latency_ns[mask]
    latency_ms = np.sort(latency_ns / 1e6)
    return ViewStats(
        view=view,
        requests=int(outcomes.size),
        successes=int(np.count_nonzero(outcomes == Outcome.SUCCESS)),
        short_circuited=int(np.count_nonzero(outcomes == Outcome.SHORT_CIRCUITED)),
        latency=_latency_stats(latency_ns, latency_ms, method),
        method=method,
        sorted_latency_ms=latency_ms,
    )


def _latency_stats(
    latency_ns: IntArray, sorted_ms: FloatArray, method: PercentileMethod
) -> LatencyStats | None:
    if not sorted_ms.size:
        return None
    p50, p90, p95, p99 = np.percentile(sorted_ms, [50, 90, 95, 99], method=NUMPY_METHOD[method])
    # An exact integer sum keeps the average identical on every machine.
    total_ns = int(latency_ns.sum(dtype=np.int64))
    return LatencyStats(
        samples=int(sorted_ms.size),
        p50_ms=float(p50),
        p90_ms=float(p90),
        p95_ms=float(p95),
        p99_ms=float(p99),
        avg_ms=total_ns / sorted_ms.size / 1e6,
        min_ms=float(sorted_ms[0]),
        max_ms=float(sorted_ms[-1]),
    )


def bucket_percentiles(
    values: FloatArray,
    buckets: IntArray,
    n_buckets: int,
    q: float,
    method: PercentileMethod,
) -> FloatArray:
    """Return the ``q``-th percentile of ``values`` within each bucket (NaN where empty).

    Vectorised over buckets, and equal to calling ``numpy.percentile`` on each bucket: the
    index arithmetic below is numpy's own, in the same floating-point steps.
    """
    order = np.lexsort((values, buckets))
    ordered = values[order]
    counts = np.bincount(buckets, minlength=n_buckets)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    result = np.full(n_buckets, np.nan)
    filled = counts > 0
    n = counts[filled].astype(np.float64)
    base = offsets[filled]
    fraction = np.true_divide(q, 100)
    if method == "nearest_rank":
        index = n * fraction - 1
        previous = np.floor(index)
        chosen = np.where(index - previous == 0, previous, previous + 1).astype(np.int64)
        chosen[chosen < 0] = 0
        result[filled] = ordered[base + chosen]
        return result
    virtual = (n - 1) * fraction
    previous_index = np.floor(virtual)
    next_index = np.minimum(previous_index + 1, n - 1)
    gamma = virtual - previous_index
    below = ordered[base + previous_index.astype(np.int64)]
    above = ordered[base + next_index.astype(np.int64)]
    diff = above - below
    lerp = below + diff * gamma
    lerp = np.where(gamma >= 0.5, above - diff * (1 - gamma), lerp)
    result[filled] = lerp
    return result


@dataclass(frozen=True)
class BreakerSummary:
    """What one upstream's breaker did over the run."""

    impl: str | None
    final_state: BreakerState
    transitions: tuple[Transition, ...]
    time_in_state_ns: dict[BreakerState, int]

    @property
    def opens(self) -> int:
        """Return how many times the breaker entered OPEN."""
        return sum(1 for move in self.transitions if move.target is BreakerState.OPEN)

    @property
    def time_open_ns(self) -> int:
        """Return the total virtual time spent OPEN."""
        return self.time_in_state_ns.get(BreakerState.OPEN, 0)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            "impl": self.impl,
            "final_state": self.final_state.name,
            "opens": self.opens,
            "time_in_state_ms": {
                state.name: ns / 1e6 for state, ns in sorted(self.time_in_state_ns.items())
            },
            "transitions": [move.to_dict() for move in self.transitions],
        }


def breaker_summary(
    impl: str | None, initial: BreakerState, transitions: tuple[Transition, ...], end_ns: int
) -> BreakerSummary:
    """Summarise a breaker's transitions over a run that ended at ``end_ns``."""
    time_in_state: dict[BreakerState, int] = {}
    state, since = initial, 0
    for move in transitions:
        time_in_state[state] = time_in_state.get(state, 0) + move.at_ns - since
        state, since = move.target, move.at_ns
    time_in_state[state] = time_in_state.get(state, 0) + max(0, end_ns - since)
    return BreakerSummary(impl, state, transitions, time_in_state)


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

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: one list per column."""
        return dict(self.__dict__)


def timeseries(
    samples: Samples,
    breaker: BreakerSummary | None,
    end_ns: int,
    method: PercentileMethod,
    bucket_ns: int = BUCKET_NS,
) -> TimeSeries:
    """Return per-bucket client-view statistics over ``[0, end_ns)``."""
    n_buckets = max(1, -(-end_ns // bucket_ns))
    bucket = np.minimum(samples.start_ns // bucket_ns, n_buckets - 1)
    latency_ms = samples.latency_ns / 1e6
    success = samples.outcome == 0
    requests = np.bincount(bucket, minlength=n_buckets)
    successes = np.bincount(bucket, weights=success, minlength=n_buckets).astype(np.int64)
    total_ns = np.bincount(bucket, weights=samples.latency_ns, minlength=n_buckets)
    p50 = bucket_percentiles(latency_ms, bucket, n_buckets, 50, method)
    p95 = bucket_percentiles(latency_ms, bucket, n_buckets, 95, method)
    edges = (np.arange(n_buckets, dtype=np.int64) + 1) * bucket_ns
    ends = np.sort(samples.start_ns + samples.latency_ns)
    in_flight = np.searchsorted(samples.start_ns, edges, side="left") - np.searchsorted(
        ends, edges, side="left"
    )
    return TimeSeries(
        bucket_ms=bucket_ns / 1e6,
        t_ms=[i * bucket_ns / 1e6 for i in range(n_buckets)],
        requests=[int(x) for x in requests],
        successes=[int(x) for x in successes],
        success_rate=[
            None if n == 0 else int(s) / int(n) for s, n in zip(successes, requests, strict=True)
        ],
        p50_ms=_nullable(p50),
        p95_ms=_nullable(p95),
        avg_ms=[
            None if n == 0 else float(t) / int(n) / 1e6
            for t, n in zip(total_ns, requests, strict=True)
        ],
        in_flight=[int(x) for x in in_flight],
        state=_states_at(breaker, edges),
    )


def _nullable(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [None if np.isnan(x) else float(x) for x in values]


def _states_at(breaker: BreakerSummary | None, edges: np.ndarray[Any, Any]) -> list[str]:
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
