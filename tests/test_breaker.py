"""The built-in breaker, setting by setting, against resilience4j's documented behaviour.

Time is a fake clock the tests move by hand; nothing sleeps. Property-based tests against a
reference model are in test_breaker_model.py, concurrency in test_breaker_concurrency.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from harness import AsyncCircuitBreaker, BreakerState, CircuitBreaker, CircuitOpenError
from harness.breakers.builtin import BreakerMetrics, CallOutcome, IllegalStateTransition

S = 1_000_000_000
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
FORCED_OPEN, DISABLED = BreakerState.FORCED_OPEN, BreakerState.DISABLED


class Clock:
    """A clock the test moves: ``clock.now`` nanoseconds."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Boom(Exception):
    """A failure of the guarded call."""


def breaker(clock: Clock, **settings: Any) -> CircuitBreaker:
    """Return a small breaker: window 4, minimum 4, 50%, wait 30 s, 2 trial calls."""
    defaults: dict[str, Any] = {
        "failure_rate_threshold": 0.5,
        "sliding_window_size": 4,
        "minimum_number_of_calls": 4,
        "wait_duration_in_open_state": 30.0,
        "permitted_number_of_calls_in_half_open_state": 2,
        "clock": clock,
    }
    return CircuitBreaker("test", **{**defaults, **settings})


def fail(subject: CircuitBreaker, error: type[BaseException] = Boom) -> None:
    with pytest.raises(error), subject:
        raise error


def succeed(subject: CircuitBreaker, clock: Clock | None = None, takes: int = 0) -> None:
    with subject:
        if clock is not None:
            clock.now += takes


def trip(subject: CircuitBreaker) -> None:
    for _ in range(4):
        fail(subject)
    assert subject.state is OPEN


def transitions_of(subject: CircuitBreaker) -> list[tuple[int, BreakerState, BreakerState]]:
    seen: list[tuple[int, BreakerState, BreakerState]] = []
    subject.add_listener(lambda at, source, target: seen.append((at, source, target)))
    return seen


# -- the failure rate over a count window ------------------------------------------------------


def test_opens_at_the_threshold_only_after_the_minimum_calls() -> None:
    subject = breaker(Clock())
    fail(subject)
    fail(subject)
    succeed(subject)
    assert subject.state is CLOSED  # 3 calls < the minimum of 4
    succeed(subject)  # 2 failures of 4 = 50% ≥ 50%
    assert subject.state is OPEN


def test_below_the_threshold_stays_closed() -> None:
    subject = breaker(Clock(), sliding_window_size=10, minimum_number_of_calls=10)
    for index in range(100):
        if index % 10 < 4:
            fail(subject)
        else:
            succeed(subject)
    assert subject.state is CLOSED
    assert subject.metrics() == BreakerMetrics(calls=10, failures=4, slow_calls=0)


def test_the_window_slides() -> None:
    subject = breaker(Clock())
    for _ in range(10):
        succeed(subject)
    fail(subject)
    assert subject.metrics().failure_rate == 0.25
    fail(subject)  # window: s s f f → 50%
    assert subject.state is OPEN


def test_a_threshold_is_exact_not_a_float_approximation() -> None:
    # 0.3 * 10 == 3.0000000000000004 in floating point; 3 failures of 10 must still trip 30%.
    subject = breaker(
        Clock(), failure_rate_threshold=0.3, sliding_window_size=10, minimum_number_of_calls=10
    )
    for _ in range(7):
        succeed(subject)
    for _ in range(3):
        fail(subject)
    assert subject.state is OPEN


def test_the_minimum_is_capped_at_a_count_windows_size() -> None:
    subject = breaker(Clock(), sliding_window_size=2, minimum_number_of_calls=100)
    fail(subject)
    fail(subject)
    assert subject.state is OPEN  # as resilience4j: min(minimum, size)


# -- slow calls --------------------------------------------------------------------------------


def test_slow_calls_open_the_breaker_at_the_slow_call_rate() -> None:
    clock = Clock()
    subject = breaker(clock, slow_call_duration_threshold=1.0, slow_call_rate_threshold=0.75)
    succeed(subject, clock, takes=2 * S)
    succeed(subject, clock, takes=2 * S)
    succeed(subject, clock, takes=1 * S)  # exactly the threshold: not slow (resilience4j: >)
    succeed(subject, clock, takes=1 * S + 1)
    assert subject.metrics() == BreakerMetrics(calls=4, failures=0, slow_calls=3)
    assert subject.state is OPEN  # 3 of 4 slow = 75% ≥ 75%, with no failure at all


def test_a_slow_failure_counts_towards_both_rates() -> None:
    clock = Clock()
    outcomes = []
    subject = breaker(clock, slow_call_duration_threshold=1.0, sliding_window_size=10)
    subject.add_call_listener(lambda at, outcome, duration: outcomes.append(outcome))

    def slow_failure() -> None:
        clock.now += 3 * S
        raise Boom

    with pytest.raises(Boom):
        subject.call(slow_failure)
    assert outcomes == [CallOutcome.SLOW_ERROR]
    assert subject.metrics() == BreakerMetrics(calls=1, failures=1, slow_calls=1, slow_failures=1)


def test_half_open_reopens_on_slow_trial_calls() -> None:
    clock = Clock()
    subject = breaker(clock, slow_call_duration_threshold=1.0, slow_call_rate_threshold=0.5)
    trip(subject)
    clock.now = 30 * S
    succeed(subject, clock, takes=2 * S)
    succeed(subject)
    assert subject.state is OPEN  # 1 of 2 trial calls slow = 50%


# -- OPEN and its wait -------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "permitted"), [(-1, False), (0, True), (1, True)])
def test_the_wait_ends_exactly_at_the_wait_duration(offset: int, permitted: bool) -> None:
    clock = Clock()
    subject = breaker(clock)
    clock.now = 7 * S
    trip(subject)
    clock.now = 37 * S + offset  # opened at 7 s, waits 30 s
    assert subject.time_until_half_open_ns() == max(0, -offset)
    assert subject.try_acquire() is permitted
    assert subject.state is (HALF_OPEN if permitted else OPEN)


def test_open_rejects_until_the_wait_is_over_then_half_opens_and_closes() -> None:
    clock = Clock()
    subject = breaker(clock)
    seen = transitions_of(subject)
    trip(subject)
    clock.now = 30 * S - 1
    with pytest.raises(CircuitOpenError, match="'test' is OPEN") as rejected:
        succeed(subject)
    assert (rejected.value.name, rejected.value.state) == ("test", OPEN)
    assert rejected.value.retry_after_ns == 1
    clock.now = 30 * S
    succeed(subject)
    assert subject.state is HALF_OPEN
    succeed(subject)
    assert seen == [(0, CLOSED, OPEN), (30 * S, OPEN, HALF_OPEN), (30 * S, HALF_OPEN, CLOSED)]


def test_a_late_failure_while_open_does_not_restart_the_wait() -> None:
    clock = Clock()
    subject = breaker(clock)
    assert subject.try_acquire()  # admitted while CLOSED; answers late
    trip(subject)
    clock.now = 20 * S
    subject.on_error(20 * S)  # the late answer
    clock.now = 30 * S
    assert subject.try_acquire()
    assert subject.state is HALF_OPEN


def test_a_call_counts_only_in_the_state_that_admitted_it() -> None:
    clock = Clock()
    subject = breaker(clock, permitted_number_of_calls_in_half_open_state=1)
    late = subject.try_acquire_permission()  # admitted while CLOSED
    trip(subject)
    clock.now = 30 * S
    trial = subject.try_acquire_permission()
    assert late is not None
    assert trial is not None
    subject.on_success(30 * S, permit=late)  # the CLOSED call answers now: it decides no trial
    assert subject.state is HALF_OPEN
    subject.on_error(0, permit=trial)  # the trial call fails
    assert subject.state is OPEN


def test_without_a_permit_a_result_counts_in_the_current_state_as_in_resilience4j() -> None:
    clock = Clock()
    subject = breaker(clock, permitted_number_of_calls_in_half_open_state=1)
    assert subject.try_acquire()
    trip(subject)
    clock.now = 30 * S
    assert subject.try_acquire()  # the trial call
    subject.on_success(31 * S)  # which call answers is not known: it decides the trial
    assert subject.state is CLOSED


@pytest.mark.parametrize("duration", [0, 1, 5 * S])
def test_a_result_right_after_construction_counts_whatever_its_duration(duration: int) -> None:
    subject = breaker(Clock(), sliding_window_size=1, minimum_number_of_calls=1)
    assert subject.try_acquire()
    subject.on_error(duration)
    assert subject.state is OPEN
    assert subject.metrics().failures == 1


def test_exponential_backoff_grows_the_wait_up_to_its_cap() -> None:
    clock = Clock()
    subject = breaker(
        clock,
        wait_duration_in_open_state=10.0,
        enable_exponential_backoff=True,
        exponential_backoff_multiplier=2.0,
        exponential_max_wait_duration_in_open_state=timedelta(seconds=25),
        permitted_number_of_calls_in_half_open_state=1,
    )
    trip(subject)
    waits = []
    for _ in range(4):  # each trial call fails: OPEN again, waiting longer
        waits.append(subject.time_until_half_open_ns())
        clock.now += waits[-1] or 0
        fail(subject)
    assert waits == [10 * S, 20 * S, 25 * S, 25 * S]
    clock.now += 25 * S
    succeed(subject)  # the trial succeeds: CLOSED, and the backoff starts over
    trip(subject)
    assert subject.time_until_half_open_ns() == 10 * S


# -- HALF_OPEN ---------------------------------------------------------------------------------


def test_half_open_permits_only_its_trial_calls_and_reopens_on_failures() -> None:
    clock = Clock()
    subject = breaker(clock)
    trip(subject)
    clock.now = 31 * S
    assert subject.try_acquire()
    assert subject.try_acquire()
    assert not subject.try_acquire()  # only 2 trial calls
    with pytest.raises(CircuitOpenError) as rejected:
        succeed(subject)
    assert (rejected.value.state, rejected.value.retry_after_ns) == (HALF_OPEN, None)
    subject.on_error(0)
    assert subject.state is HALF_OPEN  # decides only once every trial call has answered
    subject.on_success(0)  # 1 of 2 failed = 50% ≥ 50%
    assert subject.state is OPEN
    clock.now = 61 * S - 1
    assert not subject.try_acquire()  # the wait restarted when it re-opened
    clock.now = 61 * S
    assert subject.try_acquire()


def test_max_wait_in_half_open_reopens_at_its_deadline() -> None:
    clock = Clock()
    subject = breaker(clock, max_wait_duration_in_half_open_state=5.0)
    seen = transitions_of(subject)
    trip(subject)
    clock.now = 30 * S
    assert subject.try_acquire()  # a trial call that never answers
    clock.now = 40 * S
    assert subject.state is OPEN  # moved at 35 s, when the max wait ran out
    assert seen[-1] == (35 * S, HALF_OPEN, OPEN)
    assert subject.time_until_half_open_ns() == 25 * S  # a new wait from 35 s
    subject.on_success(10 * S)  # the trial call answers at last: counts nowhere
    assert subject.state is OPEN


def test_an_ignored_trial_call_gives_its_permit_back() -> None:
    clock = Clock()
    subject = breaker(clock, ignore_exceptions=[KeyError])
    trip(subject)
    clock.now = 30 * S
    fail(subject, KeyError)
    succeed(subject)
    assert subject.state is HALF_OPEN  # one trial call of two so far
    succeed(subject)
    assert subject.state is CLOSED


# -- what counts as a failure ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "error", "expected"),
    [
        ({}, Boom, CallOutcome.ERROR),
        ({"ignore_exceptions": [LookupError]}, KeyError, CallOutcome.IGNORED),
        ({"record_exceptions": [Boom]}, KeyError, CallOutcome.SUCCESS),
        ({"record_exceptions": [LookupError]}, KeyError, CallOutcome.ERROR),
        ({"record_failure_predicate": lambda e: "down" in str(e)}, Boom, CallOutcome.SUCCESS),
        (
            {"record_exceptions": [Boom], "ignore_exception_predicate": lambda e: True},
            Boom,
            CallOutcome.IGNORED,  # ignoring wins over recording, as in resilience4j
        ),
        ({}, KeyboardInterrupt, CallOutcome.IGNORED),  # not an Exception: says nothing
    ],
)
def test_which_exceptions_count_as_failures(
    settings: dict[str, Any], error: type[BaseException], expected: CallOutcome
) -> None:
    subject = breaker(Clock(), **settings)
    outcomes: list[CallOutcome] = []
    subject.add_call_listener(lambda at, outcome, duration: outcomes.append(outcome))
    fail(subject, error)
    assert outcomes == [expected]
    assert subject.metrics().calls == (0 if expected is CallOutcome.IGNORED else 1)
    assert subject.metrics().failures == (expected is CallOutcome.ERROR)


def test_on_error_with_an_exception_follows_the_same_settings() -> None:
    subject = breaker(Clock(), ignore_exceptions=[KeyError])
    assert subject.try_acquire()
    subject.on_error(0, KeyError("gone"))
    assert subject.metrics().calls == 0


# -- forced states -----------------------------------------------------------------------------


def test_forced_open_rejects_everything_until_closed_again() -> None:
    clock = Clock()
    subject = breaker(clock)
    seen = transitions_of(subject)
    subject.transition_to_forced_open_state()
    clock.now = 3600 * S
    with pytest.raises(CircuitOpenError) as rejected:
        succeed(subject)
    assert (rejected.value.state, rejected.value.retry_after_ns) == (FORCED_OPEN, None)
    assert subject.time_until_half_open_ns() is None
    subject.transition_to_closed_state()
    succeed(subject)
    assert seen == [(0, CLOSED, FORCED_OPEN), (3600 * S, FORCED_OPEN, CLOSED)]


def test_disabled_permits_everything_and_records_nothing() -> None:
    subject = breaker(Clock())
    subject.transition_to_disabled_state()
    for _ in range(10):
        fail(subject)
    assert subject.state is DISABLED
    subject.transition_to_closed_state()
    assert subject.metrics() == BreakerMetrics(0, 0, 0)


def test_forced_open_and_half_open_transitions() -> None:
    clock = Clock()
    subject = breaker(clock)
    subject.transition_to_open_state()
    assert subject.time_until_half_open_ns() == 30 * S
    subject.transition_to_half_open_state()
    assert subject.try_acquire()
    assert subject.try_acquire()
    assert not subject.try_acquire()


# -- listeners ---------------------------------------------------------------------------------


def test_every_call_is_told_to_the_call_listeners_once() -> None:
    clock = Clock()
    subject = breaker(clock, ignore_exceptions=[KeyError], slow_call_duration_threshold=1.0)
    calls: list[tuple[int, CallOutcome, int]] = []
    subject.add_call_listener(lambda *call: calls.append(call))
    succeed(subject, clock, takes=S // 2)
    succeed(subject, clock, takes=2 * S)
    fail(subject, KeyError)
    fail(subject)
    fail(subject)  # 2 of 4 counted calls failed: OPEN
    with pytest.raises(CircuitOpenError):
        succeed(subject)
    at = clock.now
    assert calls == [
        (S // 2, CallOutcome.SUCCESS, S // 2),
        (at, CallOutcome.SLOW_SUCCESS, 2 * S),
        (at, CallOutcome.IGNORED, 0),
        (at, CallOutcome.ERROR, 0),
        (at, CallOutcome.ERROR, 0),
        (at, CallOutcome.NOT_PERMITTED, 0),
    ]


def test_a_listener_may_call_back_into_the_breaker() -> None:
    clock = Clock()
    subject = breaker(clock)
    seen: list[tuple[BreakerState, int | None]] = []
    subject.add_listener(
        lambda at, source, target: seen.append((subject.state, subject.time_until_half_open_ns()))
    )
    trip(subject)
    assert seen == [(OPEN, 30 * S)]


# -- the ways to wrap a call -------------------------------------------------------------------


def test_decorator_and_call() -> None:
    subject = breaker(Clock(), minimum_number_of_calls=1, sliding_window_size=1)

    @subject
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8
    assert double.__name__ == "double"
    assert subject.call(double, 5) == 10
    with pytest.raises(ZeroDivisionError):
        subject.call(lambda: 1 / 0)
    with pytest.raises(CircuitOpenError):
        double(1)


def test_the_async_forms() -> None:
    clock = Clock()
    subject = AsyncCircuitBreaker(
        "async", sliding_window_size=4, minimum_number_of_calls=4, clock=clock
    )

    @subject
    async def double(x: int) -> int:
        return 2 * x

    async def failing() -> int:
        raise Boom

    async def scenario() -> None:
        assert await double(2) == 4
        assert await subject.call(double, 3) == 6  # two calls: call() and the decorator
        async with subject:
            pass
        with pytest.raises(Boom):
            await subject.call(failing)
        with pytest.raises(Boom):
            async with subject:
                raise Boom
        assert subject.state is OPEN
        with pytest.raises(CircuitOpenError):
            await double(1)

    run_coroutine(scenario())


def run_coroutine(coroutine: Any) -> None:
    """Run a coroutine that never waits for anything: no event loop needed."""
    with pytest.raises(StopIteration):
        coroutine.send(None)


def test_nested_blocks_of_one_breaker_are_each_measured_from_their_own_start() -> None:
    clock = Clock()
    subject = breaker(clock, slow_call_duration_threshold=1.0, sliding_window_size=10)
    with subject:
        clock.now += 2 * S
        with subject:
            pass  # took no time
    assert subject.metrics() == BreakerMetrics(calls=2, failures=0, slow_calls=1)


def test_a_time_window_holds_the_calls_of_the_last_seconds() -> None:
    clock = Clock()
    subject = breaker(
        clock, sliding_window_type="time", sliding_window_size=10, minimum_number_of_calls=4
    )
    fail(subject)
    fail(subject)  # both in second 0
    clock.now = 10 * S - 1  # second 9: seconds 0-9 are in the window
    succeed(subject)
    assert subject.metrics() == BreakerMetrics(calls=3, failures=2, slow_calls=0)
    clock.now = 10 * S  # second 10: second 0 has slid out
    succeed(subject)
    assert subject.metrics() == BreakerMetrics(calls=2, failures=0, slow_calls=0)
    fail(subject)
    assert subject.state is CLOSED
    fail(subject)
    assert subject.state is OPEN  # 2 failures of the 4 calls in seconds 1-10


def test_a_time_windows_minimum_is_not_capped() -> None:
    subject = breaker(
        Clock(), sliding_window_type="time", sliding_window_size=2, minimum_number_of_calls=6
    )
    for _ in range(5):
        fail(subject)
    assert subject.state is CLOSED
    fail(subject)
    assert subject.state is OPEN


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"failure_rate_threshold": 0}, "failure_rate_threshold must be a fraction in"),
        ({"slow_call_rate_threshold": 1.5}, "slow_call_rate_threshold must be a fraction in"),
        ({"sliding_window_size": 0}, "sliding_window_size must be a whole number"),
        ({"minimum_number_of_calls": 2.5}, "minimum_number_of_calls must be a whole number"),
        ({"sliding_window_type": "sliding"}, "sliding_window_type must be 'count' or 'time'"),
        ({"wait_duration_in_open_state": 0}, "wait_duration_in_open_state must be above zero"),
        ({"slow_call_duration_threshold": -1.0}, "must be zero or more"),
        ({"exponential_backoff_multiplier": 0.5}, "must be at least 1"),
        (
            {
                "enable_exponential_backoff": True,
                "exponential_max_wait_duration_in_open_state": 1.0,
            },
            "must be at least wait_duration_in_open_state",
        ),
        ({"record_exceptions": ["Boom"]}, "expected exception types"),
    ],
)
def test_invalid_settings_are_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(**settings)


def test_defaults_are_resilience4js() -> None:
    clock = Clock()
    subject = CircuitBreaker(clock=clock)
    for _ in range(99):
        fail(subject)
    assert subject.state is CLOSED  # minimum 100
    fail(subject)
    assert subject.time_until_half_open_ns() == 60 * S
    clock.now = 60 * S
    for _ in range(10):  # 10 trial calls
        assert subject.try_acquire()
    assert not subject.try_acquire()
    assert repr(subject) == "<CircuitBreaker 'breaker' HALF_OPEN>"


def test_metrics_rates() -> None:
    assert BreakerMetrics(4, 1, 2).failure_rate == 0.25
    assert BreakerMetrics(4, 1, 2).slow_call_rate == 0.5
    assert BreakerMetrics(0, 0, 0).failure_rate is None


def count(predicate: Callable[[CallOutcome], bool]) -> int:
    return sum(1 for outcome in CallOutcome if predicate(outcome))


def test_call_outcome_flags() -> None:
    assert count(lambda outcome: outcome.failed) == 2
    assert count(lambda outcome: outcome.slow) == 2


# -- resilience4j's surface (cases after CircuitBreakerStateMachineTest) -------------------------


def test_forcing_the_current_state_publishes_no_transition_but_re_enters_it() -> None:
    clock = Clock()
    subject = breaker(clock)
    seen = transitions_of(subject)
    fail(subject)
    subject.transition_to_closed_state()
    assert seen == []
    assert subject.metrics().calls == 0  # re-entered: a fresh window


@pytest.mark.parametrize(
    ("start", "target"),
    [("closed", "half_open"), ("metrics_only", "open"), ("metrics_only", "half_open")],
)
def test_resilience4j_s_refused_moves_are_refused(start: str, target: str) -> None:
    subject = breaker(Clock())
    getattr(subject, f"transition_to_{start}_state")()
    before = subject.state
    with pytest.raises(IllegalStateTransition, match="cannot move"):
        getattr(subject, f"transition_to_{target}_state")()
    assert subject.state is before


@pytest.mark.parametrize("state", ["disabled", "forced_open", "metrics_only"])
def test_entering_a_forced_state_resets_the_metrics(state: str) -> None:
    subject = breaker(Clock(), minimum_number_of_calls=10, sliding_window_size=10)
    fail(subject)
    succeed(subject)
    getattr(subject, f"transition_to_{state}_state")()
    assert subject.metrics() == BreakerMetrics(0, 0, 0)


def test_metrics_only_records_every_call_and_never_opens() -> None:
    subject = breaker(Clock())
    subject.transition_to_metrics_only_state()
    for _ in range(8):
        fail(subject)
    assert subject.state is BreakerState.METRICS_ONLY
    assert (subject.metrics().calls, subject.metrics().failures) == (4, 4)


def test_not_permitted_calls_and_the_success_and_slow_splits_are_counted() -> None:
    clock = Clock()
    subject = breaker(clock, slow_call_duration_threshold=1.0, sliding_window_size=10)
    succeed(subject, clock, takes=2 * S)  # a slow success

    def slow_failure() -> None:
        clock.now += 2 * S
        raise Boom

    with pytest.raises(Boom):
        subject.call(slow_failure)
    fail(subject)
    succeed(subject)  # 4 calls, 2 failures: OPEN
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            succeed(subject)
    metrics = subject.metrics()
    assert subject.state is OPEN
    assert (metrics.number_of_successful_calls, metrics.number_of_failed_calls) == (2, 2)
    assert (metrics.number_of_slow_successful_calls, metrics.number_of_slow_failed_calls) == (1, 1)
    assert metrics.number_of_not_permitted_calls == 3


def test_a_quiet_time_window_empties_when_read() -> None:
    clock = Clock()
    subject = breaker(clock, sliding_window_type="time", sliding_window_size=5)
    fail(subject)
    assert subject.metrics().calls == 1
    clock.now = 5 * S  # the call's second has slid out
    assert subject.metrics().calls == 0


def test_automatic_transition_half_opens_when_the_wait_ends_with_no_call() -> None:
    clock = Clock()
    subject = breaker(clock, automatic_transition_from_open_to_half_open=True)
    seen = transitions_of(subject)
    trip(subject)
    clock.now = 45 * S
    assert subject.state is HALF_OPEN
    assert seen[-1] == (30 * S, OPEN, HALF_OPEN)  # stamped when the wait ended


def test_open_for_and_until_replace_the_wait() -> None:
    clock = Clock()
    subject = breaker(clock)
    subject.transition_to_open_state_for(5.0)
    assert subject.time_until_half_open_ns() == 5 * S
    subject.transition_to_open_state_until(2 * S)
    assert subject.time_until_half_open_ns() == 2 * S
    clock.now = 2 * S
    assert subject.try_acquire()
    assert subject.state is HALF_OPEN


def test_reset_returns_to_a_new_closed_breaker() -> None:
    clock = Clock()
    subject = breaker(clock, enable_exponential_backoff=True, exponential_backoff_multiplier=2.0)
    trip(subject)
    subject.reset()
    assert subject.state is CLOSED
    assert subject.metrics() == BreakerMetrics(0, 0, 0)
    trip(subject)
    assert subject.time_until_half_open_ns() == 30 * S  # the backoff started over


def test_a_custom_interval_function_gives_each_wait() -> None:
    clock = Clock()
    subject = breaker(
        clock,
        wait_interval_function=lambda attempt: 3.0 * attempt,
        permitted_number_of_calls_in_half_open_state=1,
    )
    trip(subject)
    waits = []
    for _ in range(3):
        waits.append(subject.time_until_half_open_ns())
        clock.now += waits[-1] or 0
        fail(subject)
    assert waits == [3 * S, 6 * S, 9 * S]


def test_a_randomized_wait_stays_within_its_factor() -> None:
    draws = iter([0.0, 1.0, 0.5, 0.5])
    clock = Clock()
    subject = breaker(
        clock,
        randomized_wait_factor=0.5,
        random_source=lambda: next(draws),
        permitted_number_of_calls_in_half_open_state=1,
    )
    trip(subject)
    waits = []
    for _ in range(3):
        waits.append(subject.time_until_half_open_ns())
        clock.now += waits[-1] or 0
        fail(subject)
    assert waits == [15 * S, 45 * S, 30 * S]


def test_half_open_decides_even_when_a_trial_reports_a_duration_from_before_it() -> None:
    clock = Clock()
    subject = breaker(clock, permitted_number_of_calls_in_half_open_state=1)
    subject.transition_to_open_state()
    clock.now = 30 * S
    permit = subject.try_acquire_permission()
    assert permit is not None
    subject.on_success(60 * S, permit=permit)  # measured by the caller: before HALF_OPEN began
    assert subject.state is CLOSED
