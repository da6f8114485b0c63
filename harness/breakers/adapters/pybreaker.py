"""pybreaker under test, through its own context manager ``calling()``.

pybreaker is a synchronous library: ``CircuitBreaker.call(func)`` holds a ``threading.RLock``
for the whole call, which serialises calls between threads. A coroutine cannot hold that lock
across an ``await`` (it is per thread and re-entrant, so every coroutine on the loop's thread
would pass it), and holding any lock across the upstream's latency would serialise every call,
not only trial calls. So the guard uses what pybreaker offers for a block of code,
``with breaker.calling(): await attempt()``: admission is decided, under the lock, when the
block is entered, and the outcome recorded when it exits, by the state object that admitted
the call. Under asyncio that is pybreaker's real behaviour: HALF_OPEN admits every caller that
arrives before the first trial answers, and a late failure of a call admitted while CLOSED
re-opens an OPEN breaker (restarting its wait).

Transitions come from pybreaker's listener ``state_change``, at the virtual instant they
happen. pybreaker reads ``datetime.now(UTC)``, so the run patches the wall clock (µs steps).
"""

from __future__ import annotations

from typing import TypeVar

import pybreaker

from harness.breakers.adapters.base import TransitionListener
from harness.breakers.adapters.common import Attempt, LibraryGuard, state_named
from harness.clock import VirtualClock
from harness.events import BreakerState
from harness.format.breaker_settings import PybreakerSettings

__all__ = ["GUARD", "WRAPS", "PybreakerGuard", "create"]

T = TypeVar("T")


class _Listener(pybreaker.CircuitBreakerListener):
    """Forward pybreaker's state changes to the guard."""

    def __init__(self, guard: PybreakerGuard) -> None:
        self.guard = guard

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        if old_state is not None:
            self.guard.report(old_state.name, new_state.name)


class PybreakerGuard(LibraryGuard):
    """Drive a ``pybreaker.CircuitBreaker``."""

    rejections = (pybreaker.CircuitBreakerError,)

    def __init__(
        self,
        breaker: pybreaker.CircuitBreaker,
        impl: str,
        name: str,
        clock: VirtualClock,
        listener: TransitionListener,
    ) -> None:
        super().__init__(impl, name, clock, listener)
        self.breaker = breaker
        breaker.add_listener(_Listener(self))

    def state(self) -> BreakerState:
        """Return the breaker's current state."""
        return state_named(self.breaker.current_state)

    async def run(self, attempt: Attempt[T]) -> T:
        """Await ``attempt`` inside ``breaker.calling()``."""
        with self.breaker.calling():
            return await attempt()


def create(
    config: PybreakerSettings, name: str, clock: VirtualClock, listener: TransitionListener
) -> PybreakerGuard:
    """Return a guard over a new breaker with the scenario's settings."""
    breaker = pybreaker.CircuitBreaker(
        fail_max=config.fail_max,
        reset_timeout=config.reset_timeout / 1e9,
        success_threshold=config.success_threshold,
        name=name,
    )
    return PybreakerGuard(breaker, "pybreaker", name, clock, listener)


WRAPS = pybreaker.CircuitBreaker
"""What a custom factory may return for this library's guard to drive it."""
GUARD = PybreakerGuard
