"""The built-in circuit breaker, with resilience4j's semantics and names.

    CLOSED ──failure rate ≥ threshold over the window (after the minimum calls)──▶ OPEN
    OPEN ──first call after the wait──▶ HALF_OPEN (that call is a trial)
    HALF_OPEN ──after N trial calls: failure rate ≥ threshold──▶ OPEN, else ──▶ CLOSED

It reads time from the ``clock`` callable it is given (nanoseconds), so under the harness it
follows virtual time at no cost; standalone it defaults to ``time.monotonic_ns``.

:class:`CircuitBreaker` is the thread-safe synchronous form (context manager, decorator,
``call``); :class:`AsyncCircuitBreaker` the asyncio form (``async with``, decorator, ``call``).
Permission is taken synchronously in both, so concurrent coroutines can never be granted more
than the permitted number of HALF_OPEN trial calls.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import ParamSpec, TypeVar

from harness.events import BreakerState
from harness.units import NS_PER_S

__all__ = ["AsyncCircuitBreaker", "CircuitBreaker", "CircuitOpenError"]

P = ParamSpec("P")
T = TypeVar("T")
Listener = Callable[[int, BreakerState, BreakerState], None]

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class CircuitOpenError(Exception):
    """The breaker rejected a call without running it."""

    def __init__(self, name: str, state: BreakerState) -> None:
        self.name = name
        self.state = state
        super().__init__(f"circuit breaker {name!r} is {state.name}; call not permitted")


def _to_ns(value: float | timedelta) -> int:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return round(seconds * NS_PER_S)


class _CountWindow:
    """The outcomes of the last ``size`` calls, with a running failure count."""

    __slots__ = ("_next", "_ring", "calls", "failures", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._ring = bytearray(size)
        self._next = 0
        self.calls = 0
        self.failures = 0

    def add(self, failed: bool) -> None:
        index = self._next
        if self.calls == self.size:
            self.failures -= self._ring[index]
        else:
            self.calls += 1
        self._ring[index] = failed
        self.failures += failed
        self._next = index + 1 if index + 1 < self.size else 0


class _BreakerCore:
    """State and decisions shared by the sync and async breakers; callers hold the lock."""

    def __init__(
        self,
        *,
        name: str = "breaker",
        failure_rate_threshold: float = 0.5,
        sliding_window_size: int = 100,
        minimum_number_of_calls: int = 100,
        wait_duration_in_open_state: float | timedelta = 60.0,
        permitted_number_of_calls_in_half_open_state: int = 10,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if not 0 < failure_rate_threshold <= 1:
            raise ValueError(
                f"failure_rate_threshold must be in (0, 1], got {failure_rate_threshold!r}"
            )
        for label, number in (
            ("sliding_window_size", sliding_window_size),
            ("minimum_number_of_calls", minimum_number_of_calls),
            (
                "permitted_number_of_calls_in_half_open_state",
                permitted_number_of_calls_in_half_open_state,
            ),
        ):
            if number < 1:
                raise ValueError(f"{label} must be at least 1, got {number!r}")
        self.name = name
        self.failure_rate_threshold = failure_rate_threshold
        self.sliding_window_size = sliding_window_size
        # As in resilience4j, a count window can never hold more calls than its size.
        self.minimum_number_of_calls = min(minimum_number_of_calls, sliding_window_size)
        self.wait_ns = _to_ns(wait_duration_in_open_state)
        self.permitted_in_half_open = permitted_number_of_calls_in_half_open_state
        self.clock = clock
        self.state = CLOSED
        self._window = _CountWindow(sliding_window_size)
        self._opened_at = 0
        self._trial_permits = 0
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(at_ns, source, target)`` on every state transition."""
        self._listeners.append(listener)

    def _try_acquire(self) -> bool:
        state = self.state
        if state is CLOSED:
            return True
        if state is OPEN:
            if self.clock() - self._opened_at < self.wait_ns:
                return False
            self._transition(HALF_OPEN)
        if self._trial_permits >= self.permitted_in_half_open:
            return False
        self._trial_permits += 1
        return True

    def _record(self, failed: bool) -> None:
        window = self._window
        window.add(failed)
        if self.state is CLOSED:
            if window.calls >= self.minimum_number_of_calls and self._tripped():
                self._transition(OPEN)
        elif self.state is HALF_OPEN and window.calls >= self.permitted_in_half_open:
            self._transition(OPEN if self._tripped() else CLOSED)
        # A result arriving while OPEN (a call admitted before the trip) changes nothing:
        # in particular it does not restart the wait.

    def _tripped(self) -> bool:
        window = self._window
        return window.failures >= self.failure_rate_threshold * window.calls

    def _transition(self, target: BreakerState) -> None:
        source = self.state
        now = self.clock()
        self.state = target
        self._window = _CountWindow(
            self.permitted_in_half_open if target is HALF_OPEN else self.sliding_window_size
        )
        self._trial_permits = 0
        if target is OPEN:
            self._opened_at = now
        for listener in self._listeners:
            listener(now, source, target)


class CircuitBreaker(_BreakerCore):
    """A thread-safe circuit breaker for synchronous code."""

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)  # type: ignore[arg-type]
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take permission for one call; return False when the breaker rejects it."""
        with self._lock:
            return self._try_acquire()

    def on_success(self) -> None:
        """Record that a permitted call succeeded."""
        with self._lock:
            self._record(False)

    def on_error(self) -> None:
        """Record that a permitted call failed."""
        with self._lock:
            self._record(True)

    def __enter__(self) -> CircuitBreaker:
        if not self.try_acquire():
            raise CircuitOpenError(self.name, self.state)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._record(exc_type is not None)

    def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function`` through the breaker."""
        with self:
            return function(*args, **kwargs)

    def __call__(self, function: Callable[P, T]) -> Callable[P, T]:
        """Decorate ``function`` so every call goes through the breaker."""

        @functools.wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            with self:
                return function(*args, **kwargs)

        return guarded


class AsyncCircuitBreaker(_BreakerCore):
    """A circuit breaker for asyncio code; safe for any number of concurrent coroutines."""

    # Every decision runs synchronously between awaits on one event loop thread, so no lock
    # is needed and concurrent coroutines cannot interleave inside a decision.

    def try_acquire(self) -> bool:
        """Take permission for one call; return False when the breaker rejects it."""
        return self._try_acquire()

    def on_success(self) -> None:
        """Record that a permitted call succeeded."""
        self._record(False)

    def on_error(self) -> None:
        """Record that a permitted call failed."""
        self._record(True)

    async def __aenter__(self) -> AsyncCircuitBreaker:
        if not self._try_acquire():
            raise CircuitOpenError(self.name, self.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._record(exc_type is not None)

    async def call(
        self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``function`` through the breaker."""
        async with self:
            return await function(*args, **kwargs)

    def __call__(self, function: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        """Decorate a coroutine function so every call goes through the breaker."""

        @functools.wraps(function)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            async with self:
                return await function(*args, **kwargs)

        return guarded
