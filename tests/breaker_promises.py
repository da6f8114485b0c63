"""What each breaker library promises, as a small reference model, and the invariants every
breaker under test is held to — both read from a finished run's samples and transitions.

The model is each library's documented cycle for calls that do not overlap: open after N
consecutive failures; reject until the wait is over (each library's own boundary and clock
arithmetic, reproduced exactly: datetime µs for pybreaker and aiobreaker, float seconds for
circuitbreaker and purgatory); let calls through in HALF_OPEN; re-open on a failure there and
close after S successes.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from harness import BreakerState, Outcome, Result, Transition
from harness.clock import VIRTUAL_EPOCH

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
SENT_BACK = (Outcome.SHORT_CIRCUITED, Outcome.DROPPED)


def wall_seconds(us: int) -> float:
    """Return what ``time.time()``/``time.monotonic()`` give under freezegun at virtual ``us``."""
    now = VIRTUAL_EPOCH + timedelta(microseconds=us)
    return calendar.timegm(now.timetuple()) + now.microsecond / 1e6


@dataclass(frozen=True)
class Promise:
    """A library's cycle for calls that do not overlap."""

    threshold: int  # consecutive failures that open it
    successes: int  # successes in HALF_OPEN that close it
    ready: Callable[[int, int], bool]  # (opened at ns, now ns) → may a call go through?


def promise(breaker: Any) -> Promise:
    """Return what the library named by ``breaker.impl`` promises with these settings."""
    impl = breaker.impl
    if impl == "pybreaker":
        wait_us = timedelta(seconds=breaker.reset_timeout / 1e9) // timedelta(microseconds=1)
        return Promise(breaker.fail_max, breaker.success_threshold, _at_least(wait_us))
    if impl == "aiobreaker":
        wait_us = timedelta(microseconds=breaker.timeout_duration / 1e3) // timedelta(
            microseconds=1
        )
        return Promise(breaker.fail_max, 1, _at_least(wait_us))
    if impl == "circuitbreaker":
        wait_s = breaker.recovery_timeout / 1e9
        # remain = (opened + recovery_timeout) - monotonic(); HALF_OPEN once remain <= 0.
        return Promise(
            breaker.failure_threshold,
            1,
            lambda o, n: (wall_seconds(o // 1000) + wait_s) - wall_seconds(n // 1000) <= 0,
        )
    if impl == "purgatory":
        ttl = breaker.ttl / 1e9
        # HALF_OPEN once time.time() > opened_at + ttl (strictly after).
        return Promise(
            breaker.threshold,
            1,
            lambda o, n: wall_seconds(n // 1000) > wall_seconds(o // 1000) + ttl,
        )
    raise ValueError(f"no promise known for impl {impl!r}")


def _at_least(wait_us: int) -> Callable[[int, int], bool]:
    # The library reads datetime.now(): whole microseconds.
    return lambda opened_ns, now_ns: now_ns // 1000 >= opened_ns // 1000 + wait_us


def builtin_ready(
    breaker: Any, transitions: Sequence[Transition] = ()
) -> Callable[[int, int], bool]:
    """Return the built-in breaker's readiness: the wait is over, to the nanosecond.

    With exponential backoff the n-th OPEN since the breaker last closed waits
    ``wait × multiplier^(n-1)``, at most the cap; ``transitions`` tell which OPEN is which.
    """
    waits = _backoff_waits(breaker, transitions)
    base = breaker.wait_duration_in_open_state
    return lambda opened_ns, now_ns: now_ns - opened_ns >= waits.get(opened_ns, base)


def _backoff_waits(breaker: Any, transitions: Sequence[Transition]) -> dict[int, int]:
    if not breaker.enable_exponential_backoff:
        return {}
    cap = breaker.exponential_max_wait_duration_in_open_state
    waits: dict[int, int] = {}
    consecutive = 0
    for move in transitions:
        if move.target is CLOSED:
            consecutive = 0
        elif move.target is OPEN and move.source is not OPEN:
            consecutive += 1
            wait = breaker.wait_duration_in_open_state * breaker.exponential_backoff_multiplier ** (
                consecutive - 1
            )
            waits[move.at_ns] = round(wait if cap is None else min(wait, cap))
    return waits


@dataclass
class Model:
    """The promised cycle, fed one request at a time."""

    promise: Promise
    state: BreakerState = CLOSED
    failures: int = 0
    successes: int = 0
    opened_ns: int = 0
    moves: list[Transition] = field(default_factory=list)

    def arrive(self, at_ns: int) -> bool:
        """Return whether a call arriving at ``at_ns`` is let through."""
        if self.state is OPEN:
            if not self.promise.ready(self.opened_ns, at_ns):
                return False
            self._move(at_ns, HALF_OPEN)
        return True

    def complete(self, at_ns: int, ok: bool) -> None:
        """Record how a call let through ended, at ``at_ns``."""
        if ok:
            self.failures = 0
            if self.state is HALF_OPEN:
                self.successes += 1
                if self.successes >= self.promise.successes:
                    self._move(at_ns, CLOSED)
            return
        self.failures += 1
        if self.state is HALF_OPEN or self.failures >= self.promise.threshold:
            self.opened_ns = at_ns
            self._move(at_ns, OPEN)

    def _move(self, at_ns: int, target: BreakerState) -> None:
        self.moves.append(Transition(at_ns, self.state, target))
        self.state, self.successes = target, 0


def check_promise(result: Result, upstream: str) -> None:
    """Assert the run's decisions and transitions are exactly what the library promises.

    Only for runs whose calls never overlap (each answers before the next arrives).
    """
    up = result.upstreams[upstream]
    samples = up.samples
    assert up.breaker is not None
    model = Model(promise(result.scenario.upstreams[upstream].breaker))
    starts, latencies = samples.start_ns.tolist(), samples.latency_ns.tolist()
    outcomes = [Outcome(x) for x in samples.outcome.tolist()]
    for index, (start, latency, outcome) in enumerate(
        zip(starts, latencies, outcomes, strict=True)
    ):
        admitted = model.arrive(start)
        assert admitted == (outcome is not Outcome.SHORT_CIRCUITED), (
            f"request {index} at {start} ns: promised {'admitted' if admitted else 'rejected'}, "
            f"got {outcome.label}; transitions so far {model.moves}"
        )
        if admitted:
            assert index + 1 == len(starts) or start + latency <= starts[index + 1], "overlap"
            model.complete(start + latency, outcome is Outcome.SUCCESS)
    assert list(up.breaker.transitions) == model.moves


# Invariants over any run, overlapping calls included. Each returns what broke it, or None.


def upstream_call_while_open(result: Result, upstream: str) -> str | None:
    """A request admitted while OPEN reached the upstream."""
    samples = result.upstreams[upstream].samples
    for start, state, outcome in zip(
        samples.start_ns.tolist(), samples.state.tolist(), samples.outcome.tolist(), strict=True
    ):
        if state == OPEN and outcome not in SENT_BACK:
            return f"a request admitted while OPEN at {start} ns reached the upstream"
    return None


def wait_restarted(result: Result, upstream: str, ready: Callable[[int, int], bool]) -> str | None:
    """The OPEN wait was restarted: an OPEN → OPEN move, or a rejection once the wait was over."""
    up = result.upstreams[upstream]
    assert up.breaker is not None
    moves = up.breaker.transitions
    for move in moves:
        if move.source is OPEN and move.target is OPEN:
            return f"the OPEN wait restarted at {move.at_ns} ns"
    entries = [move.at_ns for move in moves if move.target is OPEN and move.source is not OPEN]
    samples = up.samples
    for start, state, outcome in zip(
        samples.start_ns.tolist(), samples.state.tolist(), samples.outcome.tolist(), strict=True
    ):
        opened = max((t for t in entries if t <= start), default=None)
        rejected_open = outcome == Outcome.SHORT_CIRCUITED and state == OPEN
        if opened is not None and rejected_open and ready(opened, start):
            return f"rejected at {start} ns although the wait from {opened} ns was over"
    return None


def closed_without_trial_success(result: Result, upstream: str, successes: int) -> str | None:
    """The breaker closed other than from HALF_OPEN, at the answer of one of that episode's
    trial calls, after at least ``successes`` of them succeeded."""
    up = result.upstreams[upstream]
    assert up.breaker is not None
    samples = up.samples
    trials = [
        (start, start + latency, outcome == Outcome.SUCCESS)
        for start, latency, state, outcome in zip(
            samples.start_ns.tolist(),
            samples.latency_ns.tolist(),
            samples.state.tolist(),
            samples.outcome.tolist(),
            strict=True,
        )
        if state == HALF_OPEN and outcome not in SENT_BACK
    ]
    episode_start = None
    for move in up.breaker.transitions:
        if move.target is HALF_OPEN:
            episode_start = move.at_ns
        if move.target is not CLOSED:
            continue
        if move.source is not HALF_OPEN or episode_start is None:
            return f"{move.source.name} → CLOSED at {move.at_ns} ns, not from HALF_OPEN"
        mine = [
            (end, ok) for start, end, ok in trials if episode_start <= start and end <= move.at_ns
        ]
        succeeded = sum(ok for _, ok in mine)
        if succeeded < successes or all(end != move.at_ns for end, _ in mine):
            return (
                f"HALF_OPEN (from {episode_start} ns) → CLOSED at {move.at_ns} ns with "
                f"{succeeded} successful trial call(s) of its own answered by then"
            )
    return None
