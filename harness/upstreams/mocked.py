"""Mocked upstream APIs: respx routes that answer with seeded faults, in virtual time.

Each upstream of a scenario gets a route matching its base URL. A request reaching it draws its
fault (see :mod:`harness.upstreams.faults`) at the current virtual time, waits the drawn latency on
the virtual clock, then answers with a status or raises the httpx exception a real failure raises:
``httpx.ReadTimeout`` when the latency reaches the client's read timeout (or the upstream never
answers), ``httpx.ConnectError`` for a refused connection, ``httpx.ReadError`` for a reset one.

A client without a read timeout waiting on an upstream that never answers gives up after
``HANG_LIMIT`` of virtual time, so a run always ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import httpx
import respx

from harness.clock import VirtualClock
from harness.events import Outcome
from harness.format.scenario import Scenario
from harness.format.units import NS_PER_S
from harness.upstreams.faults import Fault, FaultSampler, answer
from harness.upstreams.streams import stream

__all__ = ["COMPLETION", "HANG_LIMIT", "MockedUpstreams", "clock_sleep", "respond"]

HANG_LIMIT = 3600 * NS_PER_S
COMPLETION = 0
"""Clock priority of an upstream's answer: at one instant, answers come before new arrivals."""

_FORGET_CALLS_EVERY = 1024  # respx keeps every call in memory unless told to forget


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # the waiting request may have been cancelled meanwhile
        future.set_result(None)


def clock_sleep(clock: VirtualClock, duration_ns: int) -> Awaitable[None]:
    """Return an awaitable that completes ``duration_ns`` later, as a clock event."""
    future = asyncio.get_running_loop().create_future()
    clock.schedule(clock.now_ns + duration_ns, COMPLETION, partial(_wake, future))
    return future


class MockedUpstreams:
    """A respx router mocking every upstream of ``scenario``, with faults from ``seed``."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        clock: VirtualClock,
        *,
        keep_calls: bool = False,
    ) -> None:
        self.clock = clock
        self.keep_calls = keep_calls
        self.router = respx.MockRouter(assert_all_mocked=True, assert_all_called=False)
        self.reached: dict[str, int] = {}
        self._handled = 0
        for name, upstream in scenario.upstreams.items():
            sampler = FaultSampler(upstream, stream(seed, name, "faults"))
            self.reached[name] = 0
            self.router.route(url__startswith=scenario.url_of(name), name=name).mock(
                side_effect=self._handler(name, sampler)
            )
        self.transport = httpx.MockTransport(self.router.async_handler)

    def _handler(
        self, name: str, sampler: FaultSampler
    ) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
        async def handle(request: httpx.Request) -> httpx.Response:
            self._count(name)
            fault = sampler.draw(self.clock.now_ns)
            return await self._answer(request, fault)

        return handle

    def _count(self, name: str) -> None:
        self.reached[name] += 1
        self._handled += 1
        if not self.keep_calls and self._handled % _FORGET_CALLS_EVERY == 0:
            self.router.reset()

    async def _answer(self, request: httpx.Request, fault: Fault) -> httpx.Response:
        outcome, status, after_ns = answer(fault, _read_timeout_ns(request))
        if after_ns:
            await clock_sleep(self.clock, after_ns)
        return respond(request, outcome, status)


def respond(request: httpx.Request, outcome: Outcome, status: int) -> httpx.Response:
    """Return the response for ``outcome``, or raise the httpx exception a real failure raises."""
    if outcome is Outcome.TIMEOUT:
        raise httpx.ReadTimeout("no answer within the client's timeout (injected)", request=request)
    if outcome is Outcome.CONNECT_ERROR:
        raise httpx.ConnectError("connection refused (injected)", request=request)
    if outcome is Outcome.CONNECTION_RESET:
        raise httpx.ReadError("connection reset by peer (injected)", request=request)
    return httpx.Response(status, request=request)


def _read_timeout_ns(request: httpx.Request) -> int:
    timeouts = request.extensions.get("timeout") or {}
    read = timeouts.get("read")
    return HANG_LIMIT if read is None else round(read * NS_PER_S)
