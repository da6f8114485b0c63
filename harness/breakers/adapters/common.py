"""What the third-party guards share: the tracked attempt, state names, transition reporting.

A library breaker is driven only through its own public way of wrapping a call. Whether it
rejected a call is read from one fact, not from its exception types alone: the attempt never
ran. When it did run, the caller sees the upstream's own error even if the library replaced it
with its own (pybreaker and aiobreaker raise "circuit opened" on the call that trips them), so
the request is recorded with what the upstream really answered.

Transitions are reported with the virtual time at which the guard sees them: at once where the
library has a listener (pybreaker, aiobreaker), otherwise by reading the library's state at
every admission, completion and state read (:class:`PolledGuard`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from harness.breakers.adapters.base import TransitionListener
from harness.breakers.builtin import CircuitOpenError
from harness.clock import VirtualClock
from harness.errors import HarnessError
from harness.events import BreakerState

__all__ = ["Attempt", "LibraryGuard", "PolledGuard", "state_named"]

T = TypeVar("T")
CLOSED, OPEN = BreakerState.CLOSED, BreakerState.OPEN

_STATE_NAMES = {
    "closed": CLOSED,
    "open": OPEN,
    "opened": OPEN,
    "half_open": BreakerState.HALF_OPEN,
    "half_opened": BreakerState.HALF_OPEN,
    "halfopen": BreakerState.HALF_OPEN,
    "forced_open": BreakerState.FORCED_OPEN,
    "disabled": BreakerState.DISABLED,
}


def state_named(state: object) -> BreakerState:
    """Return the state a library calls ``state`` ("half-open", "opened", an enum member…)."""
    if isinstance(state, BreakerState):
        return state
    name = getattr(state, "name", state)
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in _STATE_NAMES:
        raise HarnessError(f"unknown breaker state {state!r}; expected closed, open or half-open")
    return _STATE_NAMES[key]


class Attempt(Generic[T]):
    """The harness's attempt, remembering whether the breaker ran it and how it failed."""

    __slots__ = ("_attempt", "error", "ran")

    def __init__(self, attempt: Callable[[], Awaitable[T]]) -> None:
        self._attempt = attempt
        self.ran = False
        self.error: BaseException | None = None

    async def __call__(self) -> T:
        self.ran = True
        try:
            return await self._attempt()
        except BaseException as error:
            self.error = error
            raise


class LibraryGuard(ABC):
    """A third-party breaker driven through ``call``; its rejections become CircuitOpenError."""

    initial_state = CLOSED
    rejections: ClassVar[tuple[type[BaseException], ...]] = ()
    """The library's "call not permitted" exceptions."""
    faults: ClassVar[tuple[type[BaseException], ...]] = ()
    """Exceptions that are never a rejection, even where ``rejections`` would take them."""

    def __init__(
        self, impl: str, name: str, clock: VirtualClock, listener: TransitionListener
    ) -> None:
        self.impl: str | None = impl
        self.name = name
        self.clock = clock
        self.listener = listener

    @abstractmethod
    def state(self) -> BreakerState:
        """Return the breaker's current state."""

    @abstractmethod
    async def run(self, attempt: Attempt[T]) -> T:
        """Await ``attempt`` the way the library wraps a call."""

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt`` through the breaker; raise CircuitOpenError if it is rejected."""
        tracked = Attempt(attempt)
        try:
            return await self.run(tracked)
        except BaseException as error:
            outcome = self._outcome(error, tracked)
            if outcome is error:
                raise
            raise outcome from None

    def _outcome(self, error: BaseException, tracked: Attempt[Any]) -> BaseException:
        if tracked.ran:
            return tracked.error if tracked.error is not None else error
        if not isinstance(error, self.rejections) or isinstance(error, self.faults):
            return error  # not a rejection: a fault in the library or its settings
        # purgatory raises one exception object on every rejection, and each raise appends to
        # its traceback (~6 frames a call): drop it, or a long OPEN spell grows without bound.
        error.__traceback__ = None
        return CircuitOpenError(self.name, self.state(), None)

    def report(self, source: object, target: object) -> None:
        """Tell the listener the library moved from ``source`` to ``target`` just now.

        A move to the same state is kept only for OPEN (a restart of the wait): pybreaker and
        aiobreaker also announce CLOSED → CLOSED for every trial success after the first.
        """
        before, after = state_named(source), state_named(target)
        if before is not after or after is OPEN:
            self.listener(self.clock.now_ns, before, after)


class PolledGuard(LibraryGuard):
    """A library without a transition listener: its state is read at every admission, every
    completion and every state read, and each change reported at the virtual time it is seen.

    A restart of the OPEN wait is reported as OPEN → OPEN when the library's "opened at" mark
    moves while it stays OPEN.
    """

    def __init__(
        self, impl: str, name: str, clock: VirtualClock, listener: TransitionListener
    ) -> None:
        super().__init__(impl, name, clock, listener)
        self._seen: tuple[BreakerState, object] = (CLOSED, None)

    @abstractmethod
    def snapshot(self) -> tuple[BreakerState, object]:
        """Return the library's state now and its "opened at" mark."""

    def state(self) -> BreakerState:
        """Return the breaker's current state, reporting any change since it was last read."""
        state, mark = now = self.snapshot()
        seen_state, seen_mark = self._seen
        if now != self._seen:
            self._seen = now
            if state is not seen_state or (state is OPEN and mark != seen_mark):
                self.listener(self.clock.now_ns, seen_state, state)
        return state

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt`` through the breaker, reading its state before and after."""
        self.state()
        try:
            return await super().call(attempt)
        finally:
            self.state()
