"""Cases from resilience4j's CircuitBreakerStateMachineTest, in the built-in breaker's terms.

Their breaker: failure and slow-call thresholds 50%, slow calls over 4 s, a 5-second time
window needing 5 calls, a 5 s wait, 4 trial calls, one exception type ignored. Their mock clock
stands still unless a test moves it, so the durations reported do not match it: that is how
resilience4j's own users report results, and the built-in breaker must count them all.
"""

from __future__ import annotations

import pytest

from harness import BreakerState, CircuitBreaker, CircuitOpenError

S = 1_000_000_000
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class Clock:
    def __init__(self) -> None:
        self.now = 1_546_344_000 * S  # 2019-01-01 12:00 UTC, as theirs

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def subject(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(
        "testName",
        failure_rate_threshold=0.5,
        permitted_number_of_calls_in_half_open_state=4,
        slow_call_duration_threshold=4.0,
        slow_call_rate_threshold=0.5,
        sliding_window_type="time",
        sliding_window_size=5,
        minimum_number_of_calls=5,
        wait_duration_in_open_state=5.0,
        ignore_exceptions=[ValueError],
        clock=clock,
    )


def rejects(subject: CircuitBreaker) -> bool:
    try:
        with subject:
            pass
    except CircuitOpenError:
        return True
    return False


@pytest.mark.parametrize("force", ["transition_to_open_state", "transition_to_forced_open_state"])
def test_a_rejected_call_is_counted_as_not_permitted(subject: CircuitBreaker, force: str) -> None:
    getattr(subject, force)()
    assert rejects(subject)
    assert subject.metrics().number_of_not_permitted_calls == 1


def test_releasing_a_permission_in_half_open_lets_another_call_in(subject: CircuitBreaker) -> None:
    subject.transition_to_open_state()
    subject.transition_to_half_open_state()
    assert [subject.try_acquire() for _ in range(6)] == [True] * 4 + [False] * 2
    subject.on_ignored(0)  # resilience4j's releasePermission()
    assert subject.try_acquire()


def test_half_open_permits_four_calls_each_time_it_is_entered(subject: CircuitBreaker) -> None:
    for _ in range(2):
        subject.transition_to_open_state()
        subject.transition_to_half_open_state()
        assert subject.state is HALF_OPEN
        assert [subject.try_acquire() for _ in range(6)] == [True] * 4 + [False] * 2


def test_it_opens_once_the_failure_rate_reaches_its_threshold(subject: CircuitBreaker) -> None:
    for _ in range(3):
        assert subject.try_acquire()
        subject.on_error(0, RuntimeError())
        assert subject.state is CLOSED
    assert subject.try_acquire()
    subject.on_success(0)
    assert subject.state is CLOSED
    subject.on_success(0)  # reported without a permission taken, as their test does
    assert subject.state is OPEN
    metrics = subject.metrics()
    assert (metrics.number_of_buffered_calls, metrics.number_of_failed_calls) == (5, 3)
    assert metrics.failure_rate == 0.6
    assert not subject.try_acquire()
    assert subject.metrics().number_of_not_permitted_calls == 1


def test_it_opens_once_the_slow_call_rate_reaches_its_threshold(subject: CircuitBreaker) -> None:
    # The clock stands still: each duration reaches back before the breaker existed.
    for report, seconds in [("error", 5.0), ("success", 5.0), ("error", 0.1), ("success", 0.1)]:
        assert subject.try_acquire()
        if report == "error":
            subject.on_error(round(seconds * S), RuntimeError())
        else:
            subject.on_success(round(seconds * S))
        assert subject.state is CLOSED
    subject.on_success(5 * S)
    assert subject.state is OPEN
    metrics = subject.metrics()
    assert (metrics.number_of_buffered_calls, metrics.number_of_slow_calls) == (5, 3)
    assert metrics.slow_call_rate == 0.6


def test_it_half_opens_after_the_wait_with_fresh_metrics(
    subject: CircuitBreaker, clock: Clock
) -> None:
    subject.transition_to_open_state()
    assert not subject.try_acquire()
    clock.now += 3 * S
    assert subject.state is OPEN
    assert not subject.try_acquire()
    assert subject.metrics().number_of_not_permitted_calls == 2
    clock.now += 3 * S
    assert subject.try_acquire()
    assert subject.state is HALF_OPEN
    assert tuple(subject.metrics()) == (0, 0, 0, 0, 0)


def test_half_open_closes_when_the_trial_calls_succeed(subject: CircuitBreaker) -> None:
    subject.transition_to_open_state()
    subject.transition_to_half_open_state()
    for _ in range(4):
        assert subject.try_acquire()
        subject.on_success(S)  # each took a second the standing clock never saw
    assert subject.state is CLOSED


def test_half_open_reopens_when_half_the_trial_calls_fail(subject: CircuitBreaker) -> None:
    subject.transition_to_open_state()
    subject.transition_to_half_open_state()
    for fails in (True, True, False, False):
        assert subject.try_acquire()
        if fails:
            subject.on_error(S, RuntimeError())
        else:
            subject.on_success(S)
    assert subject.state is OPEN


def test_an_ignored_error_counts_neither_way(subject: CircuitBreaker) -> None:
    assert subject.try_acquire()
    subject.on_error(0, ValueError())
    assert subject.metrics().number_of_buffered_calls == 0
