"""The interface every breaker under test is driven through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from harness.events import BreakerState

__all__ = ["Guard", "TransitionListener", "Unguarded"]

T = TypeVar("T")
TransitionListener = Callable[[int, BreakerState, BreakerState], None]


class Guard(Protocol):
    """One breaker under test, as the engines see it."""

    impl: str | None
    initial_state: BreakerState

    def state(self) -> BreakerState:
        """Return the breaker's current state."""
        ...

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt`` through the breaker; raise CircuitOpenError if it is rejected."""
        ...


class Unguarded:
    """No breaker: every call goes straight to the upstream."""

    impl: str | None = None
    initial_state = BreakerState.NONE

    def state(self) -> BreakerState:
        """Return NONE: there is no breaker."""
        return BreakerState.NONE

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt`` directly."""
        return await attempt()
