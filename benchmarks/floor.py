"""The floor for the direct engine: a minimal heapq simulation of the same model.

Same seeded draws (each upstream's arrival and fault streams, three fault draws per request
reaching it), the same client timeout and concurrency cap, the same breaker rules (resilience4j's
count window, OPEN wait, HALF_OPEN trials, a late answer counting only in the spell that admitted
it), the same five columns recorded per request, and the same event order (time, priority,
order of scheduling) — in one function, with nothing the harness needs besides: no guard
interface, no listeners, no other breakers or distributions. The benchmark asserts that it
counts the same outcomes as the direct engine, so the ratio between them is what the engine's
generality costs.

It covers what the benchmark scenario uses: poisson arrivals, lognormal latency, no timeline,
the built-in breaker with a count window and no slow calls (slow threshold above the timeout).
"""

from __future__ import annotations

import heapq
import itertools
import math
from array import array
from collections import deque
from fractions import Fraction
from statistics import NormalDist
from typing import Any

from harness.events import BreakerState, Outcome
from harness.format.breaker_settings import Breaker
from harness.format.fault_settings import LognormalLatency
from harness.format.scenario import Scenario
from harness.format.units import NS_PER_S
from harness.upstreams.streams import stream

__all__ = ["draw_answer", "floor_run", "lanes_of"]

_KINDS = {
    "timeout": Outcome.TIMEOUT,
    "connect_error": Outcome.CONNECT_ERROR,
    "connection_reset": Outcome.CONNECTION_RESET,
}
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
_TINY = 2.0**-54


def floor_run(scenario: Scenario) -> dict[str, tuple[array[int], ...]]:
    """Simulate ``scenario``; return each upstream's (start, latency, outcome, status, state)."""
    lanes = lanes_of(scenario)
    heap: list[tuple[Any, ...]] = []
    push, pop, order = heapq.heappush, heapq.heappop, itertools.count(1)
    exp, log, inv = math.exp, math.log, NormalDist().inv_cdf
    for lane in lanes:
        at = round(-log(1.0 - lane.arrivals()) * lane.gap)
        if at < lane.duration:
            push(heap, (at, 1, next(order), lane, at))
    while heap:
        event = pop(heap)
        now, lane = event[0], event[3]
        if event[1]:  # an arrival: the next one is scheduled first, as in the engine
            at = now + round(-log(1.0 - lane.arrivals()) * lane.gap)
            if at < lane.duration:
                push(heap, (at, 1, next(order), lane, at))
            if lane.cap is not None and lane.in_flight >= lane.cap:
                lane.append(now, 0, DROPPED, 0, lane.state)
                continue
            spell = lane.admit(now)
            if spell is None:
                lane.append(now, 0, SHORT, 0, lane.state)
                continue
            admitted, timeout = lane.state, lane.timeout
            lane.reached += 1
            draw = lane.faults
            u_fail, u_kind, u_latency = draw(), draw(), draw()
            took = round(exp(lane.mu + lane.sigma * inv(u_latency or _TINY)))
            kind, code = SUCCESS, 200
            if u_fail < lane.failure_rate:
                kind, code = next((k, c) for share, k, c in lane.errors if u_kind < share)
                took = timeout if kind == TIMEOUT else 0 if kind == CONNECT_ERROR else took
            if took >= timeout:
                kind, code, took = TIMEOUT, 0, timeout
            if not took:
                lane.record(spell, kind, now)
                lane.append(now, 0, kind, code, admitted)
                continue
            row = len(lane.start)
            lane.append(now, 0, -1, 0, 0)
            lane.in_flight += 1
            push(heap, (now + took, 0, next(order), lane, row, now, kind, code, admitted, spell))
        else:  # an answer
            _, _, _, _, row, began, kind, code, admitted, spell = event
            lane.record(spell, kind, now)
            lane.latency[row], lane.outcome[row] = now - began, kind
            lane.status[row], lane.state_column[row] = code, admitted
            lane.in_flight -= 1
    return {lane.name: lane.columns() for lane in lanes}


def lanes_of(scenario: Scenario) -> list[_Lane]:
    """Return one floor lane per upstream, in the scenario's order."""
    return [_Lane(scenario, name) for name in scenario.upstreams]


def draw_answer(lane: _Lane) -> tuple[Outcome, int, int]:
    """Draw one answer as floor_run does inline: (outcome, status, after how long)."""
    draw, timeout = lane.faults, lane.timeout
    u_fail, u_kind, u_latency = draw(), draw(), draw()
    took = round(math.exp(lane.mu + lane.sigma * _INV(u_latency or _TINY)))
    kind, code = SUCCESS, 200
    if u_fail < lane.failure_rate:
        kind, code = next((k, c) for share, k, c in lane.errors if u_kind < share)
        took = timeout if kind == TIMEOUT else 0 if kind == CONNECT_ERROR else took
    if took >= timeout:
        kind, code, took = TIMEOUT, 0, timeout
    return kind, code, took


_INV = NormalDist().inv_cdf
SUCCESS, TIMEOUT, CONNECT_ERROR = Outcome.SUCCESS, Outcome.TIMEOUT, Outcome.CONNECT_ERROR
DROPPED, SHORT = Outcome.DROPPED, Outcome.SHORT_CIRCUITED


class _Lane:
    """One upstream: its streams, its fault settings, its log, and its breaker."""

    def __init__(self, scenario: Scenario, name: str) -> None:
        upstream = scenario.upstreams[name]
        traffic, breaker, latency = upstream.traffic, upstream.breaker, upstream.latency
        assert traffic is not None
        assert traffic.arrivals == "poisson"
        assert not traffic.bursts
        assert isinstance(breaker, Breaker)
        assert breaker.sliding_window_type == "count"
        assert isinstance(latency, LognormalLatency)
        assert not upstream.timeline
        assert breaker.slow_call_duration_threshold >= traffic.timeout  # no call is ever slow
        self.name, self.duration = name, scenario.duration
        self.arrivals = stream(scenario.seed, name, "arrivals").random
        self.faults = stream(scenario.seed, name, "faults").random
        self.gap = NS_PER_S / float(traffic.rate)
        self.cap, self.timeout = traffic.concurrency, traffic.timeout
        self.in_flight = self.reached = 0
        self.mu = math.log(latency.p50)
        self.sigma = math.log(latency.p95 / latency.p50) / NormalDist().inv_cdf(0.95)
        self.failure_rate = upstream.failure_rate
        self.errors = _errors(upstream.errors)
        self.start, self.latency = array("q"), array("q")
        self.outcome, self.status, self.state_column = array("b"), array("h"), array("b")
        threshold = Fraction(breaker.failure_rate_threshold).limit_denominator(1_000_000)
        self.num, self.den = threshold.numerator, threshold.denominator
        self.closed_size = breaker.sliding_window_size
        self.minimum = min(breaker.minimum_number_of_calls, self.closed_size)
        self.wait = breaker.wait_duration_in_open_state
        self.permitted = breaker.permitted_number_of_calls_in_half_open_state
        # The breaker: its state, its spell (what a permit names), its window, OPEN's deadline.
        self.state, self.spell, self.open_until, self.permits = CLOSED, 0, 0, 0
        self.size, self.window, self.failures = self.closed_size, deque[bool](), 0

    def columns(self) -> tuple[array[int], ...]:
        return self.start, self.latency, self.outcome, self.status, self.state_column

    def append(self, start: int, latency: int, outcome: int, status: int, state: int) -> None:
        self.start.append(start)
        self.latency.append(latency)
        self.outcome.append(outcome)
        self.status.append(status)
        self.state_column.append(state)

    def admit(self, now: int) -> int | None:
        """Return the spell that admits a call at ``now``, or None when the breaker rejects it."""
        state = self.state
        if state is CLOSED:
            return self.spell
        if state is OPEN and now >= self.open_until:
            self.enter(HALF_OPEN, now)
        if self.state is HALF_OPEN and self.permits:
            self.permits -= 1
            return self.spell
        return None

    def record(self, spell: int, kind: int, now: int) -> None:
        """Count an answer in the spell that admitted it, while that spell is current."""
        if spell != self.spell or self.state is OPEN:
            return
        window, failed = self.window, kind != SUCCESS
        window.append(failed)
        self.failures += failed
        if len(window) > self.size:
            self.failures -= window.popleft()
        calls = len(window)
        exceeded = self.failures * self.den >= self.num * calls
        if self.state is CLOSED:
            if calls >= self.minimum and exceeded:
                self.enter(OPEN, now)
        elif calls >= self.permitted:
            self.enter(OPEN if exceeded else CLOSED, now)

    def enter(self, state: BreakerState, now: int) -> None:
        self.state = state
        if state is OPEN:
            self.open_until = now + self.wait
            return
        self.spell += 1
        self.window, self.failures, self.permits = deque(), 0, self.permitted
        self.size = self.permitted if state is HALF_OPEN else self.closed_size


def _errors(mix: dict[str, float]) -> list[tuple[float, Outcome, int]]:
    table, cumulative = [], 0.0
    for key, share in mix.items():
        cumulative += share
        kind = _KINDS.get(key, Outcome.HTTP_ERROR)
        table.append((cumulative, kind, 0 if key in _KINDS else int(key)))
    table[-1] = (math.inf, *table[-1][1:])
    return table
