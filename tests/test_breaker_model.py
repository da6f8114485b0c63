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

import contextlib
import contextvars
import functools
from collections import Counter
from collections.abc import Callable, Coroutine, Generator
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
from harness.breakers.builtin import BreakerMetrics, CallOutcome, IllegalStateTransition, Permit
from harness.breakers.builtin.core import BreakerCore
from tests.support import examples

S = 1_000_000_000
Q = S // 4  # the time unit of the generated runs: a quarter of a second
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
FORCED_OPEN, DISABLED = BreakerState.FORCED_OPEN, BreakerState.DISABLED
METRICS_ONLY = BreakerState.METRICS_ONLY
REFUSED = {(CLOSED, HALF_OPEN), (METRICS_ONLY, OPEN), (METRICS_ONLY, HALF_OPEN)}
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
    automatic: bool = False

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
            "automatic_transition_from_open_to_half_open": self.automatic,
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
        half_open_max_ns=draw(st.sampled_from([0, 0, 2 * Q, 6 * Q])),
        record_only_boom=draw(st.booleans()),
        automatic=draw(st.booleans()),
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
    refused: int = 0  # calls not permitted since the window began
    spell: int = 0  # one more on every (re-)entry: a permit is the spell that granted it
    transitions: list[tuple[int, BreakerState, BreakerState]] = field(default_factory=list)
    forced: set[int] = field(default_factory=set)  # indices of transitions made by hand
    outcomes: list[tuple[int, CallOutcome, int]] = field(default_factory=list)

    def catch_up(self, now: int) -> None:
        """Make every timed move due by ``now``, each stamped when it fell due."""
        limit = self.settings.half_open_max_ns
        while True:
            if self.state is HALF_OPEN and limit and now >= self.entered + limit:
                self.move(OPEN, self.entered + limit)
            elif self.state is OPEN and self.settings.automatic and now >= self.open_until:
                self.move(HALF_OPEN, self.open_until)
            else:
                return

    def move(self, target: BreakerState, at: int, forced: bool = False) -> None:
        if target is not self.state:  # re-entering a state is not a transition (r4j #891)
            if forced:
                self.forced.add(len(self.transitions))
            self.transitions.append((at, self.state, target))
        self.state, self.entered = target, at
        self.spell += 1
        if target is OPEN:
            self.attempts += 1
            self.open_until = at + self.wait()
            return
        self.refused = 0
        self.calls, self.calls_are_trials = [], target is HALF_OPEN
        if target is HALF_OPEN:
            self.permits = self.settings.permitted
        elif target is CLOSED:
            self.attempts = 0

    def wait(self) -> int:
        wait = round(self.settings.wait_ns * self.settings.multiplier ** (self.attempts - 1))
        cap = self.settings.cap_ns
        return wait if cap is None else min(wait, cap)

    def acquire(self, now: int) -> int | None:
        """Return the spell that admits a call at ``now``, or None if it is rejected."""
        self.catch_up(now)
        if self.state in (CLOSED, DISABLED, METRICS_ONLY):
            return self.spell
        if self.state is OPEN and now >= self.open_until:
            self.move(HALF_OPEN, now)
        if self.state is HALF_OPEN and self.permits > 0:
            self.permits -= 1
            return self.spell
        self.outcomes.append((now, CallOutcome.NOT_PERMITTED, 0))
        self.refused += 1
        return None

    def record(self, verdict: int, spell: int | None, start: int, now: int) -> None:
        """Record a call admitted in ``spell`` (None: not known) that ran from start to now."""
        self.catch_up(now)
        slow = verdict != IGNORED and now - start > self.settings.slow_ns
        code = verdict | 2 if slow else verdict
        self.outcomes.append((now, CallOutcome(code), now - start))
        if spell is not None and spell != self.spell:
            return  # admitted in an earlier spell
        if verdict == IGNORED:
            taken = self.settings.permitted - self.permits
            if self.state is HALF_OPEN and taken > len(self.calls):
                self.permits += 1  # a trial call's permit is given back
            return
        if self.state not in (CLOSED, HALF_OPEN, METRICS_ONLY):
            return
        self.calls.append((now, code))
        self.decide(now)

    def window(self, now: int) -> list[int]:
        """Return the codes of the calls the current window holds at ``now``."""
        if self.calls_are_trials:
            return [code for _, code in self.calls]
        if self.settings.window_type == "count":
            return [code for _, code in self.calls[-self.settings.size :]]
        newest = now // S
        return [code for end, code in self.calls if end // S > newest - self.settings.size]

    def decide(self, now: int) -> None:
        if self.state is METRICS_ONLY:
            return
        window = self.window(now)
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

    def metrics(self, now: int) -> BreakerMetrics:
        self.catch_up(now)
        window = self.window(now)
        return BreakerMetrics(
            len(window),
            sum(code & 1 for code in window),
            sum(code >> 1 for code in window),
            sum(code == 3 for code in window),
            self.refused,
        )

    def organic_cycles(self) -> int:
        """Return how many times the breaker went from CLOSED through OPEN and HALF_OPEN
        (reopening any number of times) back to CLOSED, with no forced move on the way."""
        cycles, tripped = 0, False
        for index, (_, source, target) in enumerate(self.transitions):
            if index in self.forced:
                tripped = False
            elif source is CLOSED and target is OPEN:
                tripped = True
            elif source is HALF_OPEN and target is CLOSED:
                cycles += tripped
                tripped = False
        return cycles


ERRORS: dict[str, type[Exception] | None] = {
    "success": None,
    "boom": Boom,
    "other": Other,
    "ignored": Ignored,
}


# Successes are drawn as often as all the rest, so trial calls pass often enough to close.
ANSWERS = st.sampled_from(["success", "success", "success", "boom", "other", "ignored"])


class BreakerMachine(RuleBasedStateMachine):
    """Hold a built-in breaker to the model; subclasses swap in broken breakers."""

    sync_class: ClassVar[type[CircuitBreaker]] = CircuitBreaker
    async_class: ClassVar[type[AsyncCircuitBreaker]] = AsyncCircuitBreaker

    @initialize(
        config=breaker_settings(),
        listen=st.booleans(),
        asynchronous=st.booleans(),
        forcing=st.sampled_from([False, False, True]),
    )
    def build(self, config: Settings, listen: bool, asynchronous: bool, forcing: bool) -> None:
        # Two runs in three force no state, so the breaker trips, probes and closes on its own.
        self.forcing = forcing
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
        # Calls admitted one decision at a time: (start, spell, permit); and async calls
        # suspended mid-call: (start, spell, coroutine, error).
        self.in_flight: list[tuple[int, int, Permit]] = []
        self.suspended: list[tuple[int, int, Callable[[None], object], str]] = []

    def teardown(self) -> None:
        for _, _, resume, _ in self.suspended:  # end the calls left waiting, in their context
            with contextlib.suppress(Exception):
                resume(None)
        CYCLES["examples"] += 1
        CYCLES["with an organic cycle"] += self.model.organic_cycles() > 0

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
        permit = self.breaker.try_acquire_permission()
        spell = self.model.acquire(self.clock.now)
        assert (permit is not None) is (spell is not None)
        if permit is not None and spell is not None:
            self.in_flight.append((self.clock.now, spell, permit))

    @precondition(lambda self: self.in_flight)
    @rule(
        which=st.integers(0, 3),
        error=ANSWERS,
        explicit=st.booleans(),
        with_permit=st.booleans(),
        skew=st.sampled_from([0, 0, 1, Q, 3 * S, -1]),
    )
    def answer(self, which: int, error: str, explicit: bool, with_permit: bool, skew: int) -> None:
        """Answer a call, maybe without its permit, with a duration that may not match the
        clock (measured elsewhere, or reaching back before the call was admitted)."""
        start, spell, permit = self.in_flight.pop(which % len(self.in_flight))
        duration = max(0, self.clock.now - start + skew)
        exception = ERRORS[error]
        given = permit if with_permit else None
        if exception is None:
            self.breaker.on_success(duration, permit=given)
        elif error == "ignored" and explicit:
            self.breaker.on_ignored(duration, permit=given)
        else:
            raised = exception() if explicit or error != "boom" else None
            self.breaker.on_error(duration, raised, permit=given)
        now = self.clock.now
        self.model.record(self.verdict(error), spell if with_permit else None, now - duration, now)

    # -- async calls suspended mid-call, resumed in any order ---------------------------------

    @precondition(lambda self: self.asynchronous and len(self.suspended) < 4)
    @rule(form=st.sampled_from(["with", "call", "decorator"]), error=ANSWERS)
    def start_async_call(self, form: str, error: str) -> None:
        breaker = self.breaker
        assert isinstance(breaker, AsyncCircuitBreaker)
        exception = ERRORS[error]

        async def body() -> int:
            await Gate()
            if exception is not None:
                raise exception
            return 7

        async def run() -> int:
            if form == "with":
                async with breaker:
                    return await body()
            if form == "call":
                return await breaker.call(body)
            return await breaker(body)()

        # Each call runs in its own context, as each asyncio task does: an ``async with``
        # block keeps its start in a context variable.
        start, coroutine, context = self.clock.now, run(), contextvars.copy_context()
        spell = self.model.acquire(start)
        try:
            context.run(coroutine.send, None)
        except CircuitOpenError:
            assert spell is None
            return
        assert spell is not None
        self.suspended.append((start, spell, functools.partial(context.run, coroutine.send), error))

    @precondition(lambda self: self.suspended)
    @rule(which=st.integers(0, 3))
    def resume_async_call(self, which: int) -> None:
        start, spell, resume, error = self.suspended.pop(which % len(self.suspended))
        outcome: object = None
        try:
            resume(None)
        except StopIteration as done:
            outcome = done.value
        except Exception as raised:
            outcome = raised
        expected = ERRORS[error]
        assert outcome == 7 if expected is None else isinstance(outcome, expected)
        self.model.record(self.verdict(error), spell, start, self.clock.now)

    # -- whole calls -------------------------------------------------------------------------

    @rule(
        form=st.sampled_from(["with", "call", "decorator"]),
        error=ANSWERS,
        duration=st.sampled_from([0, 0, 1, Q, 2 * Q, 4 * Q, 4 * Q + 1, 8 * Q]),
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
        if admitted is None:
            assert isinstance(outcome, CircuitOpenError)
            assert self.clock.now == start  # the call did not run
            return
        assert outcome == 7 if exception is None else isinstance(outcome, exception)
        self.model.record(self.verdict(error), admitted, start, self.clock.now)

    @rule(
        form=st.sampled_from(["with", "call", "decorator"]),
        error=st.sampled_from(["success", "boom"]),
        count=st.integers(2, 6),
    )
    def burst(self, form: str, error: str, count: int) -> None:
        """Make several quick calls alike: enough to trip a window, or to pass every trial."""
        for _ in range(count):
            self.whole_call(form, error, 0)

    @precondition(lambda self: self.model.state is OPEN)
    @rule(form=st.sampled_from(["with", "call", "decorator"]), count=st.integers(1, 4))
    def recover(self, form: str, count: int) -> None:
        """The upstream heals: wait out OPEN, then call quickly and successfully."""
        self.clock.now = max(self.clock.now, self.model.open_until)
        self.burst(form, "success", count)

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

    @precondition(lambda self: self.forcing)
    @rule(state=st.sampled_from([CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY]))
    def force(self, state: BreakerState) -> None:
        self.model.catch_up(self.clock.now)
        if (self.model.state, state) in REFUSED:
            with pytest.raises(IllegalStateTransition):
                getattr(self.breaker, f"transition_to_{state.name.lower()}_state")()
            return
        getattr(self.breaker, f"transition_to_{state.name.lower()}_state")()
        self.model.move(state, self.clock.now, forced=True)

    @precondition(lambda self: self.forcing)
    @rule(wait=st.sampled_from([0, 1, Q, 3 * S]))
    def open_for(self, wait: int) -> None:
        self.model.catch_up(self.clock.now)
        if self.model.state is METRICS_ONLY:
            return
        self.breaker.transition_to_open_state_for(wait / S)
        self.model.move(OPEN, self.clock.now, forced=True)
        self.model.open_until = self.clock.now + wait

    @precondition(lambda self: self.forcing)
    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        self.model.catch_up(self.clock.now)
        self.model.move(CLOSED, self.clock.now, forced=True)

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
        if model.state is HALF_OPEN:
            assert self.breaker._permits == model.permits
        if self.outcomes is not None:
            assert self.outcomes == model.outcomes

    @invariant()
    def metrics_agree_with_the_model(self) -> None:
        # Reading metrics makes the moves a timer would have made: check it after the rest.
        assert self.breaker.metrics() == self.model.metrics(self.clock.now)
        assert self.transitions == self.model.transitions

    @invariant()
    def half_open_is_never_stuck(self) -> None:
        model = self.model
        if model.state is not HALF_OPEN:
            return
        calls = [spell for _, spell, _ in self.in_flight]
        calls += [spell for _, spell, _, _ in self.suspended]
        if model.spell not in calls:  # every trial has answered: a decision, or a permit back
            assert model.permits > 0


class Gate:
    """An awaitable that suspends a coroutine until the test resumes it."""

    def __await__(self) -> Generator[Gate, None, None]:
        yield self


CYCLES: Counter[str] = Counter()
"""How many runs the model machine made, and how many saw an organic cycle."""


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
    max_examples=examples(deep=1_000, fast=150),  # each run long enough to trip, probe and close
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# -- the machine can fail ------------------------------------------------------------------------


class RestartsTheWait(BreakerCore):
    """A classic bug: a late failure arriving while OPEN restarts the wait."""

    def _record(self, code: int, permit: Permit | None, start: int, now: int) -> None:
        if self._state is OPEN and code & 1:
            self._open_until = now + self._open_wait(self._attempts)
        super()._record(code, permit, start, now)


class OverGrants(BreakerCore):
    """A classic bug: HALF_OPEN grants one trial call more than permitted."""

    def _transition(self, target: BreakerState, at: int, open_for: int | None = None) -> None:
        super()._transition(target, at, open_for)
        if target is HALF_OPEN:
            self._permits += 1


class AttributesByTime(BreakerCore):
    """The bug this breaker once had: a result counts only if the call *started* (by the
    clock, or by the duration reported) after the state began, so a trial whose start reads
    earlier is dropped, permit and all, and HALF_OPEN may never decide."""

    def _record(self, code: int, permit: Permit | None, start: int, now: int) -> None:
        if start < self._entered_at:
            permit = object()  # judged by time: "admitted in an earlier state", dropped
        super()._record(code, permit, start, now)


class TimeAttributingMachine(BreakerMachine):
    sync_class = type("Breaker", (AttributesByTime, CircuitBreaker), {})
    async_class = type("AsyncBreaker", (AttributesByTime, AsyncCircuitBreaker), {})


class WaitRestartingMachine(BreakerMachine):
    sync_class = type("Breaker", (RestartsTheWait, CircuitBreaker), {})
    async_class = type("AsyncBreaker", (RestartsTheWait, AsyncCircuitBreaker), {})


class OverGrantingMachine(BreakerMachine):
    sync_class = type("Breaker", (OverGrants, CircuitBreaker), {})
    async_class = type("AsyncBreaker", (OverGrants, AsyncCircuitBreaker), {})


@pytest.mark.parametrize(
    "machine", [WaitRestartingMachine, OverGrantingMachine, TimeAttributingMachine]
)
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


def test_most_model_runs_trip_and_many_close_again_on_their_own() -> None:
    """The machine must reach the states it checks: count the organic cycles it makes."""
    CYCLES.clear()
    budget = settings(
        max_examples=examples(deep=200, fast=100),
        stateful_step_count=50,
        deadline=None,
        derandomize=True,  # the same runs every time: a share, not luck
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    run_state_machine_as_test(BreakerMachine, settings=budget)
    share = CYCLES["with an organic cycle"] / CYCLES["examples"]
    print(f"organic CLOSED → OPEN → HALF_OPEN → CLOSED in {share:.0%} of {CYCLES['examples']} runs")
    assert share >= 0.15
