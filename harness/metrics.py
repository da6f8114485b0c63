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
from collections.abc import Iterable, Sequence
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
    "percentile",
    "timeseries",
    "view_stats",
]

PercentileMethod = Literal["nearest_rank", "linear"]
_UNFINISHED = -1  # the outcome of a row whose request has not ended
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
    """Columns of one upstream's requests: 20 bytes per request, no per-request objects.

    A request takes its row when it starts (:meth:`open`) and fills it when it ends
    (:meth:`close`), so rows are in start order without sorting; :meth:`record` appends a
    request that ends as it starts (dropped, short-circuited).
    """

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

    def open(self, start_ns: int) -> int:
        """Take a row for a request starting at ``start_ns``; return its index."""
        self.record(start_ns, 0, _UNFINISHED, 0, 0)
        return len(self.start_ns) - 1

    def close(self, row: int, latency_ns: int, outcome: int, status: int, state: int) -> None:
        """Fill row ``row`` with how its request ended."""
        self.latency_ns[row] = latency_ns
        self.outcome[row] = outcome
        self.status[row] = status
        self.state[row] = state

    def transition(self, at_ns: int, source: BreakerState, target: BreakerState) -> None:
        """Append one breaker state transition."""
        self.transitions.append(Transition(at_ns, source, target))

    def freeze(self) -> Samples:
        """Return the samples as numpy arrays ordered by start time; the log is then read-only.

        The arrays share the log's memory (no copy) when rows are already in start order, as
        the engines write them; the log cannot grow while they exist.
        """
        start = np.frombuffer(self.start_ns, dtype=np.int64)
        columns = (
            start,
            np.frombuffer(self.latency_ns, dtype=np.int64),
            np.frombuffer(self.outcome, dtype=np.int8),
            np.frombuffer(self.status, dtype=np.int16),
            np.frombuffer(self.state, dtype=np.int8),
        )
        if np.any(columns[2] == _UNFINISHED):
            raise ValueError("the log has requests that never finished")
        if start.size > 1 and np.any(start[1:] < start[:-1]):
            order = np.argsort(start, kind="stable")
            columns = tuple(column[order] for column in columns)  # type: ignore[assignment]
        return Samples(*columns, transitions=tuple(self.transitions))


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
    latency_ms: FloatArray = field(repr=False)  # in start order, not sorted
    known_percentiles: dict[float, float] = field(default_factory=dict, repr=False)

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
        if not self.latency_ms.size:
            return None
        if q not in self.known_percentiles:
            self.known_percentiles[q] = percentile(self.latency_ms, q, self.method)
        return self.known_percentiles[q]

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


def view_stats(
    samples: Samples,
    view: View,
    method: PercentileMethod,
    latency_ms: FloatArray | None = None,
    quantiles: Iterable[float] = (),
) -> ViewStats:
    """Return the statistics of ``samples`` restricted to ``view``.

    ``latency_ms`` (every sample's latency in ms, in start order) may be passed in to share one
    array between views and the time series. Percentiles at ``quantiles`` (0–100) are computed
    with the standard ones, in one pass.
    """
    if latency_ms is None:
        latency_ms = samples.latency_ns / 1e6
    latency_ns, outcomes = samples.latency_ns, samples.outcome
    if view is View.UPSTREAM:
        mask = samples.mask(view)
        if not mask.all():
            latency_ns, outcomes, latency_ms = latency_ns[mask], outcomes[mask], latency_ms[mask]
    wanted = sorted({50.0, 90.0, 95.0, 99.0, *map(float, quantiles)})
    known: dict[float, float] = {}
    if latency_ms.size:
        # numpy selects (partitions) rather than sorts: linear time, one pass for all q.
        values = np.percentile(latency_ms, wanted, method=NUMPY_METHOD[method])
        known = {q: float(value) for q, value in zip(wanted, values, strict=True)}
    return ViewStats(
        view=view,
        requests=int(outcomes.size),
        successes=int(np.count_nonzero(outcomes == Outcome.SUCCESS)),
        short_circuited=int(np.count_nonzero(outcomes == Outcome.SHORT_CIRCUITED)),
        latency=_latency_stats(latency_ns, latency_ms, known),
        method=method,
        latency_ms=latency_ms,
        known_percentiles=known,
    )


def _latency_stats(
    latency_ns: IntArray, latency_ms: FloatArray, known: dict[float, float]
) -> LatencyStats | None:
    if not latency_ms.size:
        return None
    # An exact integer sum keeps the average identical on every machine.
    total_ns = int(latency_ns.sum(dtype=np.int64))
    return LatencyStats(
        samples=int(latency_ms.size),
        p50_ms=known[50.0],
        p90_ms=known[90.0],
        p95_ms=known[95.0],
        p99_ms=known[99.0],
        avg_ms=total_ns / latency_ms.size / 1e6,
        min_ms=float(latency_ms.min()),
        max_ms=float(latency_ms.max()),
    )


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
    successes = np.cumsum(samples.outcome == Outcome.SUCCESS, dtype=np.int64)
    total_ns = np.cumsum(samples.latency_ns, dtype=np.int64)
    rows = [_bucket(latency_ms, successes, total_ns, low, high, method) for low, high in slices]
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
    )


def _bucket(
    latency_ms: FloatArray,
    successes: IntArray,
    total_ns: IntArray,
    low: int,
    high: int,
    method: PercentileMethod,
) -> tuple[int, int, float | None, float | None, float | None]:
    """Return (requests, successes, p50, p95, avg) of the samples in ``[low, high)``."""
    count = high - low
    if count == 0:
        return 0, 0, None, None, None
    wins = int(successes[high - 1]) - (int(successes[low - 1]) if low else 0)
    spent_ns = int(total_ns[high - 1]) - (int(total_ns[low - 1]) if low else 0)
    p50, p95 = slice_percentiles(latency_ms[low:high], (50, 95), method)
    return count, wins, p50, p95, spent_ns / count / 1e6


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


def _in_flight(samples: Samples, edges: IntArray) -> list[int]:
    """Return how many requests were under way at each edge: start <= edge < end.

    Edge k is at (k + 1) × bucket; a request counts at every edge from the first at or after
    its start to the last before its end: a difference array, linear time.
    """
    n = edges.size
    bucket = int(edges[0])
    first = np.maximum((samples.start_ns + bucket - 1) // bucket - 1, 0)
    last = np.minimum((samples.start_ns + samples.latency_ns + bucket - 1) // bucket - 2, n - 1)
    spans = first <= last
    steps = np.bincount(first[spans], minlength=n + 1) - np.bincount(
        last[spans] + 1, minlength=n + 1
    )
    return [int(x) for x in np.cumsum(steps)[:n]]


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
