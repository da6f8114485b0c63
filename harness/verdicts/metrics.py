"""Record every request in columns, then compute exact statistics over chosen populations.

Populations ("views") are explicit; rates and latency count different requests, so shedding
load can never make latency look better:

- ``client``: rates over every request the traffic issued, as the calling code saw it (success
  means a 2xx/3xx response; a short-circuited or dropped request is a failure). Latency over
  the requests that got an answer: a shed request, or one refused at connect, has none.
- ``upstream``: rates over the requests that reached the upstream (not short-circuited, not
  dropped); success means the upstream answered 2xx/3xx in time. Latency over those answered.
- ``issued``: the client's rates, and latency over every issued request, shed ones at the
  ~0 ms the caller waited (the population a latency objective used to see).

A timed-out request is a censored observation: its latency is only known to be at least the
timeout. Statistics it can move are flagged as lower bounds. Percentiles are exact (see
:mod:`harness.verdicts.percentiles`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from harness.events import BreakerState, Outcome, Transition
from harness.format.objectives import View
from harness.verdicts.confidence import samples_to_bound
from harness.verdicts.percentiles import PercentileMethod, bounded_percentiles, percentile

__all__ = [
    "NO_ANSWER",
    "NO_FIRST_BYTE",
    "LatencyStats",
    "PercentileMethod",
    "SampleLog",
    "Samples",
    "View",
    "ViewStats",
    "answered",
    "latency_mask",
    "percentile",
    "view_stats",
]

_UNFINISHED = -1  # the outcome of a row whose request has not ended
NO_FIRST_BYTE = -1
"""The time to first byte of a request whose answer sent no chunk (or did not stream)."""
_TO_BOUND_AT_95 = {q: samples_to_bound(q, 0.95) or 0 for q in (50, 90, 95, 99)}
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SampleLog:
    """Columns of one upstream's requests: 20 bytes per request, no per-request objects.

    A request takes its row when it starts (:meth:`open`) and fills it when it ends
    (:meth:`close`), so rows are in start order without sorting; :meth:`record` appends a
    request that ends as it starts (dropped, short-circuited).
    """

    __slots__ = ("latency_ns", "outcome", "start_ns", "state", "status", "transitions", "ttfb_ns")

    def __init__(self) -> None:
        self.start_ns = array("q")
        self.latency_ns = array("q")
        self.outcome = array("b")
        self.status = array("h")
        self.state = array("b")
        self.transitions: list[Transition] = []
        self.ttfb_ns: dict[int, int] = {}
        """Row → time to first byte, for the rows whose streamed answer sent a first chunk."""

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
        ttfb = None
        if self.ttfb_ns:
            ttfb = np.full(start.size, NO_FIRST_BYTE, dtype=np.int64)
            ttfb[list(self.ttfb_ns)] = list(self.ttfb_ns.values())
        if start.size > 1 and np.any(start[1:] < start[:-1]):
            order = np.argsort(start, kind="stable")
            columns = tuple(column[order] for column in columns)  # type: ignore[assignment]
            ttfb = None if ttfb is None else ttfb[order]
        return Samples(*columns, transitions=tuple(self.transitions), ttfb_ns=ttfb)


@dataclass(frozen=True, eq=False)
class Samples:
    """One upstream's recorded requests as columns, ordered by start time."""

    start_ns: IntArray
    latency_ns: IntArray
    outcome: npt.NDArray[np.int8]
    status: npt.NDArray[np.int16]
    state: npt.NDArray[np.int8]
    transitions: tuple[Transition, ...] = ()
    ttfb_ns: IntArray | None = None
    """Each request's time to first byte (NO_FIRST_BYTE where none came); None when the
    upstream streams nothing."""

    def __len__(self) -> int:
        return int(self.start_ns.size)

    def mask(self, view: View) -> npt.NDArray[np.bool_]:
        """Return which samples belong to ``view`` (the population of its rates)."""
        if view is not View.UPSTREAM:
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
    """Latency of one population, in milliseconds.

    ``censored`` samples (timeouts) are only known to be at least their recorded latency; the
    statistics named in ``lower_bound`` are computed from recorded values and are therefore
    only lower bounds of the true ones. ``unbounded`` names the percentiles that ``samples``
    cannot bound from above at 95% confidence (P95 needs 59 samples, P99 299).
    """

    samples: int
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    avg_ms: float
    min_ms: float
    max_ms: float
    censored: int = 0
    lower_bound: tuple[str, ...] = ()
    unbounded: tuple[str, ...] = ()  # percentiles too few samples bound at 95% (see below)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            **self.__dict__,
            "lower_bound": list(self.lower_bound),
            "unbounded": list(self.unbounded),
        }


@dataclass(frozen=True, eq=False)
class ViewStats:
    """Counts and rates of one population of requests, and the latency of those answered."""

    view: View
    requests: int
    successes: int
    short_circuited: int
    latency: LatencyStats | None
    method: PercentileMethod
    latency_ms: FloatArray = field(repr=False)  # the latency population, in start order
    censored: npt.NDArray[np.bool_] | None = field(default=None, repr=False)  # aligned with it
    known_percentiles: dict[float, tuple[float, bool]] = field(default_factory=dict, repr=False)
    dropped: int = 0

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

    def percentile_bound(self, q: float) -> tuple[float, bool] | None:
        """Return the ``q``-th percentile latency (0 ≤ q ≤ 100) and whether it is exact (False:
        it falls among censored samples and is only a lower bound); None over zero samples."""
        if not self.latency_ms.size:
            return None
        if q not in self.known_percentiles:
            [found] = bounded_percentiles(self.latency_ms, self.censored, [q], self.method)
            self.known_percentiles[q] = found
        return self.known_percentiles[q]

    def percentile_ms(self, q: float) -> float | None:
        """Return the ``q``-th percentile latency (a lower bound where censored), or None."""
        found = self.percentile_bound(q)
        return None if found is None else found[0]

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: rates as 0–1 numbers (null over zero requests), times in ms."""
        return {
            "requests": self.requests,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "error_rate": self.error_rate,
            "short_circuited": self.short_circuited,
            "dropped": self.dropped,
            "latency_ms": None if self.latency is None else self.latency.to_dict(),
        }


NO_ANSWER = (Outcome.SHORT_CIRCUITED, Outcome.DROPPED, Outcome.CONNECT_ERROR)
"""Outcomes of requests that got no answer, so have no latency: shed by the breaker or the
concurrency cap, or refused before any exchange (a connect error, at once)."""


def answered(outcome: npt.NDArray[np.int8]) -> npt.NDArray[np.bool_]:
    """Return which requests got an answer (from the upstream, or the code under test)."""
    # Three comparisons beat np.isin several times over on the small slices of a time series.
    mask: npt.NDArray[np.bool_] = outcome != NO_ANSWER[0]
    for other in NO_ANSWER[1:]:
        mask &= outcome != other
    return mask


def latency_mask(samples: Samples, view: View) -> npt.NDArray[np.bool_] | None:
    """Return which samples the latency statistics of ``view`` cover (None: all of them).

    Every view but ``issued`` measures latency over answered requests only: a request the
    breaker short-circuited, the traffic dropped or the upstream refused got no answer, so it
    has no latency (it counts in the rates). ``issued`` keeps them, at the ~0 ms the caller
    waited.
    """
    if view is View.ISSUED:
        return None
    mask = answered(samples.outcome)
    return None if mask.all() else mask


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
    with the standard ones, by one partition.
    """
    if latency_ms is None:
        latency_ms = samples.latency_ns / 1e6
    outcomes = samples.outcome
    if view is View.UPSTREAM:
        outcomes = outcomes[samples.mask(view)]
    latency_ns, heard = samples.latency_ns, latency_mask(samples, view)
    if heard is not None:
        latency_ns, latency_ms = latency_ns[heard], latency_ms[heard]
    censored = (samples.outcome if heard is None else samples.outcome[heard]) == Outcome.TIMEOUT
    wanted = sorted({50.0, 90.0, 95.0, 99.0, *map(float, quantiles)})
    known: dict[float, tuple[float, bool]] = {}
    if latency_ms.size:
        found = bounded_percentiles(latency_ms, censored, wanted, method)
        known = dict(zip(wanted, found, strict=True))
    return ViewStats(
        view=view,
        requests=int(outcomes.size),
        successes=int(np.count_nonzero(outcomes == Outcome.SUCCESS)),
        short_circuited=int(np.count_nonzero(outcomes == Outcome.SHORT_CIRCUITED)),
        latency=_latency_stats(latency_ns, latency_ms, censored, known),
        method=method,
        latency_ms=latency_ms,
        censored=censored,
        known_percentiles=known,
        dropped=int(np.count_nonzero(outcomes == Outcome.DROPPED)),
    )


def ttfb_stats(samples: Samples, method: PercentileMethod) -> ViewStats | None:
    """Return the statistics of the time to first byte, over the requests whose streamed answer
    sent a first chunk (as a client view whose latency is the TTFB); None when none streamed."""
    if samples.ttfb_ns is None:
        return None
    ttfb_ns = samples.ttfb_ns[samples.ttfb_ns != NO_FIRST_BYTE]
    ttfb_ms = ttfb_ns / 1e6
    censored = np.zeros(ttfb_ms.shape, dtype=bool)
    wanted = [50.0, 90.0, 95.0, 99.0]
    known: dict[float, tuple[float, bool]] = {}
    if ttfb_ms.size:
        known = dict(
            zip(wanted, bounded_percentiles(ttfb_ms, censored, wanted, method), strict=True)
        )
    return ViewStats(
        view=View.CLIENT,
        requests=int(ttfb_ms.size),
        successes=int(ttfb_ms.size),
        short_circuited=0,
        latency=_latency_stats(ttfb_ns, ttfb_ms, censored, known),
        method=method,
        latency_ms=ttfb_ms,
        censored=censored,
        known_percentiles=known,
    )


def _latency_stats(
    latency_ns: IntArray,
    latency_ms: FloatArray,
    censored: npt.NDArray[np.bool_],
    known: dict[float, tuple[float, bool]],
) -> LatencyStats | None:
    if not latency_ms.size:
        return None
    # An exact integer sum keeps the average identical on every machine.
    total_ns = int(latency_ns.sum(dtype=np.int64))
    count = int(np.count_nonzero(censored))
    low = float(latency_ms.min())
    bounds = [f"p{q:g}_ms" for q in (50.0, 90.0, 95.0, 99.0) if not known[q][1]]
    if count:
        bounds += ["avg_ms", "max_ms"]
        if not np.any((latency_ms <= low) & ~censored):
            bounds.append("min_ms")
    return LatencyStats(
        samples=int(latency_ms.size),
        p50_ms=known[50.0][0],
        p90_ms=known[90.0][0],
        p95_ms=known[95.0][0],
        p99_ms=known[99.0][0],
        avg_ms=total_ns / latency_ms.size / 1e6,
        min_ms=low,
        max_ms=float(latency_ms.max()),
        censored=count,
        lower_bound=tuple(bounds),
        unbounded=tuple(
            f"p{q}_ms" for q in (50, 90, 95, 99) if latency_ms.size < _TO_BOUND_AT_95[q]
        ),
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
