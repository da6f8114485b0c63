"""The built-in breakers never get stuck: a model-free liveness check under interleaved callers.

Several callers are admitted and answer in any order: async calls in every form (``async with``,
``call``, the decorator) suspended mid-call and resumed later, and ``try_acquire`` callers
reporting with ``on_success`` / ``on_error`` / ``on_ignored`` durations that need not match the
clock (a caller that measured its own time, or a late one). Whatever happens, two things must
hold, checked after every step:

- HALF_OPEN with none of its own trial calls unanswered still has a permit to give: once every
  trial has answered it has decided, or an ignored trial gave its permit back;
- OPEN admits a call once its wait is over.

It uses only the API the breaker has had from the start, so it runs unchanged against older
versions: it fails on the one that judged a result by comparing its start time with the state's
entry time (a trial whose reported duration reached back before HALF_OPEN was dropped, permit
and all). The real-thread stress test is in test_breaker_concurrency.py.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Generator
from dataclasses import dataclass

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
from tests.support import examples

S = 1_000_000_000
Q = S // 4
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class Boom(Exception):
    """A failure of the guarded call."""


class Ignored(Exception):
    """Counts neither way."""


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Gate:
    """An awaitable that suspends a coroutine until the test resumes it."""

    def __await__(self) -> Generator[Gate, None, None]:
        yield self


@dataclass
class InFlight:
    """One admitted call: its spell (transitions heard before it), start, and how it answers."""

    spell: int
    start: int
    resume: Callable[[None], object] | None  # None: a try_acquire caller


class LivenessMachine(RuleBasedStateMachine):
    sync_class: type[CircuitBreaker] = CircuitBreaker
    async_class: type[AsyncCircuitBreaker] = AsyncCircuitBreaker

    @initialize(
        asynchronous=st.booleans(),
        permitted=st.integers(1, 3),
        size=st.integers(1, 4),
        half_open_max=st.sampled_from([0, 6 * Q]),
    )
    def build(self, asynchronous: bool, permitted: int, size: int, half_open_max: int) -> None:
        self.clock = Clock()
        kind = self.async_class if asynchronous else self.sync_class
        self.asynchronous = asynchronous
        self.breaker = kind(
            "live",
            sliding_window_size=size,
            minimum_number_of_calls=size,
            wait_duration_in_open_state=1.0,
            slow_call_duration_threshold=2.0,
            permitted_number_of_calls_in_half_open_state=permitted,
            max_wait_duration_in_half_open_state=half_open_max / S,
            ignore_exceptions=[Ignored],
            clock=self.clock,
        )
        self.spell = 0
        self.moves: list[tuple[int, BreakerState, BreakerState]] = []
        self.breaker.add_listener(self.heard)
        self.in_flight: list[InFlight] = []

    def teardown(self) -> None:
        for call in self.in_flight:  # end the calls left waiting, in their own context
            if call.resume is not None:
                _finish(call.resume)

    def heard(self, at: int, source: BreakerState, target: BreakerState) -> None:
        self.spell += 1
        self.moves.append((at, source, target))

    # -- callers ------------------------------------------------------------------------------

    @precondition(lambda self: len(self.in_flight) < 6)
    @rule()
    def acquire(self) -> None:
        if self.breaker.try_acquire():
            self.in_flight.append(InFlight(self.spell, self.clock.now, None))

    @precondition(lambda self: self.asynchronous and len(self.in_flight) < 6)
    @rule(form=st.sampled_from(["with", "call", "decorator"]), fails=st.sampled_from([0, 1, 2]))
    def start_async_call(self, form: str, fails: int) -> None:
        breaker = self.breaker
        assert isinstance(breaker, AsyncCircuitBreaker)
        error = (None, Boom, Ignored)[fails]

        async def body() -> None:
            await Gate()
            if error is not None:
                raise error

        async def run() -> None:
            if form == "with":
                async with breaker:
                    await body()
            elif form == "call":
                await breaker.call(body)
            else:
                await breaker(body)()

        # Each call runs in its own context, as each asyncio task does: an ``async with``
        # block keeps its start in a context variable.
        start, coroutine, context = self.clock.now, run(), contextvars.copy_context()
        try:
            context.run(coroutine.send, None)  # admitted (maybe half-opening it), or rejected
        except CircuitOpenError:
            return
        self.in_flight.append(
            InFlight(self.spell, start, functools.partial(context.run, coroutine.send))
        )

    @precondition(lambda self: self.in_flight)
    @rule(
        which=st.integers(0, 5),
        answer=st.sampled_from(["success", "error", "ignored"]),
        skew=st.sampled_from([0, 0, 1, Q, 3 * S, -1]),
    )
    def answer(self, which: int, answer: str, skew: int) -> None:
        call = self.in_flight.pop(which % len(self.in_flight))
        if call.resume is not None:
            _finish(call.resume)
            return
        # The duration a caller reports may not match the clock: it measured its own time
        # (skew > 0 reaches back before the call was admitted), or it is a little short.
        duration = max(0, self.clock.now - call.start + skew)
        report: Callable[[int], None] = {
            "success": self.breaker.on_success,
            "error": self.breaker.on_error,
            "ignored": self.breaker.on_ignored,
        }[answer]
        report(duration)

    # -- time and forcing ---------------------------------------------------------------------

    @rule(step=st.sampled_from([0, 1, Q, S, 3 * S]))
    def advance(self, step: int) -> None:
        self.clock.now += step

    @precondition(lambda self: self.breaker._state is OPEN)
    @rule()
    def wait_out_the_open_state(self) -> None:
        """After the wait, a call is admitted."""
        self.clock.now = max(self.clock.now, self.breaker._open_until)
        assert self.breaker.try_acquire(), "OPEN rejects calls after its wait"
        self.in_flight.append(InFlight(self.spell, self.clock.now, None))

    @rule()
    def force_open(self) -> None:
        self.breaker.transition_to_open_state()

    # -- what must always hold ----------------------------------------------------------------

    @invariant()
    def half_open_is_never_stuck(self) -> None:
        breaker = self.breaker
        if breaker.state is not HALF_OPEN:
            return
        trials = [call for call in self.in_flight if call.spell == self.spell]
        if not trials:
            assert breaker._permits > 0, (
                f"HALF_OPEN since {breaker._entered_at} with every trial answered, no permit "
                f"left and no decision (moves: {self.moves[-3:]})"
            )

    @invariant()
    def transitions_follow_each_other(self) -> None:
        for before, after in zip(self.moves, self.moves[1:], strict=False):
            assert before[2] is after[1]
            assert before[0] <= after[0]


def _finish(resume: Callable[[None], object]) -> None:
    """Resume a suspended call to its end; what it raises was the breaker's to see."""
    try:
        resume(None)
    except StopIteration:
        return
    except (Boom, Ignored):
        return
    raise AssertionError("the call waited twice")


TestTheBreakerIsNeverStuck = LivenessMachine.TestCase
TestTheBreakerIsNeverStuck.settings = settings(
    max_examples=examples(deep=400, fast=100),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_liveness_check_catches_a_breaker_that_judges_results_by_time() -> None:
    from tests.test_breaker_model import AttributesByTime

    class ByTime(LivenessMachine):
        sync_class = type("Breaker", (AttributesByTime, CircuitBreaker), {})
        async_class = type("AsyncBreaker", (AttributesByTime, AsyncCircuitBreaker), {})

    budget = settings(
        max_examples=500,
        stateful_step_count=40,
        deadline=None,
        derandomize=True,  # the same runs every time: this test must not depend on luck
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    with pytest.raises(AssertionError, match="no decision"):
        run_state_machine_as_test(ByTime, settings=budget)
