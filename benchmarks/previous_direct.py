"""The direct engine as it was before it drove the clock's queue itself, kept to be timed beside
the current one in the same run (see bench_direct). The same lifecycle, faults, breaker and clock
as the HTTP engine, with no HTTP stack and no event loop — the clock's event queue is the whole
simulation.

A guard that offers the synchronous interface (the built-in breaker, or no breaker) is driven
through it directly. Any other guard is driven through its ``async call``: the request's
coroutine is stepped by hand, and each time it waits for the upstream's answer it is resumed
by a clock event, exactly when the HTTP engine's request would be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import httpx

from harness.breakers.adapters import SyncGuard
from harness.clock import VirtualClock, VirtualEventLoop
from harness.engines.lanes import (
    COMPLETION,
    EngineOutput,
    Lane,
    LaneDriver,
    TransitionHook,
)
from harness.errors import HarnessError
from harness.events import Outcome
from harness.format.scenario import Scenario
from harness.upstreams.faults import FaultSampler, answer
from harness.upstreams.mocked import respond
from harness.upstreams.streams import stream

__all__ = ["run_previous_direct"]


def run_previous_direct(
    scenario: Scenario, seed: int, clock: VirtualClock, on_transition: TransitionHook | None
) -> EngineOutput:
    """Run ``scenario``'s traffic without the HTTP stack."""
    driver = _DirectDriver(scenario, seed, clock, on_transition)
    try:
        if driver.start():
            clock.run()
    finally:
        driver.close()
    return driver.output(driver.reached)


class _Wait:
    """What a request's coroutine yields while the upstream works: resume me at ``at_ns``."""

    __slots__ = ("at_ns",)

    def __init__(self, at_ns: int) -> None:
        self.at_ns = at_ns

    def __await__(self) -> Generator[_Wait, None, None]:
        yield self


class _DirectDriver(LaneDriver):
    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        clock: VirtualClock,
        on_transition: TransitionHook | None,
    ) -> None:
        super().__init__(scenario, seed, clock, on_transition)
        self.samplers = {
            name: FaultSampler(upstream, stream(seed, name, "faults"))
            for name, upstream in scenario.upstreams.items()
        }
        self.reached = dict.fromkeys(scenario.upstreams, 0)
        self._loop: VirtualEventLoop | None = None  # made when first needed: see _step
        # Decided once per lane: a runtime Protocol check costs microseconds per call.
        self._sync_guards: dict[str, SyncGuard | None] = {
            lane.name: lane.guard if isinstance(lane.guard, SyncGuard) else None
            for lane in self.lanes
        }

    def close(self) -> None:
        """Release the loop lent to code under test, if one was made."""
        if self._loop is not None:
            self._loop.close()

    def start_request(self, lane: Lane, row: int, start_ns: int) -> None:
        guard = self._sync_guards[lane.name]
        if guard is not None:
            self._sync_request(lane, guard, row, start_ns)
        else:
            self._step(self.guarded_request(lane, row, start_ns, self._send(lane)))

    def _reach(self, lane: Lane, at_ns: int) -> tuple[Outcome, int, int]:
        """The request reaches the upstream: draw its fault; return (outcome, status, after)."""
        self.reached[lane.name] += 1
        fault = self.samplers[lane.name].draw(at_ns)
        return answer(fault, lane.traffic.timeout)

    def _sync_request(self, lane: Lane, guard: SyncGuard, row: int, start_ns: int) -> None:
        permit = guard.try_acquire()
        if not permit:
            self.finish_request(lane, row, start_ns, Outcome.SHORT_CIRCUITED, 0, guard.state())
            return
        state = guard.state()
        outcome, status, after_ns = self._reach(lane, start_ns)

        def complete() -> None:
            guard.on_result(outcome, status, after_ns, permit)
            self.finish_request(lane, row, start_ns, outcome, status, state)

        if after_ns:
            self.clock.schedule(start_ns + after_ns, COMPLETION, complete)
        else:
            complete()

    def _send(self, lane: Lane) -> Callable[[], Awaitable[httpx.Response]]:
        """Return how one request reaches the upstream here: a fault drawn, a clock wait."""
        request = httpx.Request(lane.traffic.method, lane.url)

        async def send() -> httpx.Response:
            outcome, status, after_ns = self._reach(lane, self.clock.now_ns)
            if after_ns:
                await _Wait(self.clock.now_ns + after_ns)
            return respond(request, outcome, status)

        return send

    def _step(self, coroutine: Coroutine[Any, Any, None]) -> None:
        # Code under test may look up the running loop (asyncio.Lock, get_running_loop): give
        # it one on the same clock, never run. Whatever would really suspend on it yields an
        # asyncio future here, which this engine cannot drive: say so rather than guess.
        if self._loop is None:
            self._loop = VirtualEventLoop(self.clock)
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self._loop)
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return
        finally:
            asyncio.events._set_running_loop(previous)
        if waiting is None:  # a bare yield (asyncio.sleep(0)): resume at this same instant
            self.clock.schedule(self.clock.now_ns, COMPLETION, lambda: self._step(coroutine))
            return
        if not isinstance(waiting, _Wait):
            coroutine.close()
            raise HarnessError(
                "the breaker under test awaits asyncio machinery the direct engine cannot "
                f"drive ({waiting!r}); run this scenario with engine: http"
            )
        self.clock.schedule(waiting.at_ns, COMPLETION, lambda: self._step(coroutine))
