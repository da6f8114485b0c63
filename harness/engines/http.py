"""The HTTP engine: a real ``httpx.AsyncClient`` → breaker → respx-mocked upstreams, in virtual
time on a :class:`~harness.clock.VirtualEventLoop`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import httpx

from harness.clock import VirtualClock, VirtualEventLoop
from harness.engines.lanes import (
    BreakerFault,
    EngineOutput,
    Lane,
    LaneDriver,
    TransitionHook,
)
from harness.errors import HarnessError, VirtualTimeError
from harness.format.scenario import Scenario
from harness.upstreams.mocked import MockedUpstreams

__all__ = ["STUCK_AFTER_S", "run_http"]

STUCK_AFTER_S = 1.0
"""Real seconds an idle run waits for a thread of the code under test before it is stuck."""


def run_http(
    scenario: Scenario, seed: int, clock: VirtualClock, on_transition: TransitionHook | None
) -> EngineOutput:
    """Run ``scenario``'s traffic through httpx and respx on a virtual-time loop."""
    # No thread or socket of the harness's own ever wakes this loop, so a short real wait is
    # enough to tell a stuck run from one waiting on a thread the code under test started.
    loop = VirtualEventLoop(clock, real_io_wait=STUCK_AFTER_S)
    driver = _HttpDriver(scenario, seed, clock, on_transition)
    try:
        return loop.run_until_complete(driver.run())
    except VirtualTimeError as error:
        raise HarnessError(f"the run is stuck: {driver.stuck()}") from error
    finally:
        _cancel_leftovers(loop)
        loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the requests a stopped run left in flight, so none is destroyed while pending."""
    leftovers = asyncio.all_tasks(loop)
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


class _HttpDriver(LaneDriver):
    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        clock: VirtualClock,
        on_transition: TransitionHook | None,
    ) -> None:
        super().__init__(scenario, seed, clock, on_transition)
        self._mocks = MockedUpstreams(scenario, seed, clock)
        self._client = httpx.AsyncClient(transport=self._mocks.transport)
        self._done: asyncio.Future[None] | None = None

    async def run(self) -> EngineOutput:
        self._done = asyncio.get_running_loop().create_future()
        async with self._client:
            if self.start():
                await self._done
        return self.output(self._mocks.reached)

    def all_done(self) -> None:
        assert self._done is not None
        self._done.set_result(None)

    def stuck(self) -> str:
        """Describe requests in flight that nothing in virtual time will finish."""
        waiting = [f"{lane.in_flight} on {lane.name!r}" for lane in self.lanes if lane.in_flight]
        return (
            f"at {self.clock.now_ns / 1e9:g}s of virtual time, requests in flight ("
            + ", ".join(waiting or ["none"])
            + ") wait for something nothing will ever complete: a breaker or client under test "
            "awaits an event, lock or future that is never set"
        )

    def fail(self, lane: Lane, error: BaseException) -> None:
        # Raised inside a request's task, the fault would die with the task and leave the run
        # waiting for a request that never ends: end the run with it instead.
        assert self._done is not None
        if not self._done.done():
            self._done.set_exception(BreakerFault(lane.name, lane.guard.impl, error))

    def start_request(self, lane: Lane, row: int, start_ns: int) -> None:
        traffic, client = lane.traffic, self._client

        def send() -> Awaitable[httpx.Response]:
            return client.request(traffic.method, lane.url, timeout=traffic.timeout / 1e9)

        asyncio.get_running_loop().create_task(self.guarded_request(lane, row, start_ns, send))
