"""The breaker for asyncio code: ``async with``, decorator, or ``await call``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import TracebackType
from typing import ParamSpec, TypeVar

from harness.breakers.builtin.core import BreakerCore
from harness.breakers.builtin.machine import OPEN, SUCCESS
from harness.breakers.builtin.outcomes import CircuitOpenError, Permit

__all__ = ["AsyncCircuitBreaker"]

P = ParamSpec("P")
T = TypeVar("T")
Started = tuple[int, Permit, "Started | None"]
"""The start and permit of the innermost ``async with`` block in a task, and the enclosing
block's."""


class AsyncCircuitBreaker(BreakerCore):
    """A circuit breaker for asyncio code; correct for any number of concurrent coroutines.

    ``async with breaker: ...``, ``@breaker`` on a coroutine function, or
    ``await breaker.call(function, *args)``; a rejected call raises
    :class:`~harness.breakers.builtin.CircuitOpenError` without running.
    """

    __slots__ = ("_started",)

    # Permission is decided synchronously, before the first await, and every decision runs
    # between two awaits on the event loop's one thread: concurrent coroutines cannot
    # interleave inside a decision, so HALF_OPEN never grants more trial calls than permitted.
    # The lock the shared code takes is therefore never contended here.
    #
    # The hot paths are written out in each form, as in the sync breaker (see there for why).

    def _prepare(self) -> None:
        # Tasks interleave on one thread, but each runs in its own copy of the context.
        self._started: ContextVar[Started | None] = ContextVar(f"{self.name}: block started")

    async def __aenter__(self) -> AsyncCircuitBreaker:
        permit: Permit | None = self._fast_window
        start = self._clock()
        if permit is None:
            if self._state is OPEN and start < self._open_until and not self._call_listeners:
                next(self._window.refused)
                raise CircuitOpenError(self.name, OPEN, self._open_until - start)
            permit = self._permit(start)
        self._started.set((start, permit, self._started.get(None)))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        started = self._started.get(None)
        if started is None:
            raise RuntimeError("leaving a breaker's block that was never entered")
        start, permit, outer = started
        self._started.set(outer)
        if exc is None:
            self._succeeded(permit, start, self._clock())
        else:
            self._failed(self._verdict(exc), permit, start)

    async def call(
        self, function: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``function(*args, **kwargs)`` through the breaker."""
        permit: Permit | None  # a window is one (annotated apart: no cost per call)
        window = permit = self._fast_window
        start = self._clock()
        if window is None:
            if self._state is OPEN and start < self._open_until and not self._call_listeners:
                next(self._window.refused)
                raise CircuitOpenError(self.name, OPEN, self._open_until - start)
            permit = self._permit(start)
        try:
            result = await function(*args, **kwargs)
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

    def __call__(self, function: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        """Decorate a coroutine function so every call goes through the breaker."""
        # The body repeats call() on purpose: going through call() costs ~10% more per call
        # (bench_breaker: 433 vs 476 ns CLOSED), and the decorator is the form users put on
        # every call.
        clock, slow_ns, filling = self._clock, self._slow_ns, self._minimum - 1

        @functools.wraps(function)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            permit: Permit | None  # a window is one (annotated apart: no cost per call)
            window = permit = self._fast_window
            start = clock()
            if window is None:
                if self._state is OPEN and start < self._open_until and not self._call_listeners:
                    next(self._window.refused)
                    raise CircuitOpenError(self.name, OPEN, self._open_until - start)
                permit = self._permit(start)
            try:
                result = await function(*args, **kwargs)
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
