"""purgatory under test, as its asyncio users write it:
``async with await factory.get_breaker(name, threshold, ttl): await attempt()``.

purgatory applies a call's outcome to whatever state the breaker is in when the call ends:
OPEN ignores it (a late failure does not restart the wait), HALF_OPEN closes on any success
and re-opens on any failure, including those of calls admitted before the trip. HALF_OPEN
admits every caller. It moves OPEN → HALF_OPEN when a call arrives strictly after
``opened_at + ttl`` (``time.time()``, float seconds). Its own state-change hook is delivered
only when a call ends, so the guard reads ``context.state`` instead, at every admission,
completion and state read (purgatory changes state only inside those), and stamps each change
at the virtual instant it happened. The run patches the wall clock (µs steps).

purgatory rejects by raising its OPEN state object itself, the same exception object every
time; the guard clears its traceback on each rejection (see ``LibraryGuard``).
"""

from __future__ import annotations

from typing import Any, TypeVar

import purgatory
from purgatory.domain.model import OpenedState

from harness.breakers.adapters.base import TransitionListener
from harness.breakers.adapters.common import Attempt, PolledGuard, state_named
from harness.clock import VirtualClock
from harness.events import BreakerState
from harness.format.breaker_settings import PurgatorySettings

__all__ = ["GUARD", "WRAPS", "PurgatoryGuard", "create"]

T = TypeVar("T")


class PurgatoryGuard(PolledGuard):
    """Drive the breaker an ``AsyncCircuitBreakerFactory`` gives for the upstream's name."""

    rejections = (OpenedState,)

    def __init__(
        self,
        factory: purgatory.AsyncCircuitBreakerFactory,
        impl: str,
        name: str,
        clock: VirtualClock,
        listener: TransitionListener,
        settings: tuple[int | None, float | None] = (None, None),  # the factory's defaults
    ) -> None:
        super().__init__(impl, name, clock, listener)
        self.factory = factory
        self.settings = settings
        self.breaker: Any = None  # got on the first call: get_breaker is a coroutine

    def snapshot(self) -> tuple[BreakerState, object]:
        """Return the breaker's state and when it last opened."""
        if self.breaker is None:
            return BreakerState.CLOSED, None
        context = self.breaker.context
        return state_named(context.state), context.opened_at

    async def run(self, attempt: Attempt[T]) -> T:
        """Await ``attempt`` inside ``async with breaker``."""
        if self.breaker is None:
            threshold, ttl = self.settings
            self.breaker = await self.factory.get_breaker(self.name, threshold, ttl)
        async with self.breaker:
            return await attempt()


def create(
    config: PurgatorySettings, name: str, clock: VirtualClock, listener: TransitionListener
) -> PurgatoryGuard:
    """Return a guard over a new factory's breaker with the scenario's settings."""
    factory = purgatory.AsyncCircuitBreakerFactory()
    settings = (config.threshold, config.ttl / 1e9)
    return PurgatoryGuard(factory, "purgatory", name, clock, listener, settings)


WRAPS = purgatory.AsyncCircuitBreakerFactory
"""What a custom factory may return for this library's guard to drive it."""
GUARD = PurgatoryGuard
