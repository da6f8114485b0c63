"""The one virtual clock, and its bridges to asyncio and to freezegun.

:class:`VirtualClock` keeps time in whole nanoseconds and a queue of timed events, fired in
``(time, priority, order of scheduling)`` order. That order is the harness's definition of what
happens first when two things happen at the same instant, so every engine agrees on it.

:class:`VirtualEventLoop` is an asyncio loop whose ``time()`` is the clock. Its selector never
blocks: when the loop has nothing ready, the clock jumps straight to the next asyncio timer or
clock event, whichever is first. A clock event fires only when the loop is idle at the current
instant, so everything one event sets off (an httpx response travelling back to the caller, a
breaker recording it) finishes before the next event fires.

:class:`WallClockPatch` makes ``time.time``, ``time.monotonic`` and ``datetime.now`` follow the
clock (through freezegun) for code that reads them, such as third-party breakers. Entering it
costs milliseconds and each tick microseconds, so the harness enters it once per run and only
when something needs it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import selectors
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from harness.errors import VirtualTimeError

__all__ = [
    "VIRTUAL_EPOCH",
    "VirtualClock",
    "VirtualEventLoop",
    "WallClockPatch",
    "monotonic_or_virtual_ns",
    "running_clock",
]

VIRTUAL_EPOCH = datetime(2030, 1, 1, tzinfo=UTC)
"""The wall-clock date at virtual time zero."""

Event = tuple[int, int, int, Callable[[], object]]


class VirtualClock:
    """Virtual time in whole nanoseconds, and the queue of events due at future instants."""

    __slots__ = ("_listeners", "_order", "_queue", "now_ns")

    def __init__(self, start_ns: int = 0) -> None:
        self.now_ns = start_ns
        self._queue: list[tuple[Any, ...]] = []  # Events, and the direct engine's own tuples
        self._order = itertools.count(1)  # shared with engines that push events themselves
        self._listeners: list[Callable[[int], None]] = []

    @property
    def now(self) -> float:
        """Return the current virtual time in seconds."""
        return self.now_ns / 1e9

    def schedule(self, at_ns: int, priority: int, callback: Callable[[], object]) -> None:
        """Call ``callback`` at ``at_ns``; among equal times, lower priority first, then FIFO."""
        if at_ns < self.now_ns:
            raise ValueError(f"cannot schedule at {at_ns} ns, before now ({self.now_ns} ns)")
        heapq.heappush(self._queue, (at_ns, priority, next(self._order), callback))

    def internals(
        self,
    ) -> tuple[list[tuple[Any, ...]], Iterator[int], list[Callable[[int], None]]]:
        """Return the event heap, its order counter and the listeners, for an engine that
        drives the queue itself (the direct engine: no closure per event).

        Such an engine pushes ``(at_ns, priority, next(order), ...)`` tuples of its own, pops
        them in the same order, and hands every 4-tuple (one :meth:`schedule` pushed) back to
        its callback; it must call :meth:`advance_to` when time moves and listeners listen.
        """
        return self._queue, self._order, self._listeners

    def next_event_ns(self) -> int | None:
        """Return the time of the next scheduled event, or None when none is left."""
        return self._queue[0][0] if self._queue else None

    def fire_next(self) -> None:
        """Advance to the next event and call it."""
        at_ns, _, _, callback = heapq.heappop(self._queue)
        self.advance_to(at_ns)
        callback()

    def run(self) -> None:
        """Fire events in order until none is left (the engine without an event loop)."""
        while self._queue:
            self.fire_next()

    def advance_to(self, at_ns: int) -> None:
        """Move time forward to ``at_ns`` (never backward) and tell the listeners."""
        if at_ns <= self.now_ns:
            return
        self.now_ns = at_ns
        for listener in self._listeners:
            listener(at_ns)

    def block(self, duration_ns: int) -> None:
        """Move time forward by ``duration_ns`` at once, firing nothing: a blocked event loop.

        Events due meanwhile stay queued and fire afterwards, late, at the advanced time (the
        clock never goes back), as callbacks do in a real loop after a blocking call.
        """
        if duration_ns < 0:
            raise ValueError(f"cannot block for a negative duration ({duration_ns} ns)")
        self.advance_to(self.now_ns + duration_ns)

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(now_ns)`` whenever time moves."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[int], None]) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)


class _VirtualSelector(selectors.BaseSelector):
    """A selector that polls real file descriptors without blocking and jumps virtual time."""

    def __init__(self, clock: VirtualClock, real_io_wait: float) -> None:
        self._clock = clock
        self._real = selectors.DefaultSelector()
        self._real_io_wait = real_io_wait

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        # Nothing is ready at this instant: the loop is idle, so time may move.
        clock = self._clock
        next_event = clock.next_event_ns()
        if timeout is None:
            if next_event is not None:
                clock.fire_next()
                return []
            return self._wait_for_real_io()
        # asyncio asks for a timeout in float seconds; the clock counts whole nanoseconds.
        timer_ns = clock.now_ns + max(1, round(timeout * 1e9))
        if next_event is not None and next_event <= timer_ns:
            clock.fire_next()
        else:
            clock.advance_to(timer_ns)
        return []

    def _wait_for_real_io(self) -> list[tuple[selectors.SelectorKey, int]]:
        # Nothing is scheduled in virtual time, so only real I/O (a thread finishing through
        # the loop's self-pipe) can wake the loop. Wait for it a bounded real time, then stop
        # with an error: waiting forever would hang the test run.
        ready = self._real.select(self._real_io_wait)
        if ready:
            return ready
        raise VirtualTimeError(
            f"the virtual loop is idle at {self._clock.now_ns / 1e9:.9f}s with nothing scheduled "
            f"and no real I/O within {self._real_io_wait}s: a task awaits something nothing will "
            "ever complete"
        )

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop that runs in virtual time: sleeping costs no real time.

    Real network I/O does not mix with virtual time (a socket's reply takes real time, which
    this loop does not wait for); use it with mocked transports, as the harness does.

    With ``wall_clock=True`` the loop also makes ``time.time``, ``time.monotonic`` and
    ``datetime.now`` follow its clock (see :class:`WallClockPatch`) until it is closed.
    """

    def __init__(
        self,
        clock: VirtualClock | None = None,
        *,
        wall_clock: bool = False,
        real_io_wait: float = 10.0,
    ) -> None:
        self.clock = clock if clock is not None else VirtualClock()
        super().__init__(selector=_VirtualSelector(self.clock, real_io_wait))
        # asyncio treats timers due within the clock's resolution as due now; the real
        # monotonic clock's resolution (15 ms on some systems) would make timers fire early.
        self._clock_resolution = 1e-9
        self._wall_clock = WallClockPatch(self.clock).__enter__() if wall_clock else None

    def close(self) -> None:
        """Close the loop, and stop patching the wall clock if this loop did."""
        super().close()
        if self._wall_clock is not None:
            self._wall_clock.__exit__(None, None, None)
            self._wall_clock = None

    def time(self) -> float:
        """Return the virtual time in seconds."""
        return self.clock.now_ns / 1e9

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        """Run ``func(*args)`` at once, on the loop's thread; return its settled future.

        A real thread would finish after a real delay, while virtual time may have jumped to
        the next event meanwhile: where its answer lands would change from run to run (SDKs
        hand blocking set-up work to ``asyncio.to_thread``, e.g. OpenAI's platform probe).
        Run inline, it lands at the instant it was handed over, every time.
        """
        future: asyncio.Future[Any] = self.create_future()
        try:
            future.set_result(func(*args))
        except Exception as error:  # delivered to the awaiting code, as a thread's would be
            future.set_exception(error)
        return future


def running_clock() -> VirtualClock:
    """Return the clock of the running virtual event loop; raise if the loop is a real one."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualEventLoop):
        raise RuntimeError(
            "not running on a VirtualEventLoop; mark the test with @pytest.mark.virtual_time"
        )
    return loop.clock


_monotonic_ns = time.monotonic_ns  # bound now: freezegun may patch time.* later


def monotonic_or_virtual_ns() -> int:
    """Return the running virtual loop's time in ns, or ``time.monotonic_ns()`` outside one.

    The default clock of the built-in breaker: created in a ``virtual_time`` test, a breaker
    with no explicit clock follows the test's virtual time (its OPEN wait ends when the test
    sleeps past it); anywhere else it reads real monotonic time, as before.
    """
    loop = asyncio.events._get_running_loop()
    if isinstance(loop, VirtualEventLoop):
        return loop.clock.now_ns
    return _monotonic_ns()


class WallClockPatch:
    """Make ``time.*`` and ``datetime.now`` follow a virtual clock while active."""

    def __init__(self, clock: VirtualClock, epoch: datetime = VIRTUAL_EPOCH) -> None:
        self._clock = clock
        self._epoch = epoch
        self._freezer: Any = None
        self._factory: Any = None
        self._synced_us = 0

    def __enter__(self) -> WallClockPatch:
        from freezegun import freeze_time  # imported here: only runs that need it pay for it

        self._synced_us = self._clock.now_ns // 1000
        self._freezer = freeze_time(self._epoch + timedelta(microseconds=self._synced_us))
        self._factory = self._freezer.start()
        self._clock.add_listener(self._follow)
        return self

    def _follow(self, now_ns: int) -> None:
        now_us = now_ns // 1000  # freezegun counts whole microseconds
        if now_us != self._synced_us:
            self._factory.tick(timedelta(microseconds=now_us - self._synced_us))
            self._synced_us = now_us

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._clock.remove_listener(self._follow)
        self._freezer.stop()
