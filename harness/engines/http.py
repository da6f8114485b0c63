"""The HTTP engine: a real ``httpx.AsyncClient`` → breaker → respx-mocked upstreams, in virtual
time on a :class:`~harness.clock.VirtualEventLoop`.
"""

from __future__ import annotations

import asyncio

import httpx

from harness.breaker import CircuitOpenError
from harness.clock import VirtualClock, VirtualEventLoop
from harness.engines.lanes import (
    EngineOutput,
    Lane,
    LaneDriver,
    TransitionHook,
    UpstreamStatusError,
    classify,
)
from harness.events import BreakerState, Outcome
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
        asyncio.get_running_loop().create_task(self._request(lane, row, start_ns))

    async def _request(self, lane: Lane, row: int, start_ns: int) -> None:
        guard, client, traffic = lane.guard, self._client, lane.traffic
        admitted_state = BreakerState.NONE

        async def attempt() -> httpx.Response:
            nonlocal admitted_state
            admitted_state = guard.state()
            response = await client.request(traffic.method, lane.url, timeout=traffic.timeout / 1e9)
            if response.status_code >= 400:
                raise UpstreamStatusError(response.status_code)
            return response

        try:
            response = await guard.call(attempt)
        except CircuitOpenError:
            outcome, status, admitted_state = Outcome.SHORT_CIRCUITED, 0, guard.state()
        except Exception as error:  # classify re-raises what it does not know
            outcome, status = classify(error)
        else:
            outcome, status = Outcome.SUCCESS, response.status_code
        self.finish_request(lane, row, start_ns, outcome, status, admitted_state)
