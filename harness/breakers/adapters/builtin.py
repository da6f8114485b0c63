"""The built-in breaker as a guard; it reads the virtual clock directly, at no cost.

Both engines reach the same decision for the same answer: the HTTP engine's ``call`` turns the
exception an answer raised back into its (outcome, status) with :func:`classify`, the direct
engine hands (outcome, status) to ``on_result``, and both look the answer up in one table built
from the scenario's ``record_errors`` / ``ignore_errors``. Both measure a call from the clock at
permission to the clock at the answer.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Awaitable, Callable
from typing import TypeVar

from harness.breakers.adapters.base import TransitionListener
from harness.breakers.builtin import AsyncCircuitBreaker, CircuitOpenError, Permit
from harness.clock import VirtualClock
from harness.events import BreakerState, Outcome, classify
from harness.format.breaker_settings import Breaker
from harness.format.units import NS_PER_S

__all__ = ["BuiltinGuard"]

T = TypeVar("T")
Report = Callable[[int, Permit | None], None]
_NOW = operator.attrgetter("now_ns")
_KINDS = {
    Outcome.TIMEOUT: "timeout",
    Outcome.CONNECT_ERROR: "connect_error",
    Outcome.CONNECTION_RESET: "connection_reset",
}


class BuiltinGuard:
    """Drive :class:`~harness.breakers.builtin.AsyncCircuitBreaker` configured from a scenario."""

    impl: str | None = "builtin"
    initial_state = BreakerState.CLOSED

    def __init__(
        self, config: Breaker, name: str, clock: VirtualClock, listener: TransitionListener
    ) -> None:
        self.clock = clock
        self.breaker = _breaker(config, name, clock)
        self.breaker.add_listener(listener)
        self._reports = _report_table(config, self.breaker)
        self._on_success = self.breaker.on_success

    def state(self) -> BreakerState:
        """Return the breaker's current state."""
        return self.breaker.state

    def finish(self, end_ns: int) -> None:
        """Make the timed moves due by the run's end (HALF_OPEN's max wait) after the last call."""
        self.breaker.apply_timed_moves(end_ns)

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt`` through the breaker; raise CircuitOpenError if it is rejected."""
        breaker, clock = self.breaker, self.clock
        start = clock.now_ns
        permit = breaker.try_acquire_permission()
        if permit is None:
            state = breaker.state
            raise CircuitOpenError(breaker.name, state, breaker.time_until_half_open_ns())
        try:
            result = await attempt()
        except Exception as error:
            self._report_error(error, clock.now_ns - start, permit)
            raise
        except BaseException:
            # Cancelled: it says nothing of the upstream.
            breaker.on_ignored(clock.now_ns - start, permit)
            raise
        self._on_success(clock.now_ns - start, permit)
        return result

    def _report_error(self, error: Exception, duration_ns: int, permit: Permit) -> None:
        known = classify(error)
        if known is None:
            # Not an answer the harness knows: a failure.
            self.breaker.on_error(duration_ns, permit=permit)
            return
        self.on_result(*known, duration_ns, permit)

    def try_acquire(self) -> Permit | None:
        """Take permission for one call: its permit (truthy), or None when rejected."""
        return self.breaker.try_acquire_permission()

    def on_result(
        self, outcome: Outcome, status: int, duration_ns: int, permit: object = None
    ) -> None:
        """Record how the call admitted with ``permit`` ended, as the scenario counts it."""
        if outcome is Outcome.SUCCESS:
            self._on_success(duration_ns, permit)
            return
        key = status if outcome is Outcome.HTTP_ERROR else _KINDS[outcome]
        self._reports.get(key, self._on_success)(duration_ns, permit)


def _breaker(config: Breaker, name: str, clock: VirtualClock) -> AsyncCircuitBreaker:
    """Return the breaker the scenario's settings describe, reading ``clock``."""
    cap = config.exponential_max_wait_duration_in_open_state
    return AsyncCircuitBreaker(
        name,
        failure_rate_threshold=config.failure_rate_threshold,
        slow_call_rate_threshold=config.slow_call_rate_threshold,
        slow_call_duration_threshold=config.slow_call_duration_threshold / NS_PER_S,
        sliding_window_type=config.sliding_window_type,
        sliding_window_size=config.sliding_window_size,
        minimum_number_of_calls=config.minimum_number_of_calls,
        wait_duration_in_open_state=config.wait_duration_in_open_state / NS_PER_S,
        enable_exponential_backoff=config.enable_exponential_backoff,
        exponential_backoff_multiplier=config.exponential_backoff_multiplier,
        exponential_max_wait_duration_in_open_state=None if cap is None else cap / NS_PER_S,
        permitted_number_of_calls_in_half_open_state=(
            config.permitted_number_of_calls_in_half_open_state
        ),
        max_wait_duration_in_half_open_state=config.max_wait_duration_in_half_open_state / NS_PER_S,
        # A C-level read of the clock's attribute: no Python frame per read.
        clock=functools.partial(_NOW, clock),
    )


def _report_table(config: Breaker, breaker: AsyncCircuitBreaker) -> dict[int | str, Report]:
    """Return, for every error status and kind, how the breaker is told of it (success if absent).

    As resilience4j: ignored wins over recorded, and an error not recorded is a success.
    """
    table: dict[int | str, Report] = {}
    for key in (*range(400, 600), *_KINDS.values()):
        if _selects(config.ignore_errors, key):
            table[key] = breaker.on_ignored
        elif _selects(config.record_errors, key):
            table[key] = _error_reporter(breaker)
    return table


def _error_reporter(breaker: AsyncCircuitBreaker) -> Report:
    def report(duration_ns: int, permit: Permit | None) -> None:
        breaker.on_error(duration_ns, permit=permit)

    return report


def _selects(selectors: tuple[str, ...], key: int | str) -> bool:
    """Return whether ``selectors`` (503, 5xx, timeout…) select the status or kind ``key``."""
    if isinstance(key, str):
        return key in selectors
    return str(key) in selectors or f"{key // 100}xx" in selectors
