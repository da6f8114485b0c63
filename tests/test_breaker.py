from __future__ import annotations

import asyncio
import threading

import pytest

from harness import (
    AsyncCircuitBreaker,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    VirtualEventLoop,
)

SECOND = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def breaker(clock: Clock, **settings: object) -> CircuitBreaker:
    defaults: dict[str, object] = {
        "failure_rate_threshold": 0.5,
        "sliding_window_size": 4,
        "minimum_number_of_calls": 4,
        "wait_duration_in_open_state": 30.0,
        "permitted_number_of_calls_in_half_open_state": 2,
        "clock": clock,
    }
    return CircuitBreaker(**{**defaults, **settings})


def fail(subject: CircuitBreaker) -> None:
    with pytest.raises(ZeroDivisionError), subject:
        _ = 1 / 0


def succeed(subject: CircuitBreaker) -> None:
    with subject:
        pass


def test_opens_at_the_threshold_only_after_the_minimum_calls() -> None:
    clock = Clock()
    subject = breaker(clock)
    fail(subject)
    fail(subject)
    succeed(subject)
    assert subject.state is BreakerState.CLOSED  # 3 calls < minimum of 4
    succeed(subject)  # 2 failures of 4 = 50% ≥ 50%
    assert subject.state is BreakerState.OPEN


def test_below_the_threshold_stays_closed() -> None:
    subject = breaker(Clock(), sliding_window_size=10, minimum_number_of_calls=10)
    for index in range(100):
        if index % 10 < 4:
            fail(subject)
        else:
            succeed(subject)
    assert subject.state is BreakerState.CLOSED


def test_the_window_slides() -> None:
    subject = breaker(Clock())
    for _ in range(10):
        succeed(subject)
    fail(subject)
    fail(subject)  # window: s s f f → 50%
    assert subject.state is BreakerState.OPEN


def test_open_rejects_until_the_wait_is_over_then_half_opens() -> None:
    clock = Clock()
    subject = breaker(clock)
    transitions: list[tuple[int, BreakerState, BreakerState]] = []
    subject.add_listener(lambda at, source, target: transitions.append((at, source, target)))
    for _ in range(4):
        fail(subject)
    clock.now = 30 * SECOND - 1
    with pytest.raises(CircuitOpenError, match="is OPEN"):
        succeed(subject)
    clock.now = 30 * SECOND
    succeed(subject)
    assert subject.state is BreakerState.HALF_OPEN
    succeed(subject)
    assert subject.state is BreakerState.CLOSED
    assert transitions == [
        (0, BreakerState.CLOSED, BreakerState.OPEN),
        (30 * SECOND, BreakerState.OPEN, BreakerState.HALF_OPEN),
        (30 * SECOND, BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_half_open_permits_only_its_trial_calls_and_reopens_on_failures() -> None:
    clock = Clock()
    subject = breaker(clock)
    for _ in range(4):
        fail(subject)
    clock.now = 31 * SECOND
    assert subject.try_acquire()
    assert subject.try_acquire()
    assert not subject.try_acquire()  # only 2 trial calls
    subject.on_error()
    subject.on_success()  # 1 of 2 failed = 50% ≥ 50%
    assert subject.state is BreakerState.OPEN
    clock.now = 61 * SECOND - 1
    assert not subject.try_acquire()  # the wait restarted when it re-opened
    clock.now = 61 * SECOND
    assert subject.try_acquire()


def test_a_late_failure_while_open_does_not_restart_the_wait() -> None:
    clock = Clock()
    subject = breaker(clock)
    assert subject.try_acquire()  # admitted while CLOSED, answers late
    for _ in range(4):
        fail(subject)
    clock.now = 20 * SECOND
    subject.on_error()  # the late answer
    clock.now = 30 * SECOND
    assert subject.try_acquire()
    assert subject.state is BreakerState.HALF_OPEN


def test_decorator_and_call() -> None:
    subject = breaker(Clock(), minimum_number_of_calls=1, sliding_window_size=1)

    @subject
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8
    assert subject.call(double, 5) == 10
    with pytest.raises(ZeroDivisionError):
        subject.call(lambda: 1 / 0)
    with pytest.raises(CircuitOpenError):
        double(1)


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="failure_rate_threshold"):
        CircuitBreaker(failure_rate_threshold=0)
    with pytest.raises(ValueError, match="sliding_window_size"):
        CircuitBreaker(sliding_window_size=0)
    with pytest.raises(ValueError, match="negative"):
        CircuitBreaker(wait_duration_in_open_state=-1.0)


def test_sync_breaker_accounts_for_every_call_across_threads() -> None:
    subject = CircuitBreaker(sliding_window_size=1000, minimum_number_of_calls=1000)
    calls = 4 * 2_000
    counted: list[int] = []

    def worker() -> None:
        for _ in range(2_000):
            with subject:
                pass
        counted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counted) == 4
    assert subject._window.calls == min(calls, 1000)
    assert subject.state is BreakerState.CLOSED


def test_async_half_open_never_over_grants_trial_calls() -> None:
    clock = Clock()
    subject = AsyncCircuitBreaker(
        failure_rate_threshold=0.5,
        sliding_window_size=2,
        minimum_number_of_calls=2,
        wait_duration_in_open_state=30.0,
        permitted_number_of_calls_in_half_open_state=3,
        clock=clock,
    )
    admitted: list[int] = []

    async def scenario() -> list[object]:
        for _ in range(2):
            with pytest.raises(ConnectionError):
                async with subject:
                    raise ConnectionError
        clock.now = 30 * SECOND

        async def trial(index: int) -> None:
            async with subject:
                admitted.append(index)
                await asyncio.sleep(0.1)

        return await asyncio.gather(*(trial(i) for i in range(20)), return_exceptions=True)

    loop = VirtualEventLoop()  # the trial calls' sleep costs no real time
    try:
        outcomes = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert len(admitted) == 3
    assert sum(isinstance(o, CircuitOpenError) for o in outcomes) == 17
    assert subject.state is BreakerState.CLOSED
