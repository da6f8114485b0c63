"""The built-in client's resilience policies, run the same way on both engines: shared pools
(bulkheads), retries and a fallback (see :mod:`harness.format.policies` for what a scenario
says).

A request of a lane with a policy is one coroutine, :func:`policy_request`, which both engines
run; they differ only in how it waits (:class:`Waits`) and how one attempt travels (``send``).
Every wait ends with a clock event (priority ``COMPLETION``): an attempt's answer, a backoff's
end, a queued request handed a slot (at the instant the slot frees), a queue timeout. So the
two engines, which fire clock events in the same order, make the same draws in the same order.

The order of the policies, outermost first, is resilience4j's: the pool (a slot held from
arrival to the last attempt's end, waits included), then retries, then the breaker, which sees
each attempt. A request the breaker rejects takes no time, so its slot frees at once.

Rows: the lane's client row is the request (from its arrival, queueing and backoff waits
included, to its last attempt's end, with the last attempt's outcome); a request the pool
drops is ``dropped`` (after its queue wait, if it waited); a request whose final outcome the
``fallback`` serves is ``fallback`` (status 0), whatever failed. With ``retry`` or ``fallback``,
every attempt that reached the upstream is also a row of the upstream's attempt log, its
upstream view.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from harness.breakers.adapters import Guard, SyncGuard
from harness.breakers.builtin import CircuitOpenError
from harness.clock import VirtualClock
from harness.events import BreakerState, Outcome, UpstreamStatusError, classify
from harness.format.policies import Fallback, Hedge, Pool, Retry, retry_matches
from harness.format.scenario import Scenario
from harness.upstreams.mocked import COMPLETION
from harness.upstreams.streams import stream
from harness.verdicts.metrics import SampleLog

__all__ = [
    "Answer",
    "LanePolicy",
    "PoolState",
    "Waits",
    "lane_policies",
    "policy_request",
]

Answer = tuple[Outcome, int, int | None]
"""What one attempt came back with: outcome, HTTP status (0 without one), Retry-After in ns."""
_DROPPED, _SHORT, _FALLBACK = Outcome.DROPPED, Outcome.SHORT_CIRCUITED, Outcome.FALLBACK
_LABELS = {outcome: outcome.label for outcome in Outcome}
_STAND_IN = httpx.Request("GET", "https://attempt.invalid/")


class Waits(Protocol):
    """How an engine suspends a request's coroutine in virtual time."""

    def until(self, at_ns: int) -> Awaitable[None]:
        """Return an awaitable that completes at ``at_ns``, as a clock event."""
        ...

    def park(self) -> tuple[Awaitable[bool], Callable[[bool], None]]:
        """Return an awaitable and the function that completes it with a value (at the
        instant it is called, as a clock event)."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, None], lane: str) -> None:
        """Start ``coroutine`` now, as a clock event; ``lane``'s traffic is not done before it
        is (a hedged attempt, which may outlive its request)."""
        ...


@dataclass(eq=False)
class _Waiter:
    wake: Callable[[bool], None]
    waiting: bool = True


@dataclass(eq=False)
class PoolState:
    """A pool's slots in use and its queue of waiting requests."""

    settings: Pool
    clock: VirtualClock
    busy: int = 0
    waiting: int = 0
    queue: deque[_Waiter] = field(default_factory=deque)

    async def wait(self, waits: Waits) -> bool:
        """Wait for a slot (every one is taken) if the pool queues; return False if dropped."""
        settings = self.settings
        if settings.when_full == "drop":
            return False
        queue = self.queue
        if settings.max_queue is not None and self.waiting >= settings.max_queue:
            return False
        granted, wake = waits.park()
        waiter = _Waiter(wake)
        queue.append(waiter)
        self.waiting += 1
        if settings.queue_timeout is not None:
            at_ns = self.clock.now_ns + settings.queue_timeout
            self.clock.schedule(at_ns, COMPLETION, lambda: self._expire(waiter))
        return await granted

    def release(self) -> None:
        """Free a slot: hand it to the first request still waiting, if any."""
        queue = self.queue
        while queue:
            waiter = queue.popleft()
            if waiter.waiting:
                waiter.waiting = False
                self.waiting -= 1
                waiter.wake(True)  # the slot passes on: busy stays
                return
        self.busy -= 1

    def _expire(self, waiter: _Waiter) -> None:
        if waiter.waiting:  # left in the queue: release skips it
            waiter.waiting = False
            self.waiting -= 1
            waiter.wake(False)


@dataclass(eq=False)
class LanePolicy:
    """One lane's policies and their running state."""

    name: str
    log: SampleLog
    pool: PoolState | None
    retry: Retry | None
    fallback: Fallback | None
    hedge: Hedge | None
    attempts: SampleLog | None
    """The upstream's attempt log (with retries, a fallback or an overall timeout), else None:
    the client rows are the attempts."""
    random: random.Random
    attempt_timeout: int
    """Each attempt's timeout: ``timeout.attempt``, else ``traffic.timeout``."""
    overall: int | None
    """The request's own timeout from its arrival (``timeout.overall``), if any."""
    sync: bool
    """Whether the lane's guard is driven one decision at a time (a :class:`SyncGuard`)."""
    retries: int = 0
    _retryable: dict[tuple[Outcome, int], bool] = field(default_factory=dict)
    _falls_back: dict[tuple[Outcome, int], bool] = field(default_factory=dict)

    def ended(
        self, outcome: Outcome, status: int, state: BreakerState
    ) -> tuple[Outcome, int, BreakerState]:
        """Return how a request that ended as ``outcome`` is answered: with the fallback if it
        serves that outcome."""
        fallback = self.fallback
        if fallback is None or outcome is Outcome.SUCCESS:
            return outcome, status, state
        key = (outcome, status)
        serves = self._falls_back.get(key)
        if serves is None:
            serves = self._falls_back[key] = retry_matches(
                fallback.outcomes, _LABELS[outcome], status
            )
        return (_FALLBACK, 0, state) if serves else (outcome, status, state)

    def retryable(self, outcome: Outcome, status: int) -> bool:
        """Return whether ``retry.outcomes`` names an attempt's outcome."""
        key = (outcome, status)
        known = self._retryable.get(key)
        if known is None:
            assert self.retry is not None
            known = self._retryable[key] = outcome is not Outcome.SUCCESS and retry_matches(
                self.retry.outcomes, _LABELS[outcome], status
            )
        return known

    def may_retry(self) -> bool:
        """Return whether the retry budget allows one more retry (and count it if so): the
        lane's retries, this one included, stay within ``budget`` × its requests so far plus
        ``min_retries``."""
        retry = self.retry
        assert retry is not None
        if retry.budget is not None and self.retries + 1 > retry.budget * len(self.log) + (
            retry.min_retries
        ):
            return False
        self.retries += 1
        return True

    def backoff_ns(self, retry_number: int, retry_after: int | None) -> int:
        """Return the wait before retry ``retry_number`` (1, 2, …): ``Retry-After`` if honoured
        and given, else the jittered exponential backoff. One draw either way."""
        retry = self.retry
        assert retry is not None
        u = self.random.random()
        if retry_after is not None and retry.retry_after:
            return retry_after
        backoff = retry.backoff
        wait = min(backoff.max, backoff.base << min(retry_number - 1, 62))
        if backoff.jitter == "full":
            return round(u * wait)
        if backoff.jitter == "equal":
            half = wait // 2
            return half + round(u * (wait - half))
        return wait


def lane_policies(
    scenario: Scenario,
    seed: int,
    clock: VirtualClock,
    logs: dict[str, SampleLog],
    guards: dict[str, Guard],
) -> dict[str, LanePolicy]:
    """Return the policy of every upstream with traffic that has one, pools shared."""
    pools = {name: PoolState(pool, clock) for name, pool in scenario.pools.items()}
    found: dict[str, LanePolicy] = {}
    for name, upstream in scenario.upstreams.items():
        if upstream.traffic is None or not upstream.has_policies:
            continue
        timeouts = upstream.timeout
        found[name] = LanePolicy(
            name=name,
            log=logs[name],
            pool=None if upstream.pool is None else pools[upstream.pool],
            retry=upstream.retry,
            fallback=upstream.fallback,
            hedge=upstream.hedge,
            attempts=SampleLog()
            if upstream.retry or upstream.fallback or timeouts or upstream.hedge
            else None,
            random=stream(seed, name, "retry"),
            attempt_timeout=(timeouts and timeouts.attempt) or upstream.traffic.timeout,
            overall=None if timeouts is None else timeouts.overall,
            # A runtime Protocol check costs microseconds: made once per lane.
            sync=isinstance(guards[name], SyncGuard),
        )
    return found


async def policy_request(
    policy: LanePolicy,
    guard: Any,
    send: Callable[[int], Awaitable[Answer]],
    waits: Waits,
    clock: VirtualClock,
) -> tuple[Outcome, int, BreakerState]:
    """Run one request through ``policy``: its pool, its retries, the breaker per attempt.

    Return its outcome, status and the breaker state its last attempt was admitted in. One
    coroutine with the attempt inlined (a sync guard's): the direct engine resumes it once
    per wait, and each nested coroutine would cost it a frame per resume.
    """
    pool = policy.pool
    timeout = policy.attempt_timeout
    deadline = None if policy.overall is None else clock.now_ns + policy.overall
    if pool is not None:
        if pool.busy < pool.settings.max_concurrent:
            pool.busy += 1
        elif not await pool.wait(waits):
            return policy.ended(_DROPPED, 0, guard.state())
    retry, log, sync = policy.retry, policy.attempts, policy.sync
    number = 1
    try:
        while True:
            start = clock.now_ns
            if deadline is not None:
                if start >= deadline:  # the pool's queue took it all
                    return policy.ended(Outcome.TIMEOUT, 0, guard.state())
                timeout = min(policy.attempt_timeout, deadline - start)
            if policy.hedge is not None:
                outcome, status, state, retry_after = await _hedged(
                    policy, guard, send, waits, clock, timeout, deadline
                )
            elif not sync:
                outcome, status, state, retry_after = await _async_attempt(guard, send, timeout)
            elif permit := guard.try_acquire():
                state = guard.state()
                outcome, status, retry_after = await send(timeout)
                guard.on_result(outcome, status, clock.now_ns - start, permit)
            else:
                outcome, status, state, retry_after = _SHORT, 0, guard.state(), None
            if log is not None and outcome is not _SHORT and policy.hedge is None:
                log.record(start, clock.now_ns - start, outcome, status, state)
            if (
                retry is None
                or number >= retry.attempts
                or not policy.retryable(outcome, status)
                or not policy.may_retry()
            ):
                return policy.ended(outcome, status, state)
            wait = policy.backoff_ns(number, retry_after)
            if deadline is not None and clock.now_ns + wait >= deadline:
                return policy.ended(outcome, status, state)  # no time left for a retry
            if wait:
                await waits.until(clock.now_ns + wait)
            number += 1
    finally:
        if pool is not None:
            pool.release()


AttemptResult = tuple[Outcome, int, BreakerState, int | None]


@dataclass(eq=False)
class _Race:
    """An attempt and its hedge: the first success wins, else the last failure."""

    wake: Callable[[bool], None]
    running: int = 1
    result: AttemptResult | None = None

    def finished(self, result: AttemptResult) -> None:
        self.running -= 1
        if self.result is not None and self.result[0] is Outcome.SUCCESS:
            return  # decided: this one lost
        decided = result[0] is Outcome.SUCCESS or self.running == 0
        if self.result is None or self.result[0] is not Outcome.SUCCESS:
            self.result = result
        if decided:
            self.running = -1  # no hedge after the decision
            self.wake(True)


async def _hedged(
    policy: LanePolicy,
    guard: Any,
    send: Callable[[int], Awaitable[Answer]],
    waits: Waits,
    clock: VirtualClock,
    timeout: int,
    deadline: int | None,
) -> AttemptResult:
    """Run one attempt, and a second one if the first is unanswered after the hedge's delay;
    each child attempt logs itself and tells the breaker when it ends, the loser too."""
    assert policy.hedge is not None
    decided, wake = waits.park()
    race = _Race(wake)
    waits.spawn(_child(policy, guard, send, clock, timeout, race), policy.name)

    def hedge() -> None:
        if race.running != 1:  # decided already (or its last failure is in)
            return
        now = clock.now_ns
        left = policy.attempt_timeout if deadline is None else deadline - now
        if left > 0:
            race.running += 1
            hedge_timeout = min(policy.attempt_timeout, left)
            waits.spawn(_child(policy, guard, send, clock, hedge_timeout, race), policy.name)

    clock.schedule(clock.now_ns + policy.hedge.delay, COMPLETION, hedge)
    await decided
    assert race.result is not None
    return race.result


async def _child(
    policy: LanePolicy,
    guard: Any,
    send: Callable[[int], Awaitable[Answer]],
    clock: VirtualClock,
    timeout: int,
    race: _Race,
) -> None:
    start = clock.now_ns
    if not policy.sync:
        result = await _async_attempt(guard, send, timeout)
    elif permit := guard.try_acquire():
        state = guard.state()
        outcome, status, retry_after = await send(timeout)
        guard.on_result(outcome, status, clock.now_ns - start, permit)
        result = (outcome, status, state, retry_after)
    else:
        result = (_SHORT, 0, guard.state(), None)
    if policy.attempts is not None and result[0] is not _SHORT:
        policy.attempts.record(start, clock.now_ns - start, result[0], result[1], result[2])
    race.finished(result)


async def _async_attempt(
    guard: Guard, send: Callable[[int], Awaitable[Answer]], timeout: int
) -> tuple[Outcome, int, BreakerState, int | None]:
    admitted = BreakerState.NONE
    retry_after: int | None = None

    async def attempt() -> int:
        nonlocal admitted, retry_after
        admitted = guard.state()
        outcome, status, retry_after = await send(timeout)
        if outcome is not Outcome.SUCCESS:
            raise _error_of(outcome, status)
        return status

    try:
        status = await guard.call(attempt)
    except CircuitOpenError:
        return _SHORT, 0, guard.state(), None
    except Exception as error:
        known = classify(error)
        if known is None:
            raise
        return known[0], known[1], admitted, retry_after
    return Outcome.SUCCESS, status, admitted, retry_after


def _error_of(outcome: Outcome, status: int) -> Exception:
    """Return the exception httpx raises for a failed attempt, as a breaker under test sees it."""
    if outcome is Outcome.HTTP_ERROR:
        return UpstreamStatusError(status)
    if outcome is Outcome.TIMEOUT:
        return httpx.ReadTimeout("no answer within the client's timeout", request=_STAND_IN)
    if outcome is Outcome.CONNECT_ERROR:
        return httpx.ConnectError("connection refused", request=_STAND_IN)
    return httpx.ReadError("connection reset by peer", request=_STAND_IN)
