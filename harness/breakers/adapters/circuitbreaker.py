"""circuitbreaker under test, exactly as its decorator drives a coroutine function.

circuitbreaker keeps only CLOSED or OPEN; HALF_OPEN is computed when its ``state`` is read
(OPEN and ``recovery_timeout`` passed, by ``time.monotonic()``), so the guard observes it at
the first admission, completion or state read at or after that instant. While HALF_OPEN every
caller is admitted. Every success resets it to CLOSED and every failure counts, whatever state
admitted the call: a late success of a call admitted before a trip closes an OPEN breaker, a
late failure restarts its wait (reported as OPEN → OPEN, seen by its "opened at" mark). It
reads ``time.monotonic()``, so the run patches the wall clock (µs steps).
"""

from __future__ import annotations

from typing import Any, TypeVar

import circuitbreaker

from harness.breakers.adapters.base import TransitionListener
from harness.breakers.adapters.common import Attempt, PolledGuard, state_named
from harness.clock import VirtualClock
from harness.events import BreakerState
from harness.format.breaker_settings import CircuitbreakerSettings

__all__ = ["GUARD", "WRAPS", "CircuitbreakerGuard", "create"]

T = TypeVar("T")


class CircuitbreakerGuard(PolledGuard):
    """Drive a ``circuitbreaker.CircuitBreaker``."""

    rejections = (circuitbreaker.CircuitBreakerError,)

    def __init__(
        self, breaker: Any, impl: str, name: str, clock: VirtualClock, listener: TransitionListener
    ) -> None:
        super().__init__(impl, name, clock, listener)
        self.breaker = breaker

    def snapshot(self) -> tuple[BreakerState, object]:
        """Return the (lazily computed) state and when the breaker last opened."""
        # ``_opened`` is private, but nothing public tells a restarted wait apart.
        return state_named(self.breaker.state), getattr(self.breaker, "_opened", None)

    async def run(self, attempt: Attempt[T]) -> T:
        """Do what the library's decorator does for a coroutine function."""
        breaker = self.breaker
        # Its decorator (``awrapper``) is these two steps; it also registers the breaker in a
        # process-wide monitor, which would keep every run's last breaker alive.
        if breaker.opened:
            raise circuitbreaker.CircuitBreakerError(breaker)
        result: T = await breaker.call_async(attempt)
        return result


def create(
    config: CircuitbreakerSettings, name: str, clock: VirtualClock, listener: TransitionListener
) -> CircuitbreakerGuard:
    """Return a guard over a new breaker with the scenario's settings."""
    breaker = circuitbreaker.CircuitBreaker(
        failure_threshold=config.failure_threshold,
        recovery_timeout=config.recovery_timeout / 1e9,
        name=name,
    )
    return CircuitbreakerGuard(breaker, "circuitbreaker", name, clock, listener)


WRAPS = circuitbreaker.CircuitBreaker
"""What a custom factory may return for this library's guard to drive it."""
GUARD = CircuitbreakerGuard
