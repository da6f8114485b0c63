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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from harness.events import BreakerState, Outcome, Transition
from harness.format.objectives import View

__all__ = [
    "LatencyStats",
    "PercentileMethod",
    "SampleLog",
    "Samples",
    "View",
    "ViewStats",
    "percentile",
    "view_stats",
]

PercentileMethod = Literal["nearest_rank", "linear"]
_UNFINISHED = -1  # the outcome of a row whose request has not ended
NUMPY_METHOD: dict[str, Literal["inverted_cdf", "linear"]] = {
    "nearest_rank": "inverted_cdf",
    "linear": "linear",
}
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
        return {
            outcome.label: int(counts[outcome])
            for outcome in Outcome
            if counts[outcome] or not outcome.from_service  # listed where entry points ran
        }


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
        """Return how many times the breaker entered OPEN from another state.

        A wait restarted while OPEN (recorded as OPEN → OPEN by some libraries) is not a new
        opening.
        """
        return sum(
            1
            for move in self.transitions
            if move.target is BreakerState.OPEN and move.source is not BreakerState.OPEN
        )

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
