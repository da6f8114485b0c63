"""Settings and the public control API both built-in breakers share.

Settings take resilience4j's names in snake_case, rates as fractions in (0, 1] and durations in
seconds (or as a timedelta); see the README's table for each one beside resilience4j's.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import timedelta
from fractions import Fraction
from typing import Literal, TypeVar

from harness.breakers.builtin.machine import (
    CLOSED,
    DISABLED,
    ERROR,
    FORCED_OPEN,
    HALF_OPEN,
    IGNORED,
    METRICS_ONLY,
    NEVER,
    OPEN,
    _Machine,
)
from harness.breakers.builtin.outcomes import (
    BreakerMetrics,
    CallListener,
    IllegalStateTransition,
    Permit,
    TransitionListener,
)
from harness.breakers.builtin.windows import CountWindow, read_count
from harness.clock import monotonic_or_virtual_ns
from harness.events import BreakerState
from harness.format.units import NS_PER_S

__all__ = ["BreakerCore", "BreakerMetrics", "Seconds"]

T = TypeVar("T")
Seconds = float | timedelta
"""A duration for the Python API: seconds, or a timedelta."""
ExceptionPredicate = Callable[[BaseException], bool]
MAX_WAIT_NS = 2**62  # ~146 years: where a backoff without a cap stops growing


# resilience4j refuses these forced moves (StateTransition.transitionBetween throws).
_REFUSED = {
    (BreakerState.CLOSED, BreakerState.HALF_OPEN),
    (BreakerState.METRICS_ONLY, BreakerState.OPEN),
    (BreakerState.METRICS_ONLY, BreakerState.HALF_OPEN),
}


class BreakerCore(_Machine):
    """Everything the sync and async breakers share; they add the ways to wrap a call."""

    __slots__ = ()

    def __init__(
        self,
        name: str = "breaker",
        *,
        failure_rate_threshold: float = 0.5,
        slow_call_rate_threshold: float = 1.0,
        slow_call_duration_threshold: Seconds = 60.0,
        sliding_window_type: Literal["count", "time"] = "count",
        sliding_window_size: int = 100,
        minimum_number_of_calls: int = 100,
        wait_duration_in_open_state: Seconds = 60.0,
        enable_exponential_backoff: bool = False,
        exponential_backoff_multiplier: float = 1.5,
        exponential_max_wait_duration_in_open_state: Seconds | None = None,
        permitted_number_of_calls_in_half_open_state: int = 10,
        max_wait_duration_in_half_open_state: Seconds = 0.0,
        automatic_transition_from_open_to_half_open: bool = False,
        randomized_wait_factor: float = 0.0,
        wait_interval_function: Callable[[int], Seconds] | None = None,
        random_source: Callable[[], float] = random.random,
        record_exceptions: Iterable[type[BaseException]] = (),
        ignore_exceptions: Iterable[type[BaseException]] = (),
        record_failure_predicate: ExceptionPredicate | None = None,
        ignore_exception_predicate: ExceptionPredicate | None = None,
        clock: Callable[[], int] = monotonic_or_virtual_ns,
    ) -> None:
        """Create a CLOSED breaker named ``name``; every setting is resilience4j's.

        ``wait_interval_function(attempt)`` (attempt 1 for the first OPEN since CLOSED) gives
        each OPEN wait in seconds, replacing the wait, backoff and randomization settings.
        ``random_source`` feeds ``randomized_wait_factor`` (give a seeded one to replay a run).
        """
        self.name = name
        self._clock = clock
        self._set_thresholds(
            failure_rate_threshold, slow_call_rate_threshold, slow_call_duration_threshold
        )
        self._set_window(sliding_window_type, sliding_window_size, minimum_number_of_calls)
        self._wait_ns = _to_ns("wait_duration_in_open_state", wait_duration_in_open_state, 1)
        self._set_backoff(
            enable_exponential_backoff,
            exponential_backoff_multiplier,
            exponential_max_wait_duration_in_open_state,
        )
        self._permitted = _count(
            "permitted_number_of_calls_in_half_open_state",
            permitted_number_of_calls_in_half_open_state,
        )
        self._half_open_max_ns = _to_ns(
            "max_wait_duration_in_half_open_state", max_wait_duration_in_half_open_state
        )
        self._automatic = bool(automatic_transition_from_open_to_half_open)
        self._set_interval(randomized_wait_factor, wait_interval_function, random_source)
        self._set_policy(record_exceptions, ignore_exceptions)
        self._record_predicate = record_failure_predicate
        self._ignore_predicate = ignore_exception_predicate
        # As in resilience4j: with neither a type nor a predicate to record, every error counts.
        self._records_all = not self._record_types and record_failure_predicate is None
        self._start_closed()

    def _set_thresholds(self, failure: float, slow: float, slow_duration: Seconds) -> None:
        self._failure_num, self._failure_den = _ratio("failure_rate_threshold", failure)
        self._slow_num, self._slow_den = _ratio("slow_call_rate_threshold", slow)
        self._slow_ns = _to_ns("slow_call_duration_threshold", slow_duration)

    def _set_window(self, kind: str, size: int, minimum: int) -> None:
        if kind not in ("count", "time"):
            raise ValueError(f"sliding_window_type must be 'count' or 'time', got {kind!r}")
        self._window_type = kind
        self._window_size = _count("sliding_window_size", size)
        minimum = _count("minimum_number_of_calls", minimum)
        # As in resilience4j, a count window can never hold more calls than its size.
        self._minimum = min(minimum, size) if kind == "count" else minimum

    def _set_backoff(self, enabled: bool, multiplier: float, cap: Seconds | None) -> None:
        if multiplier < 1:
            raise ValueError(f"exponential_backoff_multiplier must be at least 1, got {multiplier}")
        self._multiplier = multiplier if enabled else 1.0
        self._max_wait_ns = MAX_WAIT_NS
        if enabled and cap is not None:
            self._max_wait_ns = _to_ns("exponential_max_wait_duration_in_open_state", cap)
            if self._max_wait_ns < self._wait_ns:
                raise ValueError(
                    "exponential_max_wait_duration_in_open_state must be at least "
                    "wait_duration_in_open_state"
                )

    def _set_interval(
        self,
        factor: float,
        function: Callable[[int], Seconds] | None,
        source: Callable[[], float],
    ) -> None:
        if isinstance(factor, bool) or not 0 <= factor < 1:
            raise ValueError(f"randomized_wait_factor must be in [0, 1), got {factor!r}")
        self._random_factor = factor
        self._random = source
        self._interval = None
        if function is not None:
            given = function

            def interval(attempt: int) -> int:
                return _to_ns("wait_interval_function's wait", given(attempt), 1)

            self._interval = interval

    def _set_policy(
        self, record: Iterable[type[BaseException]], ignore: Iterable[type[BaseException]]
    ) -> None:
        self._record_types = tuple(record)
        self._ignore_types = tuple(ignore)
        for kind in (*self._record_types, *self._ignore_types):
            if not (isinstance(kind, type) and issubclass(kind, BaseException)):
                raise ValueError(f"expected exception types to record or ignore, got {kind!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._state.name}>"

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: TransitionListener) -> None:
        """Call ``listener(at_ns, source, target)`` on every state transition."""
        self._transition_listeners.append(listener)

    def add_call_listener(self, listener: CallListener) -> None:
        """Call ``listener(at_ns, outcome, duration_ns)`` once for every call, rejected or not."""
        with self._lock:
            self._call_listeners.append(listener)
            self._fast_window = None  # every call must now queue its outcome

    # -- reading -----------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """Return the current state."""
        state = self._state
        if (state is HALF_OPEN and self._half_open_until != NEVER) or (
            state is OPEN and self._automatic
        ):
            self._locked(self._catch_up, self._clock())
        return self._state

    def apply_timed_moves(self, until_ns: int | None = None) -> None:
        """Make every timed move due by ``until_ns`` (default: now), each stamped when due.

        The breaker makes them whenever it is used or read; call this where it will not be
        again, e.g. when a run ends, so its timeline ends as a timer would have left it.
        """
        self._locked(self._catch_up, self._clock() if until_ns is None else until_ns)

    def time_until_half_open_ns(self) -> int | None:
        """Return how long OPEN still rejects calls (0: the next is a trial); None if not OPEN."""
        now = self._clock()
        self._locked(self._catch_up, now)
        return max(0, self._open_until - now) if self._state is OPEN else None

    def metrics(self) -> BreakerMetrics:
        """Return the counts in the current window; a time window first moves to now."""
        now = self._clock()
        with self._lock:
            self._catch_up(now)
            window = self._window
            if self._state is CLOSED and isinstance(window, CountWindow):
                # Lock-free successes leave its totals behind. (Once tripped, the window
                # keeps the totals it tripped on: a late success may still take a position.)
                window.settle_before(window.taken() - 1)
            else:
                window.move_to(now)
            refused = read_count(window.refused)
            metrics = BreakerMetrics(
                window.calls, window.failures, window.slow, window.slow_failures, refused
            )
        if self._pending:
            self._publish()
        return metrics

    # -- one decision at a time (resilience4j's tryAcquirePermission, onSuccess, onError) ---

    def try_acquire(self) -> bool:
        """Take permission for one call; return False when the breaker rejects it.

        Report how a permitted call ended with exactly one of :meth:`on_success`,
        :meth:`on_error` or :meth:`on_ignored`, giving how long it took. Without a permit
        they count in the current state, as in resilience4j; prefer
        :meth:`try_acquire_permission`, whose permit ties the result to the state that
        admitted the call.
        """
        return self.try_acquire_permission() is not None

    def try_acquire_permission(self) -> Permit | None:
        """Take permission for one call; return its permit, or None when rejected."""
        window = self._fast_window
        if window is not None:
            return window  # a CLOSED count window permits every call, without the lock
        now = self._clock()
        permit = self._locked(self._admit, now)
        if permit is None:
            self._rejection(now)
        return permit

    def on_success(self, duration_ns: int, permit: Permit | None = None) -> None:
        """Record that a permitted call succeeded after ``duration_ns``."""
        now = self._clock()
        self._succeeded(permit, now - duration_ns, now)

    def on_error(
        self, duration_ns: int, error: BaseException | None = None, permit: Permit | None = None
    ) -> None:
        """Record that a permitted call failed after ``duration_ns``, raising ``error``.

        With ``error`` given, it counts as the breaker's exception settings say (it may be
        ignored, or count as a success); without, it is a failure.
        """
        now = self._clock()
        verdict = ERROR if error is None else self._verdict(error)
        self._end(verdict, permit, now - duration_ns, now)

    def on_ignored(self, duration_ns: int, permit: Permit | None = None) -> None:
        """Record that a permitted call ended in a way that counts neither way."""
        now = self._clock()
        self._end(IGNORED, permit, now - duration_ns, now)

    # -- forced transitions (resilience4j's transitionTo…State) ------------------------------

    def transition_to_closed_state(self) -> None:
        """Close the breaker now, with an empty window."""
        self._force(CLOSED)

    def transition_to_open_state(self) -> None:
        """Open the breaker now; it half-opens after the wait, as if it had tripped."""
        self._force(OPEN)

    def transition_to_open_state_for(self, wait: Seconds) -> None:
        """Open the breaker now for ``wait`` instead of the configured wait."""
        self._force(OPEN, _to_ns("wait", wait))

    def transition_to_open_state_until(self, until_ns: int) -> None:
        """Open the breaker now until the clock reads ``until_ns``."""
        self._force(OPEN, max(0, until_ns - self._clock()))

    def transition_to_half_open_state(self) -> None:
        """Half-open the breaker now, with a fresh set of trial permits (not from CLOSED)."""
        self._force(HALF_OPEN)

    def transition_to_forced_open_state(self) -> None:
        """Reject every call until another forced transition; nothing is recorded meanwhile."""
        self._force(FORCED_OPEN)

    def transition_to_disabled_state(self) -> None:
        """Permit every call until another forced transition; nothing is recorded meanwhile."""
        self._force(DISABLED)

    def transition_to_metrics_only_state(self) -> None:
        """Permit every call and record it, never moving on its own (resilience4j's
        METRICS_ONLY)."""
        self._force(METRICS_ONLY)

    def reset(self) -> None:
        """Return to CLOSED with an empty window and no backoff, as if new."""
        self._force(CLOSED)

    def _force(self, target: BreakerState, open_for: int | None = None) -> None:
        now = self._clock()
        with self._lock:
            self._catch_up(now)
            source = self._state
            refused = (source, target) in _REFUSED
            if not refused:
                self._transition(target, now, open_for)
        if self._pending:  # the catch-up's moves are told even when the forced one is refused
            self._publish()
        if refused:
            raise IllegalStateTransition(
                f"circuit breaker {self.name!r} cannot move from {source.name} to "
                f"{target.name} (as in resilience4j)"
            )

    def _locked(self, decide: Callable[..., T], *args: object) -> T:
        """Return ``decide(*args)`` run under the lock, then tell the listeners."""
        with self._lock:
            result = decide(*args)
        if self._pending:
            self._publish()
        return result


def _ratio(label: str, value: float) -> tuple[int, int]:
    """Return a threshold in (0, 1] as an exact ratio, so 30% of 10 calls is exactly 3."""
    if isinstance(value, bool) or not 0 < value <= 1:
        raise ValueError(f"{label} must be a fraction in (0, 1], got {value!r}")
    exact = Fraction(value).limit_denominator(1_000_000)
    return exact.numerator, exact.denominator


def _count(label: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{label} must be a whole number of at least 1, got {value!r}")
    return value


def _to_ns(label: str, value: Seconds, minimum_ns: int = 0) -> int:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    ns = round(seconds * NS_PER_S)
    if ns < minimum_ns:
        least = "above zero" if minimum_ns else "zero or more"
        raise ValueError(f"{label} must be {least}, got {value!r}")
    return ns
