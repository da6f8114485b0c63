"""The HTTP engine: a real ``httpx.AsyncClient`` → breaker → respx-mocked upstreams, in virtual
time on a :class:`~harness.clock.VirtualEventLoop`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import httpx

from harness.clock import VirtualClock, VirtualEventLoop
from harness.engines.lanes import (
    EngineOutput,
    Lane,
    LaneDriver,
    TransitionHook,
)
from harness.scenario import Scenario
from harness.upstreams import MockedUpstreams

__all__ = ["run_http"]


def run_http(
    scenario: Scenario, seed: int, clock: VirtualClock, on_transition: TransitionHook | None
) -> EngineOutput:
    """Run ``scenario``'s traffic through httpx and respx on a virtual-time loop."""
    loop = VirtualEventLoop(clock)
    try:
        return loop.run_until_complete(_HttpDriver(scenario, seed, clock, on_transition).run())
    finally:
        loop.close()


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

    def start_request(self, lane: Lane, row: int, start_ns: int) -> None:
        traffic, client = lane.traffic, self._client

        def send() -> Awaitable[httpx.Response]:
            return client.request(traffic.method, lane.url, timeout=traffic.timeout / 1e9)

        asyncio.get_running_loop().create_task(self.guarded_request(lane, row, start_ns, send))
