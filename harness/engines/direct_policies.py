"""The direct engine's lanes with resilience policies (pools, retries, fallbacks, timeouts):
a mixin of :class:`harness.engines.direct._DirectDriver`.

A request of such a lane is a coroutine of :func:`~harness.engines.policies.policy_request`,
resumed from the engine's own heap events ``(time, COMPLETION, order, track, row, start,
coroutine)``: it yields the time it waits until (an int, no object) or a :class:`_Park` (a
pool's queue). A lane with only a pool and a sync guard takes the plain path while a slot is
free (an 11-tuple answer event that releases the slot).
"""

from __future__ import annotations

import asyncio
import heapq
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from functools import partial
from typing import Any

from harness.clock import VirtualClock, VirtualEventLoop
from harness.engines.policies import Answer, policy_request
from harness.errors import HarnessError
from harness.events import BreakerState, Outcome
from harness.upstreams.answers import AnswerMaker, retry_after_ns
from harness.upstreams.mocked import COMPLETION

__all__ = ["UNFINISHED", "PolicyLanes", "record"]

UNFINISHED = -1  # SampleLog's mark of an open row (metrics.py)
_SHORT, _DROPPED, _TIMEOUT = Outcome.SHORT_CIRCUITED, Outcome.DROPPED, Outcome.TIMEOUT
_UNFINISHED = UNFINISHED


@types.coroutine
def _sleep(at_ns: int) -> Generator[int, None, None]:
    """Wait until ``at_ns``: a policy lane's request yields the time itself (no object)."""
    yield at_ns


class _Park:
    """What a request's coroutine yields while it waits for a pool's slot: resumed with a value."""

    __slots__ = ("resume",)

    def __init__(self) -> None:
        self.resume: Callable[[bool], None] | None = None

    def __await__(self) -> Generator[_Park, bool, bool]:
        granted = yield self
        return granted


class PolicyLanes:
    """How the direct engine drives a policy lane's requests (see the module docstring)."""

    clock: VirtualClock
    _queue: list[tuple[Any, ...]]
    _order: Any
    _loop: VirtualEventLoop | None
    _makers: dict[str, AnswerMaker]
    _tracks: dict[str, Any]
    fail: Callable[[Any, BaseException], None]  # LaneDriver's: stop the run

    # -- a lane with a pool or retries: its requests are coroutines (harness.engines.policies) --

    def _pooled_arrival(self, track: Any, now: int) -> None:
        """A policy lane's request arrives: with only a pool and a sync guard, and a slot free
        (or none and nothing to wait for), it takes :meth:`_arrival`'s path, holding the slot
        until its answer; otherwise it runs as a coroutine. Either way the same steps in
        the same order as :func:`~harness.engines.policies.policy_request`."""
        policy = track.policy
        assert policy is not None
        pool = policy.pool
        if policy.attempts is not None or pool is None or not policy.sync:
            self._start_policy(track, now)
            return
        guard: Any = track.guard
        if pool.busy >= pool.settings.max_concurrent:
            if pool.settings.when_full == "drop":
                record(track, now, _DROPPED, 0, guard.state())
            else:
                self._start_policy(track, now)
            return
        pool.busy += 1
        permit = guard.try_acquire()
        if not permit:
            record(track, now, _SHORT, 0, guard.state())
            pool.release()
            return
        state = guard.state()
        track.reached += 1
        outcome, status, after = track.answer_at(now)
        if not after:
            guard.on_result(outcome, status, 0, permit)
            record(track, now, outcome, status, state)
            pool.release()
            return
        row = len(track.start)
        record(track, now, _UNFINISHED, 0, 0)
        track.in_flight += 1
        event = (now + after, COMPLETION, next(self._order), track, row, now)
        heapq.heappush(self._queue, (*event, outcome, status, state, permit, pool))

    @staticmethod
    def _pooled_answer(event: tuple[Any, ...], now: int) -> None:
        _, _, _, track, row, start, outcome, status, state, permit, pool = event
        track.guard.on_result(outcome, status, now - start, permit)
        track.latency[row] = now - start
        track.outcome[row] = outcome
        track.status[row] = status
        track.state[row] = state
        track.in_flight -= 1
        pool.release()

    def _start_policy(self, track: Any, now: int) -> None:
        row = len(track.start)
        record(track, now, _UNFINISHED, 0, 0)
        track.in_flight += 1
        assert track.policy is not None
        assert track.send is not None
        coroutine = policy_request(track.policy, track.guard, track.send, self, self.clock)
        self._resume(track, row, now, coroutine, None)

    def _resume(
        self,
        track: Any,
        row: int,
        start: int,
        coroutine: Coroutine[Any, Any, tuple[Outcome, int, BreakerState]],
        value: Any,
    ) -> None:
        """Run a policy lane's request until it waits again (or ends: fill its row)."""
        policy = track.policy
        assert policy is not None
        previous = None
        if not policy.sync:  # code under test may look up the running loop: see _step
            if self._loop is None:
                self._loop = VirtualEventLoop(self.clock)
            previous = asyncio.events._get_running_loop()
            asyncio.events._set_running_loop(self._loop)
        try:
            waiting = coroutine.send(value)
        except StopIteration as stop:
            if row < 0:  # a hedged attempt (see spawn): it logged itself
                return
            outcome, status, state = stop.value
            track.latency[row] = self.clock.now_ns - start
            track.outcome[row] = outcome
            track.status[row] = status
            track.state[row] = state
            track.in_flight -= 1
            return
        except Exception as error:
            self.fail(track.lane, error)
        finally:
            if not policy.sync:
                asyncio.events._set_running_loop(previous)
        if type(waiting) is int or waiting is None:  # a clock wait; a bare yield: now
            at = self.clock.now_ns if waiting is None else waiting
            heapq.heappush(
                self._queue, (at, COMPLETION, next(self._order), track, row, start, coroutine)
            )
        elif type(waiting) is _Park:
            waiting.resume = partial(self._resume, track, row, start, coroutine)
        else:
            coroutine.close()
            raise HarnessError(
                "the breaker under test awaits asyncio machinery the direct engine cannot "
                f"drive ({waiting!r}); run this scenario with engine: http"
            )

    def _policy_send(self, track: Any) -> Callable[[int], Awaitable[Answer]]:
        """Return one attempt of a policy lane: a fault drawn, a clock wait, no response."""
        clock, answer_at = self.clock, track.answer_at
        maker = self._makers.get(track.lane.name)
        assert track.policy is not None
        full = track.policy.attempt_timeout  # what answer_at gives up at

        async def send(timeout: int) -> Answer:
            track.reached += 1
            now = clock.now_ns
            outcome, status, after = answer_at(now)
            if timeout < full and after >= timeout:  # cut short by the request's deadline
                outcome, status, after = _TIMEOUT, 0, timeout
            if after:
                await _sleep(now + after)
            if maker is None or not status:
                return outcome, status, None
            now = clock.now_ns
            return outcome, status, retry_after_ns(maker.retry_after(status, now), now)

        return send

    def until(self, at_ns: int) -> Awaitable[None]:
        """Return the wait until ``at_ns`` (a policy's backoff): see :class:`Waits`."""
        return _sleep(at_ns)

    def spawn(self, coroutine: Coroutine[Any, Any, None], lane: str) -> None:
        """Start a hedged attempt now, as a clock event: see :class:`Waits`."""
        hedged: Any = coroutine  # ends with None, not a request's outcome: see _resume
        resume = partial(self._resume, self._tracks[lane], -1, self.clock.now_ns, hedged, None)
        self.clock.schedule(self.clock.now_ns, COMPLETION, resume)

    def park(self) -> tuple[_Park, Callable[[bool], None]]:
        """Return a wait for a pool's slot and what ends it: see :class:`Waits`."""
        park = _Park()
        clock = self.clock

        def wake(value: bool) -> None:
            resume = park.resume
            assert resume is not None
            clock.schedule(clock.now_ns, COMPLETION, lambda: resume(value))

        return park, wake


def record(track: Any, start: int, outcome: int, status: int, state: int) -> None:
    """Append one row to the lane's log (SampleLog.record, without the method call)."""
    track.start.append(start)
    track.latency.append(0)
    track.outcome.append(outcome)
    track.status.append(status)
    track.state.append(state)
