from __future__ import annotations

import asyncio
import datetime
import threading
import time

import pytest

from harness import VirtualClock, VirtualEventLoop, VirtualTimeError, WallClockPatch
from harness.clock import VIRTUAL_EPOCH


def run(coroutine_function, **loop_options):  # type: ignore[no-untyped-def]
    loop = VirtualEventLoop(**loop_options)
    try:
        return loop.run_until_complete(coroutine_function()), loop.clock
    finally:
        loop.close()


def test_an_hour_of_sleep_costs_no_real_time() -> None:
    async def sleep_an_hour() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(3600)
        return loop.time() - start

    elapsed, clock = run(sleep_an_hour)
    assert elapsed == 3600.0
    assert clock.now_ns == 3_600_000_000_000


def test_concurrent_sleeps_overlap_in_virtual_time() -> None:
    async def overlapping() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        finished: list[tuple[str, float]] = []

        async def worker(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            finished.append((name, loop.time()))

        await asyncio.gather(worker("slow", 2.0), worker("fast", 0.5), worker("mid", 1.0))
        return finished

    finished, clock = run(overlapping)
    assert finished == [("fast", 0.5), ("mid", 1.0), ("slow", 2.0)]
    assert clock.now_ns == 2_000_000_000  # not 3.5 s: the sleeps overlapped


def test_clock_events_fire_in_time_then_priority_then_fifo_order() -> None:
    clock = VirtualClock()
    fired: list[str] = []
    clock.schedule(20, 1, lambda: fired.append("t20 p1 first"))
    clock.schedule(10, 1, lambda: fired.append("t10 p1"))
    clock.schedule(20, 0, lambda: fired.append("t20 p0"))
    clock.schedule(20, 1, lambda: fired.append("t20 p1 second"))
    clock.run()
    assert fired == ["t10 p1", "t20 p0", "t20 p1 first", "t20 p1 second"]
    assert clock.now_ns == 20
    with pytest.raises(ValueError, match="before now"):
        clock.schedule(5, 0, lambda: None)


def test_clock_events_and_asyncio_timers_interleave_by_time() -> None:
    async def mixed() -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualEventLoop)
        seen: list[tuple[str, int]] = []
        clock = loop.clock
        clock.schedule(1_500_000_000, 0, lambda: seen.append(("event", clock.now_ns)))
        await asyncio.sleep(1)
        seen.append(("sleep 1s", clock.now_ns))
        await asyncio.sleep(1)
        seen.append(("sleep 2s", clock.now_ns))
        return seen

    seen, _ = run(mixed)
    assert seen == [("sleep 1s", 10**9), ("event", 1_500_000_000), ("sleep 2s", 2 * 10**9)]


def test_a_deadlock_is_an_error_not_a_hang() -> None:
    async def wait_forever() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(VirtualTimeError, match="nothing scheduled"):
        run(wait_forever, real_io_wait=0)


def test_threads_still_wake_the_loop() -> None:
    async def from_thread() -> int:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        worker = threading.Thread(target=lambda: loop.call_soon_threadsafe(future.set_result, 42))
        worker.start()
        try:
            return await future
        finally:
            worker.join()

    assert run(from_thread)[0] == 42


def test_executor_work_lands_at_the_instant_it_was_handed_over() -> None:
    # A real thread's answer would land after a real delay, when virtual time may have jumped
    # on to a pending timer: where it lands would change from run to run.
    async def handed_over() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        timer = loop.create_task(asyncio.sleep(0.001))
        await asyncio.sleep(0)  # the timer is pending before the work is handed over
        moved = threading.Event()
        loop.clock.add_listener(lambda _now: moved.set())

        def blocking_work() -> bool:
            # In a worker thread this would block until virtual time moved on (as slow real
            # work lets it); handed over inline, it never waits.
            return threading.current_thread() is threading.main_thread() or moved.wait(5)

        before = loop.time()
        await asyncio.to_thread(blocking_work)
        after = loop.time()
        await timer
        return before, after

    before, after = run(handed_over)[0]
    assert after == before == 0.0


def test_wall_clock_follows_the_virtual_clock() -> None:
    async def read_clocks() -> tuple[float, float, datetime.datetime]:
        await asyncio.sleep(90)
        return time.time(), time.monotonic(), datetime.datetime.now(datetime.UTC)

    (wall, monotonic, now), _ = run(read_clocks, wall_clock=True)
    expected = VIRTUAL_EPOCH + datetime.timedelta(seconds=90)
    assert wall == expected.timestamp()
    assert monotonic == expected.timestamp()
    assert now == expected
    assert abs(time.time() - wall) > 3600  # the patch ended with the loop


def test_aiobreaker_recovers_across_a_virtual_sleep() -> None:
    aiobreaker = pytest.importorskip("aiobreaker")

    async def cycle() -> list[str]:
        breaker = aiobreaker.CircuitBreaker(
            fail_max=2, timeout_duration=datetime.timedelta(seconds=30)
        )

        async def fail() -> None:
            raise ConnectionError("down")

        async def succeed() -> str:
            return "ok"

        states = []
        for _ in range(2):
            with pytest.raises((ConnectionError, aiobreaker.CircuitBreakerError)):
                await breaker.call_async(fail)
        states.append(breaker.current_state.name)
        with pytest.raises(aiobreaker.CircuitBreakerError):
            await breaker.call_async(succeed)
        await asyncio.sleep(31)
        states.append(await breaker.call_async(succeed))
        states.append(breaker.current_state.name)
        return states

    states, clock = run(cycle, wall_clock=True)
    assert states == ["OPEN", "ok", "CLOSED"]
    assert clock.now_ns == 31 * 10**9


def test_wall_clock_patch_moves_in_whole_microseconds() -> None:
    clock = VirtualClock()
    with WallClockPatch(clock):
        clock.advance_to(1_500)  # 1.5 µs
        first = time.time()
        clock.advance_to(2_000_999)
        second = time.time()
    assert first == VIRTUAL_EPOCH.timestamp() + 1e-6
    assert second == pytest.approx(VIRTUAL_EPOCH.timestamp() + 0.002, abs=1e-9)


def test_a_blocking_call_delays_due_events_which_then_run_late() -> None:
    fired: list[tuple[str, int]] = []

    async def main() -> int:
        loop = asyncio.get_running_loop()
        clock = loop.clock  # type: ignore[attr-defined]
        clock.schedule(10_000_000, 0, lambda: fired.append(("clock", clock.now_ns)))
        loop.call_later(0.02, lambda: fired.append(("timer", clock.now_ns)))
        clock.block(50_000_000)  # a blocking call: nothing else may run meanwhile
        fired.append(("unblocked", clock.now_ns))
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return int(clock.now_ns)

    end, _clock = run(main)
    assert fired[0] == ("unblocked", 50_000_000)
    # Both were due during the block: they ran after it, late, at the advanced time.
    assert sorted(fired[1:]) == [("clock", 50_000_000), ("timer", 50_000_000)]
    assert end == 51_000_000


def test_block_refuses_a_negative_duration() -> None:
    with pytest.raises(ValueError, match="negative"):
        VirtualClock().block(-1)
