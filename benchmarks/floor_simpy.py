"""The same model as :mod:`benchmarks.floor`, on SimPy (when it is installed).

Each upstream's arrivals are a SimPy process; an answer is an event scheduled URGENT, so at one
instant answers come before arrivals and ties keep their scheduling order — the engine's
``(time, priority, order)`` — and the next arrival is scheduled before the request's answer,
as in the engine. The breaker and the draws are the floor's own (:class:`benchmarks.floor`).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Generator
from functools import partial
from typing import Any

import simpy
from simpy.core import URGENT

from benchmarks.floor import draw_answer, lanes_of
from harness.events import Outcome
from harness.format.scenario import Scenario

__all__ = ["simpy_run"]


def simpy_run(scenario: Scenario) -> dict[str, tuple[array[int], ...]]:
    """Simulate ``scenario`` on SimPy; return each upstream's five columns, as floor_run."""
    env = simpy.Environment()
    lanes = lanes_of(scenario)
    for lane in lanes:
        env.process(_arrivals(env, lane))
    env.run()
    return {lane.name: lane.columns() for lane in lanes}


def _gap(env: simpy.Environment, lane: Any) -> int | None:
    at = int(env.now) + round(-math.log(1.0 - lane.arrivals()) * lane.gap)
    return at - int(env.now) if at < lane.duration else None


def _arrivals(env: simpy.Environment, lane: Any) -> Generator[simpy.Event, None, None]:
    gap = _gap(env, lane)
    if gap is None:
        return
    pending = env.timeout(gap)
    while True:
        yield pending
        now = int(env.now)
        gap = _gap(env, lane)
        pending = None if gap is None else env.timeout(gap)  # scheduled before this answer
        _request(env, lane, now)
        if pending is None:
            return


def _request(env: simpy.Environment, lane: Any, now: int) -> None:
    if lane.cap is not None and lane.in_flight >= lane.cap:
        lane.append(now, 0, Outcome.DROPPED, 0, lane.state)
        return
    spell = lane.admit(now)
    if spell is None:
        lane.append(now, 0, Outcome.SHORT_CIRCUITED, 0, lane.state)
        return
    admitted = lane.state
    lane.reached += 1
    kind, code, took = draw_answer(lane)
    if not took:
        lane.record(spell, kind, now)
        lane.append(now, 0, kind, code, admitted)
        return
    row = len(lane.start)
    lane.append(now, 0, -1, 0, 0)
    lane.in_flight += 1
    answer = simpy.Event(env)
    answer._ok, answer._value = True, None  # a ready event, fired at its time (as a Timeout)
    answer.callbacks.append(partial(_answer, lane, row, now, kind, code, admitted, spell))
    env.schedule(answer, URGENT, took)


def _answer(
    lane: Any, row: int, began: int, kind: int, code: int, admitted: int, spell: int, event: Any
) -> None:
    now = int(event.env.now)
    lane.record(spell, kind, now)
    lane.latency[row], lane.outcome[row] = now - began, kind
    lane.status[row], lane.state_column[row] = code, admitted
    lane.in_flight -= 1
