"""What a breaker tells the world: call outcomes, listeners, and the rejection error."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import NamedTuple, Protocol

from harness.events import BreakerState

__all__ = [
    "BreakerMetrics",
    "CallListener",
    "CallOutcome",
    "CircuitOpenError",
    "IllegalStateTransition",
    "Permit",
    "TransitionListener",
]


class Permit(Protocol):
    """Permission for one call, from ``try_acquire_permission()``: pass it back with the result.

    Opaque: it names the state spell that admitted the call, so the result counts there or
    nowhere, whatever the clock or the duration given say.
    """


class IllegalStateTransition(ValueError, RuntimeError):
    """A forced transition resilience4j refuses (CLOSED → HALF_OPEN, METRICS_ONLY → OPEN…)."""


class CallOutcome(IntEnum):
    """How one call through a breaker ended, as its call listeners are told.

    The values are the codes the sliding windows store: bit 0 marks a failure, bit 1 a slow
    call.
    """

    SUCCESS = 0
    ERROR = 1
    SLOW_SUCCESS = 2
    SLOW_ERROR = 3
    IGNORED = 4  # counted neither as a success nor as a failure
    NOT_PERMITTED = 5  # rejected without running

    @property
    def slow(self) -> bool:
        """Return whether the call took longer than the slow-call duration threshold."""
        return self in (CallOutcome.SLOW_SUCCESS, CallOutcome.SLOW_ERROR)

    @property
    def failed(self) -> bool:
        """Return whether the call counts as a failure."""
        return self in (CallOutcome.ERROR, CallOutcome.SLOW_ERROR)


TransitionListener = Callable[[int, BreakerState, BreakerState], None]
"""Called as ``listener(at_ns, source, target)`` on every state transition."""
CallListener = Callable[[int, CallOutcome, int], None]
"""Called as ``listener(at_ns, outcome, duration_ns)`` once for every call (0 if rejected)."""


class CircuitOpenError(Exception):
    """The breaker rejected a call without running it.

    ``CircuitOpenError(name, state, retry_after_ns)``: ``retry_after_ns`` is the time left until
    the breaker lets a trial call through, or None when that time is not known (FORCED_OPEN, or
    HALF_OPEN with every trial permit taken).
    """

    # No __init__ of its own: an OPEN breaker raises one per rejected call, and a Python-level
    # __init__ would nearly double the cost of raising it. The fields live in ``args``.

    @property
    def name(self) -> str:
        """Return the name of the breaker that rejected the call."""
        return str(self.args[0])

    @property
    def state(self) -> BreakerState:
        """Return the breaker's state when it rejected the call."""
        state: BreakerState = self.args[1]
        return state

    @property
    def retry_after_ns(self) -> int | None:
        """Return the nanoseconds until a trial call is let through, if known."""
        return self.args[2] if len(self.args) > 2 else None

    def __str__(self) -> str:
        return f"circuit breaker {self.name!r} is {self.state.name}; call not permitted"


class BreakerMetrics(NamedTuple):
    """What the current window holds: CLOSED's window, or HALF_OPEN's trial calls so far.

    ``not_permitted_calls`` counts the calls rejected since the window began (OPEN keeps the
    window that tripped it, as in resilience4j).
    """

    calls: int
    failures: int
    slow_calls: int
    slow_failures: int = 0
    not_permitted_calls: int = 0

    @property
    def failure_rate(self) -> float | None:
        """Return failures / calls, or None over no calls."""
        return self.failures / self.calls if self.calls else None

    @property
    def slow_call_rate(self) -> float | None:
        """Return slow calls / calls, or None over no calls."""
        return self.slow_calls / self.calls if self.calls else None

    @property
    def successes(self) -> int:
        """Return the calls that succeeded, slow or not."""
        return self.calls - self.failures

    @property
    def slow_successes(self) -> int:
        """Return the slow calls that succeeded."""
        return self.slow_calls - self.slow_failures

    # resilience4j's names (CircuitBreaker.Metrics), in snake_case.

    @property
    def number_of_buffered_calls(self) -> int:
        """Return the calls in the window (resilience4j's name)."""
        return self.calls

    @property
    def number_of_failed_calls(self) -> int:
        """Return the failed calls (resilience4j's name)."""
        return self.failures

    @property
    def number_of_successful_calls(self) -> int:
        """Return the successful calls (resilience4j's name)."""
        return self.successes

    @property
    def number_of_slow_calls(self) -> int:
        """Return the slow calls (resilience4j's name)."""
        return self.slow_calls

    @property
    def number_of_slow_failed_calls(self) -> int:
        """Return the slow failed calls (resilience4j's name)."""
        return self.slow_failures

    @property
    def number_of_slow_successful_calls(self) -> int:
        """Return the slow successful calls (resilience4j's name)."""
        return self.slow_successes

    @property
    def number_of_not_permitted_calls(self) -> int:
        """Return the calls not permitted (resilience4j's name)."""
        return self.not_permitted_calls
