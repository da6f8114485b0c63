"""The HTTP engine: a real ``httpx.AsyncClient`` → breaker → respx-mocked upstreams, in virtual
time on a :class:`~harness.clock.VirtualEventLoop`; or, for a lane with an entry point, your
code (:mod:`harness.engines.service`) with httpx and httpx2 clients wired to the same mocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx

from harness.clock import VirtualClock, VirtualEventLoop
from harness.engines.lanes import (
    BreakerFault,
    EngineOutput,
    Lane,
    LaneDriver,
    TransitionHook,
)
from harness.engines.policies import Answer, policy_request
from harness.engines.service import (
    HANG_LIMIT_S,
    EntryPoints,
    ServiceContext,
    ServiceRecorder,
    call_entry_point,
    never_returned,
    resolve_all,
    stuck_entry_point,
)
from harness.errors import HarnessError, VirtualTimeError
from harness.events import BreakerState, Outcome, classify
from harness.format.scenario import Scenario, Traffic
from harness.upstreams.answers import retry_after_ns
from harness.upstreams.mocked import COMPLETION, MockedUpstreams, clock_sleep
from harness.upstreams.streams import stream

__all__ = ["STUCK_AFTER_S", "run_http"]

STUCK_AFTER_S = 1.0
"""Real seconds an idle run waits for a thread of the code under test before it is stuck."""


def run_http(
    scenario: Scenario,
    seed: int,
    clock: VirtualClock,
    on_transition: TransitionHook | None,
    entry_points: EntryPoints | None = None,
) -> EngineOutput:
    """Run ``scenario``'s traffic through httpx and respx on a virtual-time loop; lanes with an
    entry point (``entry_points`` first, else the scenario's) call it instead."""
    driver = _HttpDriver(scenario, seed, clock, on_transition, entry_points)  # may refuse
    # No thread or socket of the harness's own ever wakes this loop, so a short real wait is
    # enough to tell a stuck run from one waiting on a thread the code under test started.
    loop = VirtualEventLoop(clock, real_io_wait=STUCK_AFTER_S)
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
        entry_points: EntryPoints | None,
    ) -> None:
        super().__init__(scenario, seed, clock, on_transition)
        # Imported before any traffic: an unusable entry point stops the run (exit 2) at once.
        resolved = resolve_all(scenario, entry_points)
        self._entry_points = {lane: target for lane, (_, target) in resolved.items()}
        self._specs = {lane: spec for lane, (spec, _) in resolved.items()}
        self._recorder: ServiceRecorder | None = None
        if self._entry_points:
            self._recorder = ServiceRecorder(scenario, self._specs)
        self._mocks = MockedUpstreams(
            scenario,
            seed,
            clock,
            via_respx=False,  # nobody adds routes to the engine's own mocks: skip respx's cost
            on_attempt=None if self._recorder is None else self._recorder.attempt,
            on_unmocked=self._unmocked,
        )
        self._client = httpx.AsyncClient(transport=self._mocks.transport)
        # Each lane's URL parsed and timeout built once: httpx would redo both per request, and
        # the request it builds from them is the same.
        self._targets = {
            lane.name: (httpx.URL(lane.url), httpx.Timeout(_attempt_timeout(lane) / 1e9))
            for lane in self.lanes
        }
        # The headers and body the built-in client sends (none unless traffic names them).
        self._extras = {lane.name: _request_extras(lane.traffic) for lane in self.lanes}
        self._httpx2: list[object] = []  # made by the first entry point that asks for it
        self._sync: dict[str, Any] = {}  # sync clients, likewise
        self._randoms = {lane: stream(seed, lane, "entry_point") for lane in self._entry_points}
        self._done: asyncio.Future[None] | None = None
        self._waits = _LoopWaits(clock, self)

    async def run(self) -> EngineOutput:
        self._done = asyncio.get_running_loop().create_future()
        async with self._client:
            try:
                if self.start():
                    await self._done
            finally:
                for client in self._httpx2:
                    await client.aclose()  # type: ignore[attr-defined]
                for sync_client in self._sync.values():
                    sync_client.close()
        service = None if self._recorder is None else self._recorder.output
        return self.output(self._mocks.reached, service, self._mocks.route_hits)

    def _stop(self, error: BaseException) -> None:
        assert self._done is not None
        if not self._done.done():
            self._done.set_exception(error)

    def _unmocked(self, message: str) -> None:
        # The code under test may catch the refusal (SDKs retry and wrap it); the run must
        # still end with it, named, rather than measure a service that called out.
        self._stop(HarnessError(message))

    def all_done(self) -> None:
        assert self._done is not None
        self._done.set_result(None)

    def stuck(self) -> str:
        """Describe requests in flight that nothing in virtual time will finish."""
        for lane in self.lanes:
            if lane.in_flight and lane.name in self._entry_points:
                spec = self._specs[lane.name]
                return stuck_entry_point(spec, lane.name, lane.in_flight, self.clock.now_ns)
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
        self._stop(BreakerFault(lane.name, lane.guard.impl, error))

    def start_request(self, lane: Lane, row: int, start_ns: int) -> None:
        entry_point = self._entry_points.get(lane.name)
        if entry_point is not None:
            coroutine = self._service_request(lane, row, start_ns, entry_point)
            asyncio.get_running_loop().create_task(coroutine)
            return
        if lane.policy is not None:
            coroutine = self._policy_request(lane, row, start_ns)
            asyncio.get_running_loop().create_task(coroutine)
            return
        method, client = lane.traffic.method, self._client
        url, timeout = self._targets[lane.name]
        extra = self._extras[lane.name]

        def send() -> Awaitable[httpx.Response]:
            return client.request(method, url, timeout=timeout, **extra)

        asyncio.get_running_loop().create_task(self.guarded_request(lane, row, start_ns, send))

    async def _policy_request(self, lane: Lane, row: int, start_ns: int) -> None:
        """Send one request through the lane's pool and retries; record how it ended."""
        assert lane.policy is not None
        method, client, clock = lane.traffic.method, self._client, self.clock
        url, full = self._targets[lane.name]
        full_ns = lane.policy.attempt_timeout
        extra = self._extras[lane.name]

        async def send(timeout_ns: int) -> Answer:
            # Cut short by the request's deadline: the mock reads the read timeout back in ns.
            timeout = full if timeout_ns == full_ns else httpx.Timeout(timeout_ns / 1e9)
            try:
                response = await client.request(method, url, timeout=timeout, **extra)
            except Exception as error:
                known = classify(error)
                if known is None:
                    raise
                return known[0], known[1], None
            status = response.status_code
            wait = retry_after_ns(response.headers.get("retry-after"), clock.now_ns)
            return (Outcome.HTTP_ERROR if status >= 400 else Outcome.SUCCESS), status, wait

        try:
            outcome, status, state = await policy_request(
                lane.policy, lane.guard, send, self._waits, clock
            )
        except Exception as error:
            self.fail(lane, error)
            return
        self.finish_request(lane, row, start_ns, outcome, status, state)

    async def _service_request(
        self, lane: Lane, row: int, start_ns: int, entry_point: Callable[..., Any]
    ) -> None:
        """Call the lane's entry point for one request; record its outcome."""
        assert self._recorder is not None
        recorder = self._recorder
        ctx = ServiceContext(
            index=row,
            arrival_ns=start_ns,
            upstream=lane.name,
            clock=self.clock,
            random=self._randoms[lane.name],
            urls=self._mocks.urls,
            httpx=self._client,
            _mocks=self._mocks,
            _httpx2=self._httpx2,
            _sync=self._sync,
        )
        loop = asyncio.get_running_loop()
        spec = self._specs[lane.name]
        hang = loop.call_at(
            loop.time() + HANG_LIMIT_S,
            lambda: self._stop(never_returned(spec, lane.name, start_ns, self.clock.now_ns)),
        )
        admitted = BreakerState.NONE
        guard = lane.guard
        first_byte = self.watch_first_byte()

        async def through_guard(invoke: Callable[[], Awaitable[object]]) -> object:
            async def attempt() -> object:
                nonlocal admitted
                admitted = guard.state()
                return await invoke()

            return await guard.call(attempt)

        def on_exception(error: BaseException) -> None:
            recorder.exception(lane.name, error)

        try:
            outcome, status = await call_entry_point(entry_point, ctx, through_guard, on_exception)
        finally:
            hang.cancel()
        if outcome is Outcome.SHORT_CIRCUITED:
            admitted = guard.state()
        self.record_first_byte(lane, row, start_ns, first_byte)
        self.finish_request(lane, row, start_ns, outcome, status, admitted)


def _attempt_timeout(lane: Lane) -> int:
    """Return the timeout of one attempt of ``lane``'s requests, in ns."""
    return lane.traffic.timeout if lane.policy is None else lane.policy.attempt_timeout


class _LoopWaits:
    """Waits of a request's task, each ended by a clock event (see harness.engines.policies)."""

    def __init__(self, clock: VirtualClock, driver: _HttpDriver) -> None:
        self.clock = clock
        self.driver = driver
        self.lanes = {lane.name: lane for lane in driver.lanes}

    def spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        """Start a hedged attempt now, as a clock event (as the direct engine does); its lane
        counts it in flight, so the run does not end before it does."""
        lane, driver = self.lanes[name], self.driver
        lane.hedges += 1

        async def attempt() -> None:
            try:
                await coroutine
            except Exception as error:
                driver.fail(lane, error)
                return
            lane.hedges -= 1
            driver.maybe_finish(lane)

        def start() -> None:
            asyncio.get_running_loop().create_task(attempt())

        self.clock.schedule(self.clock.now_ns, COMPLETION, start)

    def until(self, at_ns: int) -> Awaitable[None]:
        return clock_sleep(self.clock, at_ns - self.clock.now_ns)

    def park(self) -> tuple[Awaitable[bool], Callable[[bool], None]]:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        clock = self.clock

        def settle(value: bool) -> None:
            if not future.done():
                future.set_result(value)

        def wake(value: bool) -> None:
            clock.schedule(clock.now_ns, COMPLETION, lambda: settle(value))

        return future, wake


def _request_extras(traffic: Traffic) -> dict[str, Any]:
    """Return what ``client.request`` is given besides the method, URL and timeout."""
    extras: dict[str, Any] = {}
    if traffic.headers:
        extras["headers"] = traffic.headers
    if traffic.json_body is not None:
        extras["json"] = traffic.json_body
    if traffic.body is not None:
        extras["content"] = traffic.body.encode()
    return extras
