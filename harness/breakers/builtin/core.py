"""Settings and the public control API both built-in breakers share.

Settings take resilience4j's names in snake_case, rates as fractions in (0, 1] and durations in
seconds (or as a timedelta); see the README's table for each one beside resilience4j's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from fractions import Fraction
from typing import Literal, NamedTuple, TypeVar

from harness.breakers.builtin.machine import (
    CLOSED,
    DISABLED,
    ERROR,
    FORCED_OPEN,
    HALF_OPEN,
    IGNORED,
    NEVER,
    OPEN,
    _Machine,
)
from harness.breakers.builtin.outcomes import CallListener, TransitionListener
from harness.breakers.builtin.windows import CountWindow
from harness.clock import monotonic_or_virtual_ns
from harness.events import BreakerState
from harness.format.units import NS_PER_S

__all__ = ["BreakerCore", "BreakerMetrics", "Seconds"]

T = TypeVar("T")
Seconds = float | timedelta
"""A duration for the Python API: seconds, or a timedelta."""
ExceptionPredicate = Callable[[BaseException], bool]
MAX_WAIT_NS = 2**62  # ~146 years: where a backoff without a cap stops growing


class BreakerMetrics(NamedTuple):
    """What the current window holds: CLOSED's window, or HALF_OPEN's trial calls so far."""

    calls: int
    failures: int
    slow_calls: int

    @property
    def failure_rate(self) -> float | None:
        """Return failures / calls, or None over no calls."""
        return self.failures / self.calls if self.calls else None

    @property
    def slow_call_rate(self) -> float | None:
        """Return slow calls / calls, or None over no calls."""
        return self.slow_calls / self.calls if self.calls else None


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
        record_exceptions: Iterable[type[BaseException]] = (),
        ignore_exceptions: Iterable[type[BaseException]] = (),
        record_failure_predicate: ExceptionPredicate | None = None,
        ignore_exception_predicate: ExceptionPredicate | None = None,
        clock: Callable[[], int] = monotonic_or_virtual_ns,
    ) -> None:
        """Create a CLOSED breaker named ``name``; every setting is resilience4j's."""
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
        if self._state is HALF_OPEN and self._half_open_until != NEVER:
            self._locked(self._catch_up, self._clock())
        return self._state

    def time_until_half_open_ns(self) -> int | None:
        """Return how long OPEN still rejects calls (0: the next is a trial); None if not OPEN."""
        now = self._clock()
        self._locked(self._catch_up, now)
        return max(0, self._open_until - now) if self._state is OPEN else None

    def metrics(self) -> BreakerMetrics:
        """Return the counts in the current window (as of the last call recorded)."""
        with self._lock:
            window = self._window
            if isinstance(window, CountWindow):  # fast successes leave its totals behind
                window.settle_before(window.taken() - 1)
            return BreakerMetrics(window.calls, window.failures, window.slow)

    # -- one decision at a time (resilience4j's tryAcquirePermission, onSuccess, onError) ---

    def try_acquire(self) -> bool:
        """Take permission for one call; return False when the breaker rejects it.

        Report how a permitted call ended with exactly one of :meth:`on_success`,
        :meth:`on_error` or :meth:`on_ignored`, giving how long it took.
        """
        if self._fast_window is not None:
            return True  # a CLOSED count window permits every call, without the lock
        now = self._clock()
        if self._locked(self._admit, now):
            return True
        self._rejection(now)
        return False

    def on_success(self, duration_ns: int) -> None:
        """Record that a permitted call succeeded after ``duration_ns``."""
        now = self._clock()
        self._succeeded(now - duration_ns, now)

    def on_error(self, duration_ns: int, error: BaseException | None = None) -> None:
        """Record that a permitted call failed after ``duration_ns``, raising ``error``.

        With ``error`` given, it counts as the breaker's exception settings say (it may be
        ignored, or count as a success); without, it is a failure.
        """
        now = self._clock()
        self._end(ERROR if error is None else self._verdict(error), now - duration_ns, now)

    def on_ignored(self, duration_ns: int) -> None:
        """Record that a permitted call ended in a way that counts neither way."""
        now = self._clock()
        self._end(IGNORED, now - duration_ns, now)

    # -- forced transitions (resilience4j's transitionTo…State) ------------------------------

    def transition_to_closed_state(self) -> None:
        """Close the breaker now, with an empty window."""
        self._force(CLOSED)

    def transition_to_open_state(self) -> None:
        """Open the breaker now; it half-opens after the wait, as if it had tripped."""
        self._force(OPEN)

    def transition_to_half_open_state(self) -> None:
        """Half-open the breaker now, with a fresh set of trial permits."""
        self._force(HALF_OPEN)

    def transition_to_forced_open_state(self) -> None:
        """Reject every call until another forced transition; nothing is recorded meanwhile."""
        self._force(FORCED_OPEN)

    def transition_to_disabled_state(self) -> None:
        """Permit every call until another forced transition; nothing is recorded meanwhile."""
        self._force(DISABLED)

    def _force(self, target: BreakerState) -> None:
        self._locked(self._move, target, self._clock())

    def _move(self, target: BreakerState, now: int) -> None:
        self._catch_up(now)
        self._transition(target, now)

    def _locked(self, decide: Callable[..., T], *args: int) -> T:
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
