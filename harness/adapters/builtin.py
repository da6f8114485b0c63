"""The built-in breaker as a guard; it reads the virtual clock directly, at no cost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from harness.adapters.base import TransitionListener
from harness.breaker import AsyncCircuitBreaker, CircuitOpenError
from harness.clock import VirtualClock
from harness.events import BreakerState, Outcome
from harness.scenario import Breaker

__all__ = ["BuiltinGuard"]

T = TypeVar("T")


class BuiltinGuard:
    """Drive :class:`~harness.breaker.AsyncCircuitBreaker` configured from a scenario."""

    impl: str | None = "builtin"
    initial_state = BreakerState.CLOSED

    def __init__(
        self, config: Breaker, name: str, clock: VirtualClock, listener: TransitionListener
    ) -> None:
        self.breaker = AsyncCircuitBreaker(
            name=name,
            failure_rate_threshold=config.failure_rate_threshold,
            sliding_window_size=config.sliding_window_size,
            minimum_number_of_calls=config.minimum_number_of_calls,
            wait_duration_in_open_state=config.wait_duration_in_open_state / 1e9,
            permitted_number_of_calls_in_half_open_state=(
                config.permitted_number_of_calls_in_half_open_state
            ),
            clock=lambda: clock.now_ns,
        )
        self.breaker.add_listener(listener)

    def state(self) -> BreakerState:
        """Return the breaker's current state."""
        return self.breaker.state

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt`` through the breaker."""
        breaker = self.breaker
        if not breaker.try_acquire():
            raise CircuitOpenError(breaker.name, breaker.state)
        try:
            result = await attempt()
        except BaseException:
            breaker.on_error()
            raise
        breaker.on_success()
        return result

    def try_acquire(self) -> bool:
        """Take permission for one call."""
        return self.breaker.try_acquire()

    def on_result(self, outcome: Outcome, status: int, duration_ns: int) -> None:
        """Record how a permitted call ended: anything but a success is a failure."""
        if outcome is Outcome.SUCCESS:
            self.breaker.on_success()
        else:
            self.breaker.on_error()
