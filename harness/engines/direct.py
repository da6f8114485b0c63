"""The direct engine: the same lifecycle, faults, breaker and clock as the HTTP engine, with no
HTTP stack and no event loop — the clock's event queue is the whole simulation.

It drives the clock's queue itself (:meth:`~harness.clock.VirtualClock.internals`): an arrival
or an answer is a plain tuple in the heap, keyed ``(time, priority, order)`` exactly as
:meth:`~harness.clock.VirtualClock.schedule` keys a callback, so events fire in the same order
with no closure or object per request. The built-in breaker is driven inline while its CLOSED
count window takes every call (what its own sync forms do, see ``_Machine._succeeded``), and
through its guard otherwise; no breaker costs nothing.

A guard that offers the synchronous interface is driven through it directly. Any other guard
is driven through its ``async call``: the request's coroutine is stepped by hand, and each time
it waits for the upstream's answer it is resumed by a clock event, exactly when the HTTP
engine's request would be.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import httpx

from harness.breakers.adapters import BuiltinGuard, SyncGuard, Unguarded
from harness.clock import VirtualClock, VirtualEventLoop
from harness.engines.direct_policies import UNFINISHED as _UNFINISHED
from harness.engines.direct_policies import PolicyLanes, record
from harness.engines.lanes import (
    ARRIVAL,
    COMPLETION,
    EngineOutput,
    Lane,
    LaneDriver,
    TransitionHook,
)
from harness.engines.policies import Answer, LanePolicy
from harness.errors import HarnessError
from harness.events import BreakerState, Outcome
from harness.format.routes import traffic_route
from harness.format.scenario import Scenario
from harness.upstreams.answers import AnswerMaker
from harness.upstreams.faults import FaultSampler, route_sampler
from harness.upstreams.mocked import respond
from harness.upstreams.streaming import (
    NO_FIRST_BYTE,
    BodyPlanner,
    StreamPlanner,
    body_answers,
    streamed_answers,
)
from harness.upstreams.streams import stream

__all__ = ["run_direct"]

_NONE, _BUILTIN, _SYNC, _ASYNC, _POLICY = range(5)  # how a lane's requests are driven
_SUCCESS, _SHORT, _DROPPED = Outcome.SUCCESS, Outcome.SHORT_CIRCUITED, Outcome.DROPPED
_CLOSED, _NO_STATE = BreakerState.CLOSED, BreakerState.NONE


def run_direct(
    scenario: Scenario, seed: int, clock: VirtualClock, on_transition: TransitionHook | None
) -> EngineOutput:
    """Run ``scenario``'s traffic without the HTTP stack."""
    driver = _DirectDriver(scenario, seed, clock, on_transition)
    try:
        driver.start()
        driver.run()
    finally:
        driver.close()
    return driver.output(driver.reached, None, driver.route_hits())


class _Wait:
    """What a request's coroutine yields while the upstream works: resume me at ``at_ns``."""

    __slots__ = ("at_ns",)

    def __init__(self, at_ns: int) -> None:
        self.at_ns = at_ns

    def __await__(self) -> Generator[_Wait, None, None]:
        yield self


class _Track:
    """One lane's hot state, in slots: what every arrival and answer reads and writes."""

    __slots__ = (
        "answer_at",
        "arrivals",
        "breaker",
        "cap",
        "first_byte",
        "guard",
        "in_flight",
        "kind",
        "lane",
        "latency",
        "minimum",
        "outcome",
        "policy",
        "reached",
        "send",
        "slow_ns",
        "start",
        "state",
        "status",
    )

    def __init__(self, lane: Lane, sampler: FaultSampler) -> None:
        self.lane = lane
        self.guard = guard = lane.guard
        self.arrivals = lane.arrivals
        self.cap = lane.traffic.concurrency
        policy = lane.policy
        self.answer_at = sampler.answers(
            lane.traffic.timeout if policy is None else policy.attempt_timeout
        )
        self.first_byte: list[int] | None = None  # set for a streamed upstream (streaming.py)
        self.in_flight = self.reached = 0
        log = lane.log
        self.start, self.latency, self.outcome = log.start_ns, log.latency_ns, log.outcome
        self.status, self.state = log.status, log.state
        self.breaker: Any = None
        self.slow_ns = self.minimum = 0
        if isinstance(guard, BuiltinGuard):
            self.kind, self.breaker = _BUILTIN, guard.breaker
            self.slow_ns, self.minimum = guard.breaker._slow_ns, guard.breaker._minimum
        elif isinstance(guard, Unguarded):
            self.kind = _NONE
        else:  # a runtime Protocol check costs microseconds: made once per lane
            self.kind = _SYNC if isinstance(guard, SyncGuard) else _ASYNC
        self.policy: LanePolicy | None = lane.policy
        self.send: Callable[[int], Awaitable[Answer]] | None = None
        if lane.policy is not None:
            self.kind = _POLICY


class _DirectDriver(PolicyLanes, LaneDriver):
    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        clock: VirtualClock,
        on_transition: TransitionHook | None,
    ) -> None:
        super().__init__(scenario, seed, clock, on_transition)
        samplers = {
            name: FaultSampler(upstream, stream(seed, name, "faults"))
            for name, upstream in scenario.upstreams.items()
        }
        # The built-in client sends one request shape per lane: its route is known beforehand.
        self._route_of: dict[str, tuple[str, int]] = {}
        for lane in self.lanes:
            upstream = scenario.upstreams[lane.name]
            if upstream.routes:
                index, _ = traffic_route(upstream.routes, scenario.url_of(lane.name), lane.traffic)
                assert index is not None  # the scenario's cross-checks made sure
                rng = stream(seed, lane.name, "faults")
                samplers[lane.name] = route_sampler(upstream, upstream.routes[index], rng)
                self._route_of[lane.name] = (upstream.routes[index].label, index)
        for name in self.policies:
            upstream = scenario.upstreams[name]
            if upstream.routes or upstream.body is not None or upstream.stream is not None:
                # Not yet proven equal to the HTTP engine (Retry-After from a route's or a
                # body's answers, a deadline cutting a stream): refused rather than guessed.
                raise HarnessError(
                    f"upstream {name!r}: pools, retries, fallbacks, timeouts and hedges on an "
                    "upstream with routes, body or stream faults run on the http engine only; "
                    "run this scenario with engine: http"
                )
        self.reached = dict.fromkeys(scenario.upstreams, 0)
        self._tracks = {lane.name: _Track(lane, samplers[lane.name]) for lane in self.lanes}
        for track in self._tracks.values():  # streamed answers: planned as the mocks plan them
            name, upstream = track.lane.name, scenario.upstreams[track.lane.name]
            if upstream.body is not None:  # bodies made as the mocks make them, for their size
                maker = AnswerMaker(name, upstream.answers, stream(seed, name, "answers"))
                body = BodyPlanner(upstream.body, stream(seed, name, "body"), maker)
                track.answer_at = body_answers(track.answer_at, body)
            settings = upstream.stream
            if settings is not None:
                planner = StreamPlanner(settings, stream(seed, track.lane.name, "stream"))
                timeout = track.lane.traffic.timeout
                track.answer_at, track.first_byte = streamed_answers(
                    track.answer_at, planner, timeout
                )
        self._queue, self._order, self._listeners = clock.internals()
        self._loop: VirtualEventLoop | None = None  # made when first needed: see _step
        # A lane retrying on Retry-After needs the header its answers carry: the same draws
        # from the upstream's answers stream as the HTTP engine's mocks make.
        self._makers: dict[str, AnswerMaker] = {}
        for name, policy in self.policies.items():
            maker = AnswerMaker(
                name, scenario.upstreams[name].answers, stream(seed, name, "answers")
            )
            if policy.retry is not None and policy.retry.retry_after and maker.sends_retry_after:
                self._makers[name] = maker
        for track in self._tracks.values():
            if track.policy is not None:
                track.send = self._policy_send(track)

    def route_hits(self) -> dict[str, dict[str, int]]:
        """Return the requests each route answered, for upstreams with routes."""
        hits: dict[str, dict[str, int]] = {}
        for name, upstream in self.scenario.upstreams.items():
            if upstream.routes:
                hits[name] = {route.label: 0 for route in upstream.routes}
                if name in self._route_of:
                    hits[name][self._route_of[name][0]] = self.reached[name]
        return hits

    def close(self) -> None:
        """Release the loop lent to code under test, if one was made."""
        if self._loop is not None:
            self._loop.close()

    def start(self) -> bool:
        """Schedule every lane's first arrival; return False when there is no traffic at all."""
        for track in self._tracks.values():
            self._next_arrival(track)
        return bool(self._queue)

    def run(self) -> None:
        """Fire every event in (time, priority, order) order, as ``VirtualClock.run`` does."""
        clock, queue, listeners = self.clock, self._queue, self._listeners
        pop, arrive, answer, resume = heapq.heappop, self._arrival, self._answer, self._resume
        while queue:
            event = pop(queue)
            at = event[0]
            if listeners:
                clock.advance_to(at)
            else:
                clock.now_ns = at  # never earlier: the heap pops in time order
            size = len(event)
            if size == 5:
                arrive(event[3], at)
            elif size == 10:
                answer(event, at)
            elif size == 4:
                event[3]()  # scheduled through the clock: a coroutine to resume
            elif size == 7:  # a policy lane's request, resumed: see _resume
                resume(event[3], event[4], event[5], event[6], None)
            else:  # the answer to a request holding a pool's slot: see _pooled_arrival
                self._pooled_answer(event, at)
        for name, track in self._tracks.items():
            self.reached[name] = track.reached
        if any(policy.hedge for policy in self.policies.values()) or any(
            pool.settings.queue_timeout is not None for pool in self.pools
        ):
            # A queue timeout's or a hedge's timer outlives a request that ended before it:
            # the run ends with the last request or attempt, as the HTTP engine's does, not
            # with such an event.
            logs = [*self.logs.values()]
            logs += [p.attempts for p in self.policies.values() if p.attempts is not None]
            self.clock.now_ns = max(
                (
                    start + latency
                    for log in logs
                    for start, latency in zip(log.start_ns, log.latency_ns, strict=True)
                ),
                default=0,
            )

    def _next_arrival(self, track: _Track) -> None:
        at = next(track.arrivals, None)
        if at is not None:
            heapq.heappush(self._queue, (at, ARRIVAL, next(self._order), track, None))

    def _arrival(self, track: _Track, now: int) -> None:
        """A request arrives: drop it, refuse it, or send it and schedule its answer."""
        cap = track.cap
        if cap is not None and track.in_flight >= cap:
            record(track, now, _DROPPED, 0, track.guard.state())
            self._next_arrival(track)
            return
        # The next arrival takes its place in the queue before this request's answer does.
        at = next(track.arrivals, None)
        if at is not None:
            heapq.heappush(self._queue, (at, ARRIVAL, next(self._order), track, None))
        kind = track.kind
        permit: object = True
        if kind == _BUILTIN:
            breaker = track.breaker
            permit = breaker._fast_window  # a CLOSED count window permits every call
            if permit is None:
                permit = breaker.try_acquire_permission()
                if permit is None:
                    record(track, now, _SHORT, 0, breaker.state)
                    return
                state = breaker.state
            else:
                state = _CLOSED
        elif kind == _NONE:
            state = _NO_STATE
        elif kind == _SYNC:
            guard = track.guard
            permit = guard.try_acquire()  # type: ignore[attr-defined]
            if not permit:
                record(track, now, _SHORT, 0, guard.state())
                return
            state = guard.state()
        elif kind == _POLICY:
            self._pooled_arrival(track, now)
            return
        else:
            self._start_async(track, now)
            return
        track.reached += 1
        outcome, status, after = track.answer_at(now)
        starts = track.start
        row = len(starts)
        if track.first_byte is not None and track.first_byte[0] != NO_FIRST_BYTE:
            track.lane.log.ttfb_ns[row] = track.first_byte[0] - now
        if not after:  # answered at once (a refused connection, or a stream of no delays)
            self._settle(track, outcome, status, 0, permit, now)
            record(track, now, outcome, status, state)
            return
        starts.append(now)  # an open row (SampleLog.open, inline)
        track.latency.append(0)
        track.outcome.append(_UNFINISHED)
        track.status.append(0)
        track.state.append(0)
        track.in_flight += 1
        heapq.heappush(
            self._queue,
            (
                now + after,
                COMPLETION,
                next(self._order),
                track,
                row,
                now,
                outcome,
                status,
                state,
                permit,
            ),
        )

    def _answer(self, event: tuple[Any, ...], now: int) -> None:
        """A request's answer arrives: tell the breaker, fill the request's row."""
        _, _, _, track, row, start, outcome, status, state, permit = event
        duration = now - start
        if track.kind == _BUILTIN:  # _settle's common case, inline
            window = track.breaker._fast_window
            if outcome is _SUCCESS and permit is window and duration <= track.slow_ns:
                position = next(window.positions)
                if position + 1 == track.minimum:
                    track.breaker._reach_minimum(window, position, now)
            else:
                self._settle(track, outcome, status, duration, permit, now)
        elif track.kind != _NONE:
            self._settle(track, outcome, status, duration, permit, now)
        track.latency[row] = duration
        track.outcome[row] = outcome
        track.status[row] = status
        track.state[row] = state
        track.in_flight -= 1

    @staticmethod
    def _settle(
        track: _Track, outcome: Outcome, status: int, duration: int, permit: Any, now: int
    ) -> None:
        """Tell the lane's breaker how the call it admitted with ``permit`` ended."""
        kind = track.kind
        if kind == _BUILTIN:
            breaker = track.breaker
            window = breaker._fast_window
            # BreakerCore.on_success's lock-free case, inline: a fast success in the CLOSED
            # count window that admitted it only takes a position (and decides on the one that
            # brings the window to its minimum).
            if outcome is _SUCCESS and permit is window and duration <= track.slow_ns:
                position = next(window.positions)
                if position + 1 == track.minimum:
                    breaker._reach_minimum(window, position, now)
                return
            track.guard.on_result(outcome, status, duration, permit)  # type: ignore[attr-defined]
        elif kind == _SYNC:
            track.guard.on_result(outcome, status, duration, permit)  # type: ignore[attr-defined]

    # -- a lane with a pool or retries: its requests are coroutines (harness.engines.policies) --

    # -- a guard driven through its async call -----------------------------------------------

    def _start_async(self, track: _Track, now: int) -> None:
        row = len(track.start)
        record(track, now, _UNFINISHED, 0, 0)
        track.in_flight += 1
        lane = track.lane
        self._step(self.guarded_request(lane, row, now, self._send(track, row, now)))

    def watch_first_byte(self) -> list[int] | None:
        """Not used: ``_send`` records the first byte its plan says (no stream is read here)."""
        return None

    def start_request(self, lane: Lane, row: int, start_ns: int) -> None:
        """Not used: this engine starts its requests itself (see ``_arrive``)."""
        raise NotImplementedError

    def finish_request(
        self,
        lane: Lane,
        row: int,
        start_ns: int,
        outcome: Outcome,
        status: int,
        state: BreakerState,
    ) -> None:
        """Record a request the async guard finished in its row, and free its slot."""
        lane.log.close(row, self.clock.now_ns - start_ns, outcome, status, state)
        self._tracks[lane.name].in_flight -= 1

    def _send(self, track: _Track, row: int, start: int) -> Callable[[], Awaitable[httpx.Response]]:
        """Return how one request reaches the upstream here: a fault drawn, a clock wait."""
        request = httpx.Request(track.lane.traffic.method, track.lane.url)

        async def send() -> httpx.Response:
            track.reached += 1
            outcome, status, after_ns = track.answer_at(self.clock.now_ns)
            first_byte = track.first_byte
            if first_byte is not None and first_byte[0] != NO_FIRST_BYTE:
                track.lane.log.ttfb_ns[row] = first_byte[0] - start
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
