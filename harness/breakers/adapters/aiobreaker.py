"""aiobreaker under test, through ``await breaker.call_async(attempt)``.

aiobreaker is pybreaker's asyncio port: admission is decided when the call starts, the outcome
recorded by the state object that admitted the call. HALF_OPEN admits every caller that arrives
before the first trial answers; a late failure of a call admitted while CLOSED re-opens an OPEN
breaker (restarting its wait). Transitions come from its listener ``state_change``, at the
virtual instant they happen. It reads ``datetime.utcnow()``, so the run patches the wall clock
(µs steps).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

import aiobreaker

from harness.breakers.adapters.base import TransitionListener
from harness.breakers.adapters.common import Attempt, LibraryGuard, state_named
from harness.clock import VirtualClock
from harness.events import BreakerState
from harness.format.breaker_settings import AiobreakerSettings

__all__ = ["GUARD", "WRAPS", "AiobreakerGuard", "create"]

T = TypeVar("T")


class _Listener(aiobreaker.CircuitBreakerListener):  # type: ignore[misc]
    """Forward aiobreaker's state changes to the guard."""

    def __init__(self, guard: AiobreakerGuard) -> None:
        self.guard = guard

    def state_change(self, breaker: Any, old: Any, new: Any) -> None:
        if old is not None:
            self.guard.report(old.state, new.state)


class AiobreakerGuard(LibraryGuard):
    """Drive an ``aiobreaker.CircuitBreaker``."""

    rejections = (aiobreaker.CircuitBreakerError,)

    def __init__(
        self, breaker: Any, impl: str, name: str, clock: VirtualClock, listener: TransitionListener
    ) -> None:
        super().__init__(impl, name, clock, listener)
        self.breaker = breaker
        breaker.add_listener(_Listener(self))

    def state(self) -> BreakerState:
        """Return the breaker's current state."""
        return state_named(self.breaker.current_state)

    async def run(self, attempt: Attempt[T]) -> T:
        """Await ``attempt`` through ``breaker.call_async``."""
        result: T = await self.breaker.call_async(attempt)
        return result


def create(
    config: AiobreakerSettings, name: str, clock: VirtualClock, listener: TransitionListener
) -> AiobreakerGuard:
    """Return a guard over a new breaker with the scenario's settings."""
    breaker = aiobreaker.CircuitBreaker(
        fail_max=config.fail_max,
        timeout_duration=timedelta(microseconds=config.timeout_duration / 1e3),
        name=name,
    )
    return AiobreakerGuard(breaker, "aiobreaker", name, clock, listener)


WRAPS = aiobreaker.CircuitBreaker
"""What a custom factory may return for this library's guard to drive it."""
GUARD = AiobreakerGuard
