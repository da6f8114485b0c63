"""The built-in breakers against a small reference model (hypothesis stateful testing).

The model below is written for obviousness, not speed: it keeps every counted call in a list
and recomputes the window from scratch with exact fractions. Random runs make calls (one
decision at a time, with overlapping calls answering in any order, or whole calls through
``with``, ``call`` and the decorator), give them every outcome and duration (fast, slow,
exactly at the slow threshold), move the clock (by steps, and to exactly a deadline minus 1 ns,
at it, and plus 1 ns) and force transitions. After every step the breaker and the model must
agree on the state, every transition with its time, every call outcome, and the window.

Two deliberately broken breakers show the machine can fail: one restarts the OPEN wait when a
late failure arrives, one grants a HALF_OPEN trial call too many.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from harness import AsyncCircuitBreaker, BreakerState, CircuitBreaker, CircuitOpenError
from harness.breakers.builtin import BreakerMetrics, CallOutcome
from harness.breakers.builtin.core import BreakerCore

S = 1_000_000_000
Q = S // 4  # the time unit of the generated runs: a quarter of a second
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
FORCED_OPEN, DISABLED = BreakerState.FORCED_OPEN, BreakerState.DISABLED
SUCCESS, ERROR, IGNORED = 0, 1, 4
RATES = [Fraction(1, 4), Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(1)]


class Boom(Exception):
    """Always recorded as a failure."""


class Other(Exception):
    """A failure unless only Boom is recorded; then a success (as in resilience4j)."""


class Ignored(Exception):
    """Ignored: counts neither way."""


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


@dataclass(frozen=True)
class Settings:
    failure: Fraction
    slow_rate: Fraction
    slow_ns: int
    window_type: str
    size: int
    minimum: int
    wait_ns: int
    multiplier: Fraction
    cap_ns: int | None
    permitted: int
    half_open_max_ns: int
    record_only_boom: bool

    def keywords(self) -> dict[str, Any]:
        """Return the breaker's keyword settings (durations in seconds, exact in binary)."""
        return {
            "failure_rate_threshold": float(self.failure),
            "slow_call_rate_threshold": float(self.slow_rate),
            "slow_call_duration_threshold": self.slow_ns / S,
            "sliding_window_type": self.window_type,
            "sliding_window_size": self.size,
            "minimum_number_of_calls": self.minimum,
            "wait_duration_in_open_state": self.wait_ns / S,
            "enable_exponential_backoff": self.multiplier != 1,
            "exponential_backoff_multiplier": float(self.multiplier),
            "exponential_max_wait_duration_in_open_state": (
                None if self.cap_ns is None else self.cap_ns / S
            ),
            "permitted_number_of_calls_in_half_open_state": self.permitted,
            "max_wait_duration_in_half_open_state": self.half_open_max_ns / S,
            "record_exceptions": (Boom,) if self.record_only_boom else (),
            "ignore_exceptions": (Ignored,),
        }


@st.composite
def breaker_settings(draw: st.DrawFn) -> Settings:
    multiplier = draw(st.sampled_from([Fraction(1), Fraction(3, 2), Fraction(2)]))
    wait_ns = draw(st.sampled_from([Q, 2 * Q, 4 * Q, 8 * Q]))
    cap = st.none() | st.sampled_from([8 * Q, 16 * Q]) if multiplier != 1 else st.none()
    return Settings(
        failure=draw(st.sampled_from(RATES)),
        slow_rate=draw(st.sampled_from(RATES)),
        slow_ns=draw(st.sampled_from([Q, 2 * Q, 4 * Q])),
        window_type=draw(st.sampled_from(["count", "time"])),
        size=draw(st.integers(1, 5)),
        minimum=draw(st.integers(1, 6)),
        wait_ns=wait_ns,
        multiplier=multiplier,
        cap_ns=draw(cap),
        permitted=draw(st.integers(1, 3)),
        half_open_max_ns=draw(st.sampled_from([0, 2 * Q, 6 * Q])),
        record_only_boom=draw(st.booleans()),
    )


@dataclass
class Model:
    """resilience4j's state machine, as plainly as it can be written."""

    settings: Settings
    state: BreakerState = CLOSED
    entered: int = 0
    attempts: int = 0
    open_until: int = 0
    permits: int = 0
    calls: list[tuple[int, int]] = field(default_factory=list)  # (end, code) counted
    calls_are_trials: bool = False  # the calls are HALF_OPEN's, not a CLOSED window's
    last_counted: int = 0
    transitions: list[tuple[int, BreakerState, BreakerState]] = field(default_factory=list)
    outcomes: list[tuple[int, CallOutcome, int]] = field(default_factory=list)

    def catch_up(self, now: int) -> None:
        limit = self.settings.half_open_max_ns
        if self.state is HALF_OPEN and limit and now >= self.entered + limit:
            self.move(OPEN, self.entered + limit)

    def move(self, target: BreakerState, at: int) -> None:
        self.transitions.append((at, self.state, target))
        self.state, self.entered = target, at
        if target is OPEN:
            self.attempts += 1
            self.open_until = at + self.wait()
        elif target is HALF_OPEN:
            self.permits = self.settings.permitted
            self.calls, self.calls_are_trials = [], True
        elif target is CLOSED:
            self.attempts = 0
            self.calls, self.calls_are_trials = [], False

    def wait(self) -> int:
        wait = round(self.settings.wait_ns * self.settings.multiplier ** (self.attempts - 1))
        cap = self.settings.cap_ns
        return wait if cap is None else min(wait, cap)

    def acquire(self, now: int) -> bool:
        self.catch_up(now)
        if self.state in (CLOSED, DISABLED):
            return True
        if self.state is OPEN and now >= self.open_until:
            self.move(HALF_OPEN, now)
        if self.state is HALF_OPEN and self.permits > 0:
            self.permits -= 1
            return True
        self.outcomes.append((now, CallOutcome.NOT_PERMITTED, 0))
        return False

    def record(self, verdict: int, start: int, now: int) -> None:
        self.catch_up(now)
        slow = verdict != IGNORED and now - start > self.settings.slow_ns
        code = verdict | 2 if slow else verdict
        self.outcomes.append((now, CallOutcome(code), now - start))
        if start < self.entered:
            return  # admitted in an earlier state
        if verdict == IGNORED:
            if self.state is HALF_OPEN:
                self.permits += 1  # the trial call's permit is given back
            return
        if self.state not in (CLOSED, HALF_OPEN):
            return
        self.calls.append((now, code))
        self.last_counted = now
        self.decide(now)

    def window(self) -> list[int]:
        """Return the codes of the calls the current window holds."""
        if self.calls_are_trials:
            return [code for _, code in self.calls]
        if self.settings.window_type == "count":
            return [code for _, code in self.calls[-self.settings.size :]]
        newest = self.last_counted // S
        return [code for end, code in self.calls if end // S > newest - self.settings.size]

    def decide(self, now: int) -> None:
        window = self.window()
        calls = len(window)
        exceeded = (
            Fraction(sum(code & 1 for code in window), calls) >= self.settings.failure
            or Fraction(sum(code >> 1 for code in window), calls) >= self.settings.slow_rate
        )
        if self.state is CLOSED:
            minimum = self.settings.minimum
            if self.settings.window_type == "count":
                minimum = min(minimum, self.settings.size)
            if calls >= minimum and exceeded:
                self.move(OPEN, now)
        elif calls >= self.settings.permitted:
            self.move(OPEN if exceeded else CLOSED, now)

    def metrics(self) -> BreakerMetrics:
        window = self.window()
        return BreakerMetrics(
            len(window), sum(code & 1 for code in window), sum(code >> 1 for code in window)
        )


ERRORS: dict[str, type[Exception] | None] = {
    "success": None,
    "boom": Boom,
    "other": Other,
    "ignored": Ignored,
}


class BreakerMachine(RuleBasedStateMachine):
    """Hold a built-in breaker to the model; subclasses swap in broken breakers."""

    sync_class: ClassVar[type[CircuitBreaker]] = CircuitBreaker
    async_class: ClassVar[type[AsyncCircuitBreaker]] = AsyncCircuitBreaker

    @initialize(config=breaker_settings(), listen=st.booleans(), asynchronous=st.booleans())
    def build(self, config: Settings, listen: bool, asynchronous: bool) -> None:
        self.clock = Clock()
        self.model = Model(config)
        self.asynchronous = asynchronous
        kind: type[CircuitBreaker | AsyncCircuitBreaker]
        kind = self.async_class if asynchronous else self.sync_class
        self.breaker = kind("model", clock=self.clock, **config.keywords())
        self.transitions: list[tuple[int, BreakerState, BreakerState]] = []
        self.breaker.add_listener(lambda *move: self.transitions.append(move))
        # A call listener makes every call take the lock; without one, fast successes take
        # the lock-free path. Both must agree with the model.
        self.outcomes: list[tuple[int, CallOutcome, int]] | None = None
        if listen:
            self.outcomes = []
            self.breaker.add_call_listener(lambda *call: self.outcomes.append(call))  # type: ignore[union-attr]
        self.in_flight: list[int] = []  # start times of calls admitted one decision at a time

    def verdict(self, error: str) -> int:
        if error == "ignored":
            return IGNORED
        if error == "success" or (error == "other" and self.model.settings.record_only_boom):
            return SUCCESS
        return ERROR

    # -- calls, one decision at a time -------------------------------------------------------

    @precondition(lambda self: len(self.in_flight) < 4)
    @rule()
    def acquire(self) -> None:
        admitted = self.breaker.try_acquire()
        assert admitted is self.model.acquire(self.clock.now)
        if admitted:
            self.in_flight.append(self.clock.now)

    @precondition(lambda self: self.in_flight)
    @rule(which=st.integers(0, 3), error=st.sampled_from(sorted(ERRORS)), explicit=st.booleans())
    def answer(self, which: int, error: str, explicit: bool) -> None:
        start = self.in_flight.pop(which % len(self.in_flight))
        duration = self.clock.now - start
        exception = ERRORS[error]
        if exception is None:
            self.breaker.on_success(duration)
        elif error == "ignored" and explicit:
            self.breaker.on_ignored(duration)
        else:
            self.breaker.on_error(duration, exception() if explicit or error != "boom" else None)
        self.model.record(self.verdict(error), start, self.clock.now)

    # -- whole calls -------------------------------------------------------------------------

    @rule(
        form=st.sampled_from(["with", "call", "decorator"]),
        error=st.sampled_from(sorted(ERRORS)),
        duration=st.sampled_from([0, 1, Q, 2 * Q, 4 * Q, 4 * Q + 1, 8 * Q]),
    )
    def whole_call(self, form: str, error: str, duration: int) -> None:
        start = self.clock.now
        admitted = self.model.acquire(start)
        exception = ERRORS[error]

        def body() -> int:
            self.clock.now += duration
            if exception is not None:
                raise exception
            return 7

        outcome = self.run_call(form, body)
        if not admitted:
            assert isinstance(outcome, CircuitOpenError)
            assert self.clock.now == start  # the call did not run
            return
        assert outcome == 7 if exception is None else isinstance(outcome, exception)
        self.model.record(self.verdict(error), start, self.clock.now)

    def run_call(self, form: str, body: Callable[[], int]) -> object:
        """Run ``body`` through the breaker in ``form``; return its result or what it raised."""
        try:
            if self.asynchronous:
                return _finish(self.async_call(form, body))
            return self.sync_call(form, body)
        except Exception as error:
            return error

    def sync_call(self, form: str, body: Callable[[], int]) -> int:
        breaker = self.breaker
        assert isinstance(breaker, CircuitBreaker)
        if form == "with":
            with breaker:
                return body()
        if form == "call":
            return breaker.call(body)
        return breaker(body)()

    async def async_call(self, form: str, body: Callable[[], int]) -> int:
        breaker = self.breaker
        assert isinstance(breaker, AsyncCircuitBreaker)

        async def coroutine() -> int:
            return body()

        if form == "with":
            async with breaker:
                return body()
        if form == "call":
            return await breaker.call(coroutine)
        return await breaker(coroutine)()

    # -- time and forced transitions ---------------------------------------------------------

    @rule(step=st.sampled_from([0, 1, Q, 2 * Q, 4 * Q, S - 1, 3 * S]))
    def advance(self, step: int) -> None:
        self.clock.now += step

    @rule(offset=st.sampled_from([-1, 0, 1]))
    def advance_to_a_deadline(self, offset: int) -> None:
        model = self.model
        deadline = None
        if model.state is OPEN:
            deadline = model.open_until
        elif model.state is HALF_OPEN and model.settings.half_open_max_ns:
            deadline = model.entered + model.settings.half_open_max_ns
        if deadline is not None and deadline + offset > self.clock.now:
            self.clock.now = deadline + offset

    @rule(state=st.sampled_from([CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED]))
    def force(self, state: BreakerState) -> None:
        getattr(self.breaker, f"transition_to_{state.name.lower()}_state")()
        self.model.catch_up(self.clock.now)
        self.model.move(state, self.clock.now)

    @rule()
    def read(self) -> None:
        now = self.clock.now
        until = self.breaker.time_until_half_open_ns()
        assert self.breaker.state is self.state_now(now)
        assert until == (max(0, self.model.open_until - now) if self.model.state is OPEN else None)

    def state_now(self, now: int) -> BreakerState:
        self.model.catch_up(now)
        return self.model.state

    # -- what must always hold ---------------------------------------------------------------

    @invariant()
    def agrees_with_the_model(self) -> None:
        model = self.model
        assert self.transitions == model.transitions
        assert self.breaker._state is model.state  # without the catch-up a read would do
        assert self.breaker.metrics() == model.metrics()
        if self.outcomes is not None:
            assert self.outcomes == model.outcomes


def _finish(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run a coroutine that never waits for anything to its end: no event loop needed."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: int = done.value
        return result
    raise AssertionError("the coroutine waited for something")


TestBuiltinBreakerAgainstTheModel = BreakerMachine.TestCase
TestBuiltinBreakerAgainstTheModel.settings = settings(
    max_examples=2_000,  # ~15 s on 2 cores; each run long enough to trip, probe and close
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# -- the machine can fail ------------------------------------------------------------------------


class RestartsTheWait(BreakerCore):
    """A classic bug: a late failure arriving while OPEN restarts the wait."""

    def _record(self, code: int, start: int, now: int) -> None:
        if self._state is OPEN and code & 1:
            self._open_until = now + self._open_wait(self._attempts)
        super()._record(code, start, now)


class OverGrants(BreakerCore):
    """A classic bug: HALF_OPEN grants one trial call more than permitted."""

    def _transition(self, target: BreakerState, at: int) -> None:
        super()._transition(target, at)
        if target is HALF_OPEN:
            self._permits += 1


class WaitRestartingMachine(BreakerMachine):
    sync_class = type("Breaker", (RestartsTheWait, CircuitBreaker), {})
    async_class = type("AsyncBreaker", (RestartsTheWait, AsyncCircuitBreaker), {})


class OverGrantingMachine(BreakerMachine):
    sync_class = type("Breaker", (OverGrants, CircuitBreaker), {})
    async_class = type("AsyncBreaker", (OverGrants, AsyncCircuitBreaker), {})


@pytest.mark.parametrize("machine", [WaitRestartingMachine, OverGrantingMachine])
def test_the_machine_catches_a_broken_breaker(machine: type[BreakerMachine]) -> None:
    budget = settings(
        max_examples=1_000,
        stateful_step_count=30,
        deadline=None,
        derandomize=True,  # the same runs every time: this test must not depend on luck
        database=None,
        phases=[Phase.generate],  # no shrinking: finding one violation is the point
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=budget)
