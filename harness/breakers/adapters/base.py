"""The interface every breaker under test is driven through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

from harness.events import BreakerState, Outcome

__all__ = ["Guard", "SyncGuard", "TransitionListener", "Unguarded"]

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


@runtime_checkable
class SyncGuard(Guard, Protocol):
    """A guard that can also be driven one decision at a time, with no coroutine.

    The direct engine uses it when offered: ``try_acquire`` at the call, then ``on_result``
    with the call's outcome, HTTP status (0 without a response), duration and what
    ``try_acquire`` returned (a permit the guard may use to tie the answer to its admission)
    when the answer comes. The guard decides what counts as a failure, exactly as it does for
    the exception the same answer raises through ``call``.
    """

    def try_acquire(self) -> object:
        """Take permission for one call; return something falsy when the breaker rejects it."""
        ...

    def on_result(
        self, outcome: Outcome, status: int, duration_ns: int, permit: object = None
    ) -> None:
        """Record how the call ``try_acquire`` admitted with ``permit`` ended."""
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

    def try_acquire(self) -> bool:
        """Permit every call."""
        return True

    def on_result(
        self, outcome: Outcome, status: int, duration_ns: int, permit: object = None
    ) -> None:
        """Ignore the outcome: there is no breaker."""
