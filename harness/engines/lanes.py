"""The request lifecycle both engines share: arrivals, concurrency cap, breaker, recording.

For each upstream with traffic a :class:`Lane` schedules its arrivals on the clock one at a
time. At an arrival: a request over the concurrency cap is recorded as dropped; otherwise the
next arrival is scheduled and the engine starts the request. The breaker is asked at once; the
fault is drawn when the request reaches the upstream; the answer comes back as a clock event
(priority :data:`COMPLETION`, before arrivals at the same instant); its outcome goes to the
breaker, then to the log. The engines differ only in how a request travels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from harness.breakers.adapters import Guard, create_guard
from harness.breakers.builtin import CircuitOpenError
from harness.clock import VirtualClock
from harness.engines.policies import LanePolicy, lane_policies
from harness.errors import HarnessError
from harness.events import BreakerState, Outcome, UpstreamStatusError, classify
from harness.format.scenario import Scenario, Traffic
from harness.upstreams.mocked import COMPLETION
from harness.upstreams.streaming import FIRST_BYTE, NO_FIRST_BYTE
from harness.upstreams.streams import stream
from harness.upstreams.traffic import arrivals
from harness.verdicts.metrics import SampleLog

if TYPE_CHECKING:
    from harness.engines.service import ServiceOutput

__all__ = [
    "ARRIVAL",
    "COMPLETION",
    "BreakerFault",
    "EngineOutput",
    "Lane",
    "LaneDriver",
    "TransitionHook",
]

ARRIVAL = 1
"""Clock priority of a new request."""

TransitionHook = Callable[[str, int, BreakerState, BreakerState], None]
"""Called as ``hook(upstream, at_ns, source, target)`` on every breaker transition."""


class BreakerFault(HarnessError):
    """The breaker under test raised something that stands for no answer of the upstream."""

    def __init__(self, upstream: str, impl: str | None, error: BaseException) -> None:
        self.upstream = upstream
        self.error = error
        super().__init__(
            f"upstream {upstream!r}: the breaker under test ({impl}) raised "
            f"{type(error).__name__}: {error} — not a rejection and not an upstream answer; "
            "the run stopped"
        )


@dataclass(frozen=True)
class EngineOutput:
    """What an engine hands back: per upstream, its log, its guard and its upstream hits."""

    logs: dict[str, SampleLog]
    guards: dict[str, Guard]
    reached: dict[str, int]
    end_ns: int
    service: ServiceOutput | None = None
    """What entry points did (attempt logs, attempts per caller), when any ran."""
    attempt_logs: dict[str, SampleLog] = field(default_factory=dict)
    """Per upstream whose traffic retries, every attempt that reached it (its upstream view)."""
    routes: dict[str, dict[str, int]] = field(default_factory=dict)
    """Requests each route answered, by upstream and route label (upstreams with routes)."""


@dataclass(eq=False)
class Lane:
    """One upstream's traffic: its arrivals, breaker, log and requests in flight."""

    name: str
    url: str
    traffic: Traffic
    guard: Guard
    log: SampleLog
    arrivals: Iterator[int]
    in_flight: int = 0
    exhausted: bool = False
    finished: bool = False
    policy: LanePolicy | None = None
    """Its pool and retries, if it has any (see :mod:`harness.engines.policies`)."""
    hedges: int = 0
    """Hedged attempts in flight: not requests (no slot of ``concurrency``), but the lane's
    traffic is not done before they are."""


class LaneDriver:
    """Schedule every lane's arrivals and account for their requests; engines subclass it."""

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
        self.logs: dict[str, SampleLog] = {}
        self.guards: dict[str, Guard] = {}
        self.lanes: list[Lane] = []
        self._busy = 0
        self.streaming = any(
            upstream.stream is not None for upstream in scenario.upstreams.values()
        )
        """Whether some upstream streams its answers: requests then watch for a first byte."""
        for name, upstream in scenario.upstreams.items():
            log = self.logs[name] = SampleLog()
            listener = _listener(name, log, on_transition)
            guard = self.guards[name] = create_guard(upstream.breaker, name, clock, listener)
            if upstream.traffic is not None:
                rng = stream(seed, name, "arrivals")
                times = arrivals(upstream.traffic, scenario.duration, rng)
                # url_of ends in "/" and the path is relative to it (see Scenario.url_of).
                url = scenario.url_of(name) + upstream.traffic.path.lstrip("/")
                self.lanes.append(Lane(name, url, upstream.traffic, guard, log, times))
        self.policies = lane_policies(scenario, seed, clock, self.logs, self.guards)
        self.pools = list({id(p.pool): p.pool for p in self.policies.values() if p.pool}.values())
        for lane in self.lanes:
            lane.policy = self.policies.get(lane.name)

    def start(self) -> bool:
        """Schedule every lane's first arrival; return False when there is no traffic at all."""
        self._busy = len(self.lanes)  # all counted first: a lane with no arrivals ends at once
        for lane in self.lanes:
            self._schedule_next(lane)
        return self._busy > 0

    def all_done(self) -> None:
        """Called once when every lane has finished; engines override it."""

    def start_request(self, lane: Lane, row: int, start_ns: int) -> None:
        """Send one request admitted to the lane (its log row is ``row``); engines implement it."""
        raise NotImplementedError

    def _schedule_next(self, lane: Lane) -> None:
        at_ns = next(lane.arrivals, None)
        if at_ns is None:
            lane.exhausted = True
            self._maybe_finish(lane)
            return
        # After a blocking call (VirtualClock.block) an arrival may be overdue: it is handled
        # late, as a real blocked loop would, but keeps its arrival time, so the queueing delay
        # counts in its latency (no coordinated omission).
        fire_ns = max(at_ns, self.clock.now_ns)
        self.clock.schedule(fire_ns, ARRIVAL, lambda: self._arrive(lane, at_ns))

    def _arrive(self, lane: Lane, now: int) -> None:
        cap = lane.traffic.concurrency
        if cap is not None and lane.in_flight >= cap:
            lane.log.record(now, 0, Outcome.DROPPED, 0, lane.guard.state())
            self._schedule_next(lane)
            return
        lane.in_flight += 1
        row = lane.log.open(now)
        self._schedule_next(lane)
        self.start_request(lane, row, now)

    async def guarded_request(
        self, lane: Lane, row: int, start_ns: int, send: Callable[[], Awaitable[httpx.Response]]
    ) -> None:
        """Send one request with ``send`` through the lane's breaker; record how it ended.

        The breaker's state is read when it admits the call (or, for a rejected call, after it
        refused); an answer of 400 or more is raised so that every breaker sees a failure.
        """
        guard = lane.guard
        admitted_state = BreakerState.NONE
        first_byte = self.watch_first_byte()

        async def attempt() -> httpx.Response:
            nonlocal admitted_state
            admitted_state = guard.state()
            response = await send()
            if response.status_code >= 400:
                raise UpstreamStatusError(response.status_code)
            return response

        try:
            response = await guard.call(attempt)
        except CircuitOpenError:
            outcome, status, admitted_state = Outcome.SHORT_CIRCUITED, 0, guard.state()
        except Exception as error:
            known = classify(error)
            if known is None:
                self.fail(lane, error)
                return
            outcome, status = known
        else:
            outcome, status = Outcome.SUCCESS, response.status_code
        self.record_first_byte(lane, row, start_ns, first_byte)
        self.finish_request(lane, row, start_ns, outcome, status, admitted_state)

    def watch_first_byte(self) -> list[int] | None:
        """In a request's task: have a streamed answer read there note its first chunk's time."""
        if not self.streaming:
            return None
        holder = [NO_FIRST_BYTE]
        FIRST_BYTE.set(holder)
        return holder

    @staticmethod
    def record_first_byte(lane: Lane, row: int, start_ns: int, holder: list[int] | None) -> None:
        """Record the time to first byte a request saw, if a streamed answer sent it one."""
        if holder is not None and holder[0] != NO_FIRST_BYTE:
            lane.log.ttfb_ns[row] = holder[0] - start_ns

    def fail(self, lane: Lane, error: BaseException) -> None:
        """Stop the run: the breaker under test raised something that is no upstream answer."""
        raise BreakerFault(lane.name, lane.guard.impl, error) from error

    def finish_request(
        self,
        lane: Lane,
        row: int,
        start_ns: int,
        outcome: Outcome,
        status: int,
        state: BreakerState,
    ) -> None:
        """Record a finished request in its row and free its slot."""
        lane.log.close(row, self.clock.now_ns - start_ns, outcome, status, state)
        lane.in_flight -= 1
        self._maybe_finish(lane)

    def maybe_finish(self, lane: Lane) -> None:
        """End the lane if its arrivals are over and nothing of it is in flight."""
        self._maybe_finish(lane)

    def _maybe_finish(self, lane: Lane) -> None:
        if lane.exhausted and lane.in_flight == 0 and not lane.finished and not lane.hedges:
            lane.finished = True
            self._busy -= 1
            if self._busy == 0:
                self.all_done()

    def output(
        self,
        reached: dict[str, int],
        service: ServiceOutput | None = None,
        routes: dict[str, dict[str, int]] | None = None,
    ) -> EngineOutput:
        """Return the engine's output, the run ending no earlier than the scenario's duration."""
        end_ns = max(self.scenario.duration, self.clock.now_ns)
        for guard in self.guards.values():
            finish = getattr(guard, "finish", None)  # a guard that can make timed moves
            if finish is not None:
                finish(end_ns)
        attempt_logs = {
            name: policy.attempts
            for name, policy in self.policies.items()
            if policy.attempts is not None
        }
        return EngineOutput(
            self.logs, self.guards, reached, end_ns, service, attempt_logs, routes or {}
        )


def _listener(
    name: str, log: SampleLog, hook: TransitionHook | None
) -> Callable[[int, BreakerState, BreakerState], None]:
    def record(at_ns: int, source: BreakerState, target: BreakerState) -> None:
        log.transition(at_ns, source, target)
        if hook is not None:
            hook(name, at_ns, source, target)

    return record
