"""The thread-safe breaker for synchronous code: ``with``, decorator, or ``call``."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from types import TracebackType
from typing import ParamSpec, TypeVar

from harness.breakers.builtin.core import BreakerCore
from harness.breakers.builtin.machine import OPEN, SUCCESS
from harness.breakers.builtin.outcomes import CircuitOpenError, Permit

__all__ = ["CircuitBreaker"]

P = ParamSpec("P")
T = TypeVar("T")


class _Starts(threading.local):
    """The start and permit of every ``with`` block open in this thread, innermost last."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, Permit]] = []


class CircuitBreaker(BreakerCore):
    """A thread-safe circuit breaker for synchronous code.

    ``with breaker: ...``, ``@breaker`` on a function, or ``breaker.call(function, *args)``;
    a rejected call raises :class:`~harness.breakers.builtin.CircuitOpenError` without running.
    """

    __slots__ = ("_starts",)

    # The hot paths below read some state without the lock where that is safe: a CLOSED count
    # window (``_fast_window``) permits every call and records a fast success lock-free, and
    # OPEN before its deadline rejects without changing anything (a transition writes the
    # deadline before the state). Everything else that decides runs under the lock.
    #
    # They are written out in each form rather than shared: a Python call costs ~40-60 ns
    # here, a sixth of a whole guarded call, and an error raised one frame deeper costs more.
    # test_breaker_model.py holds every form to the same reference model. In call() and the
    # decorator the window is read before the clock, so a success counted in it never started
    # before it.

    def _prepare(self) -> None:
        # Blocks in one thread open and close innermost first (no await can come between),
        # so one stack per thread gives each block its own start.
        self._starts = _Starts()

    def __enter__(self) -> CircuitBreaker:
        permit: Permit | None = self._fast_window
        start = self._clock()
        if permit is None:
            if self._state is OPEN and start < self._open_until and not self._call_listeners:
                next(self._window.refused)
                raise CircuitOpenError(self.name, OPEN, self._open_until - start)
            permit = self._permit(start)
        self._starts.stack.append((start, permit))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        start, permit = self._starts.stack.pop()
        if exc is None:
            self._succeeded(permit, start, self._clock())
        else:
            self._failed(self._verdict(exc), permit, start)

    def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function(*args, **kwargs)`` through the breaker."""
        permit: Permit | None  # a window is one (annotated apart: no cost per call)
        window = permit = self._fast_window
        start = self._clock()
        if window is None:
            if self._state is OPEN and start < self._open_until and not self._call_listeners:
                next(self._window.refused)
                raise CircuitOpenError(self.name, OPEN, self._open_until - start)
            permit = self._permit(start)
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            self._failed(self._verdict(error), permit, start)
            raise
        now = self._clock()
        if window is not None and now - start <= self._slow_ns:
            position = next(window.positions)
            if position + 1 == self._minimum:
                self._reach_minimum(window, position, now)
        else:
            self._end(SUCCESS, permit, start, now)
        return result

    def __call__(self, function: Callable[P, T]) -> Callable[P, T]:
        """Decorate ``function`` so every call goes through the breaker."""
        # The body repeats call() on purpose: going through call() costs ~10% more per call
        # (bench_breaker: 471 vs 527 ns OPEN), and the decorator is the form users put on
        # every call.
        clock, slow_ns, filling = self._clock, self._slow_ns, self._minimum - 1

        @functools.wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            permit: Permit | None  # a window is one (annotated apart: no cost per call)
            window = permit = self._fast_window
            start = clock()
            if window is None:
                if self._state is OPEN and start < self._open_until and not self._call_listeners:
                    next(self._window.refused)
                    raise CircuitOpenError(self.name, OPEN, self._open_until - start)
                permit = self._permit(start)
            try:
                result = function(*args, **kwargs)
            except BaseException as error:
                self._failed(self._verdict(error), permit, start)
                raise
            now = clock()
            if window is not None and now - start <= slow_ns:
                position = next(window.positions)
                if position == filling:
                    self._reach_minimum(window, position, now)
            else:
                self._end(SUCCESS, permit, start, now)
            return result

        return guarded
