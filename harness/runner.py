"""Run one scenario end to end and return its :class:`~harness.result.Result`.

The HTTP engine sends every request through a real ``httpx.AsyncClient`` whose transport is the
respx router of :mod:`harness.upstreams`, guarded by the upstream's breaker, on a
:class:`~harness.clock.VirtualEventLoop`. Arrivals are clock events; at one instant an upstream's
answer is handled before a new arrival, and everything an event sets off finishes before the
next event fires, so a run is a pure function of (scenario, seed).
"""

from __future__ import annotations

import asyncio
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from harness.adapters import Guard, create_guard
from harness.breaker import CircuitOpenError
from harness.clock import VirtualClock, VirtualEventLoop
from harness.events import BreakerState, Outcome
from harness.metrics import (
    SampleLog,
    View,
    breaker_summary,
    timeseries,
    view_stats,
)
from harness.result import Result, RunInfo, ScenarioSource, UpstreamResult
from harness.rng import stream
from harness.scenario import Scenario, Upstream
from harness.slo import evaluate
from harness.traffic import arrivals
from harness.upstreams import MockedUpstreams

__all__ = ["TransitionHook", "run"]

ARRIVAL = 1
"""Clock priority of a new request: after any answer due at the same instant."""

TransitionHook = Callable[[str, int, BreakerState, BreakerState], None]
"""Called as ``hook(upstream, at_ns, source, target)`` on every breaker transition."""

_REAL_CLOCK = time.perf_counter  # bound now: freezegun may patch time.* during a run


class UpstreamStatusError(Exception):
    """An upstream answered with an error status; raised so every breaker sees a failure."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"upstream answered HTTP {status}")


def run(
    scenario: Scenario,
    *,
    seed: int | None = None,
    source: ScenarioSource | None = None,
    on_transition: TransitionHook | None = None,
) -> Result:
    """Run ``scenario`` (with ``seed`` instead of its own, if given) and return the Result."""
    seed = scenario.seed if seed is None else seed
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    began = _REAL_CLOCK()
    loop = VirtualEventLoop()
    try:
        logs, guards, reached = loop.run_until_complete(
            _HttpRun(scenario, seed, loop.clock, on_transition).execute()
        )
        end_ns = max(scenario.duration, loop.clock.now_ns)
    finally:
        loop.close()
    run_info = RunInfo(
        wall_time_s=_REAL_CLOCK() - began,
        started_at=started_at,
        python=sys.version.split()[0],
        platform=platform.platform(),
        harness_version=_version(),
    )
    upstreams = {
        name: _upstream_result(name, scenario, logs[name], guards[name], end_ns, reached[name])
        for name in scenario.upstreams
    }
    return Result(
        scenario=scenario,
        seed=seed,
        engine="http",
        end_ns=end_ns,
        upstreams=upstreams,
        source=source or ScenarioSource(None, None),
        run_info=run_info,
    )


def _upstream_result(
    name: str, scenario: Scenario, log: SampleLog, guard: Guard, end_ns: int, reached: int
) -> UpstreamResult:
    samples = log.freeze()
    method = scenario.percentile_method
    views = {view: view_stats(samples, view, method) for view in View}
    breaker = None
    if guard.impl is not None:
        breaker = breaker_summary(guard.impl, guard.initial_state, samples.transitions, end_ns)
    verdicts = tuple(evaluate(obj, views, breaker) for obj in scenario.upstreams[name].slo)
    return UpstreamResult(
        name=name,
        samples=samples,
        views=views,
        breaker=breaker,
        verdicts=verdicts,
        timeseries=timeseries(samples, breaker, end_ns, method),
        reached_upstream=reached,
    )


def _version() -> str:
    from harness import __version__

    return __version__


@dataclass
class _Lane:
    """One upstream's traffic: its arrivals, breaker, log and requests in flight."""

    name: str
    url: str
    upstream: Upstream
    guard: Guard
    log: SampleLog
    arrivals: Iterator[int]
    in_flight: int = 0
    exhausted: bool = False
    finished: bool = False


class _HttpRun:
    """Drive every upstream's traffic through httpx → breaker → respx, on the virtual loop."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        clock: VirtualClock,
        on_transition: TransitionHook | None,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.clock = clock
        self.on_transition = on_transition
        self._busy_lanes = 0
        self._finished: asyncio.Future[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def execute(self) -> tuple[dict[str, SampleLog], dict[str, Guard], dict[str, int]]:
        scenario, clock = self.scenario, self.clock
        mocks = MockedUpstreams(scenario, self.seed, clock)
        self._finished = asyncio.get_running_loop().create_future()
        logs: dict[str, SampleLog] = {}
        guards: dict[str, Guard] = {}
        lanes: list[_Lane] = []
        for name, upstream in scenario.upstreams.items():
            log = logs[name] = SampleLog()
            guard = guards[name] = create_guard(
                upstream.breaker, name, clock, self._listener(name, log)
            )
            if upstream.traffic is None:
                continue
            times = arrivals(
                upstream.traffic, scenario.duration, stream(self.seed, name, "arrivals")
            )
            lanes.append(_Lane(name, scenario.url_of(name), upstream, guard, log, times))
        async with httpx.AsyncClient(transport=mocks.transport) as client:
            self._client = client
            for lane in lanes:
                self._busy_lanes += 1
                self._schedule_next(lane)
            if self._busy_lanes:
                await self._finished
        return logs, guards, mocks.reached

    def _listener(
        self, name: str, log: SampleLog
    ) -> Callable[[int, BreakerState, BreakerState], None]:
        hook = self.on_transition

        def record(at_ns: int, source: BreakerState, target: BreakerState) -> None:
            log.transition(at_ns, source, target)
            if hook is not None:
                hook(name, at_ns, source, target)

        return record

    def _schedule_next(self, lane: _Lane) -> None:
        at_ns = next(lane.arrivals, None)
        if at_ns is None:
            lane.exhausted = True
            self._maybe_finish(lane)
            return
        self.clock.schedule(at_ns, ARRIVAL, lambda: self._arrive(lane))

    def _arrive(self, lane: _Lane) -> None:
        now = self.clock.now_ns
        traffic = lane.upstream.traffic
        assert traffic is not None
        if traffic.concurrency is not None and lane.in_flight >= traffic.concurrency:
            lane.log.record(now, 0, Outcome.DROPPED, 0, lane.guard.state())
        else:
            lane.in_flight += 1
            asyncio.get_running_loop().create_task(self._request(lane, now))
        self._schedule_next(lane)

    async def _request(self, lane: _Lane, start_ns: int) -> None:
        traffic = lane.upstream.traffic
        assert traffic is not None
        assert self._client is not None
        client, guard = self._client, lane.guard
        admitted_state = BreakerState.NONE

        async def attempt() -> httpx.Response:
            nonlocal admitted_state
            admitted_state = guard.state()
            response = await client.request(
                traffic.method, lane.url + traffic.path.lstrip("/"), timeout=traffic.timeout / 1e9
            )
            if response.status_code >= 400:
                raise UpstreamStatusError(response.status_code)
            return response

        status = 0
        try:
            response = await guard.call(attempt)
            outcome, status = Outcome.SUCCESS, response.status_code
        except CircuitOpenError:
            outcome, admitted_state = Outcome.SHORT_CIRCUITED, guard.state()
        except UpstreamStatusError as error:
            outcome, status = Outcome.HTTP_ERROR, error.status
        except httpx.TimeoutException:
            outcome = Outcome.TIMEOUT
        except httpx.ConnectError:
            outcome = Outcome.CONNECT_ERROR
        except httpx.TransportError:
            outcome = Outcome.CONNECTION_RESET
        lane.log.record(start_ns, self.clock.now_ns - start_ns, outcome, status, admitted_state)
        lane.in_flight -= 1
        self._maybe_finish(lane)

    def _maybe_finish(self, lane: _Lane) -> None:
        if lane.exhausted and lane.in_flight == 0 and not lane.finished:
            lane.finished = True
            self._busy_lanes -= 1
            if self._busy_lanes == 0 and self._finished is not None:
                self._finished.set_result(None)
