"""The breakers under concurrency: threads on the sync breaker, coroutines on the async one.

No test sleeps or depends on how fast the machine is: the clock is a counter every reading
advances by one nanosecond, so waits end after a number of clock readings, not of seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest

from harness import AsyncCircuitBreaker, BreakerState, CircuitBreaker, CircuitOpenError
from harness.breakers.builtin import CallOutcome

THREADS, CALLS = 16, 10_000
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class Boom(Exception):
    """A failure of the guarded call."""


def ticking_clock() -> Callable[[], int]:
    """Return a clock that moves one nanosecond per reading, safely from any thread."""
    return itertools.count().__next__


def run_threads(work: Callable[[int], None], threads: int = THREADS) -> None:
    start = threading.Barrier(threads)

    def worker(index: int) -> None:
        start.wait()  # all at once, so the calls really overlap
        work(index)

    pool = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def test_every_call_from_16_threads_is_accounted_for_once() -> None:
    subject = CircuitBreaker(
        "threads",
        sliding_window_size=20,
        minimum_number_of_calls=10,
        failure_rate_threshold=0.5,
        wait_duration_in_open_state=2e-6,  # 2 000 clock readings
        permitted_number_of_calls_in_half_open_state=3,
        ignore_exceptions=[KeyError],
        clock=ticking_clock(),
    )
    heard: Counter[CallOutcome] = Counter()
    heard_lock = threading.Lock()
    moves: list[tuple[int, BreakerState, BreakerState]] = []

    def hear(at: int, outcome: CallOutcome, duration: int) -> None:
        with heard_lock:
            heard[outcome] += 1

    subject.add_call_listener(hear)
    subject.add_listener(lambda *move: moves.append(move))
    seen: list[Counter[str]] = [Counter() for _ in range(THREADS)]

    def work(index: int) -> None:
        mine = seen[index]
        for call in range(CALLS):
            kind = ("ok", "boom", "boom", "ignored", "ok")[(call + index) % 5]
            try:
                with subject:
                    if kind == "boom":
                        raise Boom
                    if kind == "ignored":
                        raise KeyError(kind)
            except CircuitOpenError:
                kind = "rejected"
            except (Boom, KeyError):
                pass
            mine[kind] += 1

    run_threads(work)
    made = sum(seen, Counter())
    assert sum(heard.values()) == THREADS * CALLS
    assert heard[CallOutcome.NOT_PERMITTED] == made["rejected"]
    assert heard[CallOutcome.SUCCESS] == made["ok"]
    assert heard[CallOutcome.ERROR] == made["boom"]
    assert heard[CallOutcome.IGNORED] == made["ignored"]
    assert made["rejected"] > 0  # it did trip: the test exercised every state
    for before, after in itertools.pairwise(moves):
        assert before[2] is after[1]  # every move starts where the previous one ended
        assert before[0] <= after[0]  # and the stamps are in order


def test_lock_free_successes_from_16_threads_are_all_counted() -> None:
    subject = CircuitBreaker(
        "fast",
        sliding_window_size=THREADS * CALLS,
        minimum_number_of_calls=THREADS * CALLS,
        clock=ticking_clock(),
    )
    failures = [0] * THREADS

    @subject
    def call(fail: bool) -> None:
        if fail:
            raise Boom

    def work(index: int) -> None:
        for number in range(CALLS):
            fail = (number * 7 + index) % 10 == 0  # failures take the lock, successes do not
            try:
                call(fail)
            except Boom:
                failures[index] += 1

    run_threads(work)
    metrics = subject.metrics()
    assert (metrics.calls, metrics.failures) == (THREADS * CALLS, sum(failures))
    assert subject.state is CLOSED


@pytest.mark.parametrize("permitted", [1, 3, 7])
def test_threads_arriving_at_once_in_half_open_get_only_the_permitted_trials(
    permitted: int,
) -> None:
    for _ in range(20):  # many rounds: many different interleavings
        assert half_open_admissions(permitted) == permitted


def half_open_admissions(permitted: int) -> int:
    """Return how many of 16 threads asking at once a just-half-open breaker get a trial."""
    now = [0]
    subject = CircuitBreaker(
        sliding_window_size=1,
        minimum_number_of_calls=1,
        permitted_number_of_calls_in_half_open_state=permitted,
        clock=lambda: now[0],
    )
    subject.transition_to_open_state()
    now[0] = 60 * 10**9
    admitted: list[bool] = []
    run_threads(lambda index: admitted.append(subject.try_acquire()))
    assert subject.state is HALF_OPEN
    return admitted.count(True)


@pytest.mark.parametrize("permitted", [1, 3])
def test_coroutines_arriving_at_once_in_half_open_get_only_the_permitted_trials(
    permitted: int,
) -> None:
    now = [0]
    subject = AsyncCircuitBreaker(
        sliding_window_size=2,
        minimum_number_of_calls=2,
        wait_duration_in_open_state=30.0,
        permitted_number_of_calls_in_half_open_state=permitted,
        clock=lambda: now[0],
    )
    admitted: list[int] = []

    async def scenario() -> list[object]:
        for _ in range(2):
            with pytest.raises(ConnectionError):
                async with subject:
                    raise ConnectionError
        now[0] = 30 * 10**9 + 1  # just after the wait

        async def trial(index: int) -> None:
            async with subject:
                admitted.append(index)
                await asyncio.sleep(0.1)  # the trial calls overlap

        return await asyncio.gather(*(trial(i) for i in range(20)), return_exceptions=True)

    from harness import VirtualEventLoop

    loop = VirtualEventLoop()  # the trial calls' sleep costs no real time
    try:
        outcomes = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert len(admitted) == permitted
    assert sum(isinstance(outcome, CircuitOpenError) for outcome in outcomes) == 20 - permitted
    assert subject.state is CLOSED  # every admitted trial succeeded


STRESS_ROUNDS = int(os.environ.get("SLO_HARNESS_BREAKER_STRESS_ROUNDS", "2"))
"""Rounds of the real-clock stress test: 2 in the suite; set the variable for a long run."""


@pytest.mark.parametrize("form", ["with", "try_acquire"])
def test_16_threads_on_the_real_clock_never_leave_half_open_stuck(form: str) -> None:
    for _ in range(STRESS_ROUNDS):
        stress_round(form, calls=2_000)


def stress_round(form: str, calls: int) -> None:
    """Run 16 threads × ``calls`` random outcomes on the real clock; assert liveness and counts.

    A wait of 0 makes every rejection race a half-opening, and no max wait in HALF_OPEN means
    only answered trials can end it: a dropped trial would leave it stuck, rejecting forever.
    """
    subject = CircuitBreaker(
        "stress",
        sliding_window_size=8,
        minimum_number_of_calls=4,
        wait_duration_in_open_state=1e-9,  # any later reading of the clock ends it
        permitted_number_of_calls_in_half_open_state=3,
        ignore_exceptions=[KeyError],
    )
    heard: Counter[CallOutcome] = Counter()
    heard_lock = threading.Lock()

    def hear(at: int, outcome: CallOutcome, duration: int) -> None:
        with heard_lock:
            heard[outcome] += 1

    subject.add_call_listener(hear)
    made = [Counter[str]() for _ in range(THREADS)]

    def work(index: int) -> None:
        draw = random.Random(index).random
        for _ in range(calls):
            made[index][one_call(subject, form, draw())] += 1

    run_threads(work)
    total = sum(made, Counter())
    assert sum(heard.values()) == THREADS * calls
    assert heard[CallOutcome.NOT_PERMITTED] == total["rejected"]
    # Liveness: with every call answered, a few more calls must get through.
    admitted = 0
    for _ in range(50):
        admitted += one_call(subject, form, 0.99) != "rejected"  # successes
    assert admitted > 0, f"stuck in {subject.state.name}: {subject.metrics()}"
    assert subject.state is CLOSED


def one_call(subject: CircuitBreaker, form: str, draw: float) -> str:
    """Make one call through ``subject``: a failure, an ignored error or a success."""
    kind = "boom" if draw < 0.4 else "ignored" if draw < 0.5 else "ok"
    if form == "try_acquire":
        permit = subject.try_acquire_permission()
        if permit is None:
            return "rejected"
        report = {"boom": subject.on_error, "ignored": subject.on_ignored}
        report.get(kind, subject.on_success)(0, permit=permit)
        return kind
    try:
        with subject:
            if kind == "boom":
                raise Boom
            if kind == "ignored":
                raise KeyError(kind)
    except CircuitOpenError:
        return "rejected"
    except (Boom, KeyError):
        pass
    return kind
