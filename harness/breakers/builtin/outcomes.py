"""What a breaker tells the world: call outcomes, listeners, and the rejection error."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Protocol

from harness.events import BreakerState

__all__ = [
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
