"""The built-in circuit breaker, with resilience4j's semantics and setting names.

    CLOSED ──failure rate or slow-call rate ≥ its threshold over the window──▶ OPEN
           (only once the window holds the minimum number of calls)
    OPEN ──first call once the wait is over──▶ HALF_OPEN (that call is a trial)
    HALF_OPEN ──after N trial calls: a rate ≥ its threshold──▶ OPEN, else ──▶ CLOSED
    HALF_OPEN ──max wait in HALF_OPEN over (if set)──▶ OPEN
    OPEN ──wait over, with automatic_transition_from_open_to_half_open──▶ HALF_OPEN
    any ──transition_to_forced_open / disabled / metrics_only_state──▶ FORCED_OPEN / DISABLED /
          METRICS_ONLY (records, never moves on its own)

The wait in OPEN is fixed, grows by a multiplier with each consecutive OPEN up to a cap
(resilience4j's exponential backoff), may be randomized, or comes from an interval function.
A call counts in the state that admitted it: every admission carries a permit naming the state
spell that granted it, and its result counts (or an ignored trial returns its permit) only
while that spell lasts. A result arriving after the breaker moved on (a call admitted before a
trip, answering late) is told to the call listeners but counted nowhere, so it never restarts a
wait or decides a trial; and no clock reading or reported duration can drop a trial.

It reads time only from the ``clock`` callable it is given (nanoseconds), so under the harness it
follows virtual time at no cost; by default it reads the running virtual loop's time inside a
``virtual_time`` test and ``time.monotonic_ns`` elsewhere. Timed moves (the max wait in
HALF_OPEN, the automatic end of OPEN) are made when the breaker is next used or read (or by
``apply_timed_moves``), stamped at the instant they fell due.

- :class:`CircuitBreaker`: thread-safe, for synchronous code.
- :class:`AsyncCircuitBreaker`: for asyncio; permission is taken synchronously, so concurrent
  coroutines are never granted more HALF_OPEN trial calls than permitted.
- :class:`CircuitOpenError`: raised for a rejected call.
- :class:`CallOutcome`: what call listeners are told about each call.
- :class:`Permit`: permission for one call, from ``try_acquire_permission()``.
- :class:`IllegalStateTransition`: a forced move resilience4j refuses.
"""

from __future__ import annotations

from harness.breakers.builtin.aio import AsyncCircuitBreaker
from harness.breakers.builtin.outcomes import (
    BreakerMetrics,
    CallListener,
    CallOutcome,
    CircuitOpenError,
    IllegalStateTransition,
    Permit,
    TransitionListener,
)
from harness.breakers.builtin.sync import CircuitBreaker

__all__ = [
    "AsyncCircuitBreaker",
    "BreakerMetrics",
    "CallListener",
    "CallOutcome",
    "CircuitBreaker",
    "CircuitOpenError",
    "IllegalStateTransition",
    "Permit",
    "TransitionListener",
]
