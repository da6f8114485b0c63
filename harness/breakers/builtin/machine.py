"""The state machine both built-in breakers share: state, windows, waits, permits, decisions.

The methods under "decisions" assume their caller holds ``_lock``; the entry points above them
(``_succeeded``, ``_permit``, ``_failed``, ``_end``, ``_reach_minimum``) take it themselves,
and only where they need it. Transitions (and, when someone listens, call outcomes) are queued
while the lock is held and told to the listeners after it is released, in order, so a listener
may call back into the breaker.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from harness.breakers.builtin.outcomes import (
    CallListener,
    CallOutcome,
    CircuitOpenError,
    Permit,
    TransitionListener,
)
from harness.breakers.builtin.windows import CountWindow, TimeWindow, Window
from harness.events import BreakerState

__all__ = ["IGNORED", "NEVER", "SUCCESS", "Event"]

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
FORCED_OPEN, DISABLED = BreakerState.FORCED_OPEN, BreakerState.DISABLED
METRICS_ONLY = BreakerState.METRICS_ONLY
SUCCESS, ERROR, IGNORED = 0, 1, 4  # how a call counts; slowness adds 2 (see CallOutcome)
OUTCOMES = tuple(CallOutcome)
NEVER = 2**63  # a deadline that never comes
_TRANSITION, _CALL = 0, 1
_GIL = getattr(sys, "_is_gil_enabled", lambda: True)()
Event = tuple[int, int, int, int]
"""A queued notification: (_TRANSITION, at, source, target) or (_CALL, at, outcome, duration)."""


class _Machine:
    """State and decisions; :class:`~harness.breakers.builtin.core.BreakerCore` adds settings
    and API."""

    __slots__ = (
        "_attempts",
        "_automatic",
        "_call_listeners",
        "_clock",
        "_entered_at",
        "_failure_den",
        "_failure_num",
        "_fast_window",
        "_half_open_max_ns",
        "_half_open_until",
        "_ignore_predicate",
        "_ignore_types",
        "_interval",
        "_lock",
        "_max_wait_ns",
        "_minimum",
        "_multiplier",
        "_open_until",
        "_pending",
        "_permits",
        "_permitted",
        "_publish_lock",
        "_publishing",
        "_random",
        "_random_factor",
        "_record_predicate",
        "_record_types",
        "_records_all",
        "_slow_den",
        "_slow_ns",
        "_slow_num",
        "_state",
        "_transition_listeners",
        "_wait_ns",
        "_window",
        "_window_size",
        "_window_type",
        "name",
    )

    name: str
    _clock: Callable[[], int]
    _state: BreakerState
    _entered_at: int
    _window: Window
    _fast_window: CountWindow | None  # the CLOSED count window, while no call listener listens
    _attempts: int
    _open_until: int
    _half_open_until: int
    _permits: int
    _permitted: int
    _minimum: int
    _window_type: str
    _window_size: int
    _failure_num: int
    _failure_den: int
    _slow_num: int
    _slow_den: int
    _slow_ns: int
    _wait_ns: int
    _multiplier: float
    _random_factor: float
    _random: Callable[[], float]
    _interval: Callable[[int], int] | None
    _automatic: bool
    _max_wait_ns: int
    _half_open_max_ns: int
    _record_types: tuple[type[BaseException], ...]
    _ignore_types: tuple[type[BaseException], ...]
    _record_predicate: Callable[[BaseException], bool] | None
    _ignore_predicate: Callable[[BaseException], bool] | None
    _records_all: bool
    _transition_listeners: list[TransitionListener]
    _call_listeners: list[CallListener]
    _pending: list[Event]
    _lock: threading.Lock
    _publish_lock: threading.RLock
    _publishing: bool

    def _start_closed(self) -> None:
        self._lock = threading.Lock()
        self._publish_lock = threading.RLock()
        self._publishing = False
        self._pending = []
        self._transition_listeners = []
        self._call_listeners = []
        self._attempts = 0
        self._open_until = self._half_open_until = NEVER
        self._permits = 0
        self._state = CLOSED
        self._enter_closed(self._clock())
        self._prepare()

    def _prepare(self) -> None:
        """Set up what the front-end keeps per call (overridden by the sync and async ones)."""

    # -- the hot paths -----------------------------------------------------------------------

    def _succeeded(self, permit: Permit | None, start: int, now: int) -> None:
        """Record that the call admitted with ``permit``, started at ``start``, succeeded."""
        window = self._fast_window
        if (
            window is not None
            and (permit is window or permit is None)
            and now - start <= self._slow_ns
        ):
            # The common case, without the lock (see CountWindow): a fast success in a CLOSED
            # count window only takes a position. It can lower the rates but never raise them,
            # so it decides nothing, except on the call that brings the window to its minimum.
            position = next(window.positions)
            if position + 1 == self._minimum:
                self._reach_minimum(window, position, now)
            return
        self._end(SUCCESS, permit, start, now)

    def _permit(self, now: int) -> Permit:
        """Take permission, under the lock, for a call starting at ``now``; raise if rejected.

        The hot paths call it only without a fast window, having rejected the common OPEN case
        themselves.
        """
        with self._lock:
            permit = self._admit(now)
        if self._pending:
            self._publish()
        if permit is None:
            raise self._rejection(now)
        return permit

    def _failed(self, verdict: int, permit: Permit | None, start: int) -> None:
        """Record that the call admitted with ``permit`` ended counting as ``verdict``."""
        self._end(verdict, permit, start, self._clock())

    def _end(self, verdict: int, permit: Permit | None, start: int, now: int) -> None:
        with self._lock:
            self._record(self._outcome(verdict, now - start), permit, start, now)
        if self._pending:
            self._publish()

    def _reach_minimum(self, window: CountWindow, position: int, now: int) -> None:
        """Decide on the window as it stood at ``position``, the call that filled it to minimum."""
        with self._lock:
            if self._state is CLOSED and window is self._window:  # it has not moved on
                window.settle_before(position)
                if self._exceeded(window):
                    self._transition(OPEN, now)
        if self._pending:
            self._publish()

    # -- decisions (the caller holds the lock) -----------------------------------------------

    def _catch_up(self, now: int) -> None:
        """Make every move a timer would have made by ``now``, each stamped when it fell due.

        With automatic half-opening and a max wait in HALF_OPEN, several may be due at once.
        """
        while True:
            state = self._state
            if state is HALF_OPEN and now >= self._half_open_until:
                self._transition(OPEN, self._half_open_until)
            elif state is OPEN and self._automatic and now >= self._open_until:
                self._transition(HALF_OPEN, self._open_until)
            else:
                return

    def _admit(self, now: int) -> Permit | None:
        """Return a permit for a call starting at ``now``, or None if it is rejected.

        The permit is the window of the state spell that admitted the call: the call's result
        counts (or, for an ignored HALF_OPEN trial, gives its permit back) only while that
        window is still the current one, whatever the clock said.
        """
        self._catch_up(now)
        state = self._state
        if state is CLOSED or state is DISABLED or state is METRICS_ONLY:
            return self._window
        if state is OPEN and now >= self._open_until:
            self._transition(HALF_OPEN, now)
            state = HALF_OPEN
        if state is HALF_OPEN and self._permits > 0:
            self._permits -= 1
            return self._window
        next(self._window.refused)
        return None

    def _record(self, code: int, permit: Permit | None, start: int, now: int) -> None:
        """Count a call admitted with ``permit`` (None: unknown) that ended with ``code``."""
        self._catch_up(now)
        if self._call_listeners:
            self._pending.append((_CALL, now, code, now - start))
        window = self._window
        if permit is not None and permit is not window:
            return  # admitted in an earlier spell: it says nothing about this one
        state = self._state
        if code == IGNORED:
            # As resilience4j: an ignored trial gives its permit back. Without a permit to
            # say whose call this was, give one back only while a trial is still unanswered.
            if state is HALF_OPEN and self._permitted - self._permits > window.calls:
                self._permits += 1
        elif state is CLOSED or state is HALF_OPEN or state is METRICS_ONLY:
            self._count(code, now)

    def _count(self, code: int, now: int) -> None:
        window = self._window
        window.add(code, now)
        state = self._state
        if state is CLOSED:
            if window.calls >= self._minimum and self._exceeded(window):
                self._transition(OPEN, now)
        elif state is HALF_OPEN and window.calls >= self._permitted:
            self._transition(OPEN if self._exceeded(window) else CLOSED, now)

    def _exceeded(self, window: Window) -> bool:
        """Return whether the failure rate or the slow-call rate is at or above its threshold."""
        calls = window.calls
        return (
            window.failures * self._failure_den >= self._failure_num * calls
            or window.slow * self._slow_den >= self._slow_num * calls
        )

    def _transition(self, target: BreakerState, at: int, open_for: int | None = None) -> None:
        """Enter ``target`` at ``at`` (re-enter it, if current: fresh window, permits or wait).

        ``open_for`` replaces the OPEN wait the interval function would give.
        """
        # Threads read the clock before taking the lock, so one may decide later with an
        # earlier reading; stamping no earlier than the last move keeps the stamps in order.
        at = max(at, self._entered_at)
        source = self._state
        self._fast_window = None
        if target is OPEN:
            self._attempts += 1
            wait = self._open_wait(self._attempts) if open_for is None else open_for
            self._open_until = at + wait
        elif target is HALF_OPEN:
            self._permits = self._permitted
            self._window = CountWindow(self._permitted, at)
            wait = self._half_open_max_ns
            self._half_open_until = at + wait if wait else NEVER
        elif target is CLOSED:
            self._attempts = 0
            self._enter_closed(at)
        else:  # DISABLED, FORCED_OPEN, METRICS_ONLY: fresh metrics, as in resilience4j
            self._window = self._new_window(at)
        self._entered_at = at
        self._state = target  # last: the sync breaker's lock-free readers see a whole state
        if source is not target:  # as resilience4j since #891: re-entering is not a move
            self._pending.append((_TRANSITION, at, source, target))

    def _enter_closed(self, at: int) -> None:
        self._entered_at = at
        self._fast_window = None
        window = self._window = self._new_window(at)
        # Call listeners need every outcome queued in order, which takes the lock; so does a
        # Python without the GIL, where next() on a shared counter is not atomic.
        if isinstance(window, CountWindow) and _GIL and not self._call_listeners:
            self._fast_window = window

    def _new_window(self, at: int) -> Window:
        if self._window_type == "time":
            return TimeWindow(self._window_size, at)
        return CountWindow(self._window_size, at)

    def _open_wait(self, attempts: int) -> int:
        """Return the wait of the ``attempts``-th consecutive OPEN (resilience4j's interval)."""
        if self._interval is not None:
            return self._interval(attempts)
        wait = self._wait_ns
        if self._multiplier != 1.0:
            try:
                grown = self._wait_ns * self._multiplier ** (attempts - 1)
            except OverflowError:
                grown = self._max_wait_ns
            wait = self._max_wait_ns if grown >= self._max_wait_ns else round(grown)
        if self._random_factor:
            # resilience4j's IntervalFunction.ofRandomized: uniform in wait × (1 ± factor).
            spread = 2 * self._random() - 1
            wait = max(1, round(wait * (1 + self._random_factor * spread)))
        return wait

    def _outcome(self, verdict: int, duration: int) -> int:
        """Return the outcome code of a call counted as ``verdict`` that took ``duration``."""
        if verdict != IGNORED and duration > self._slow_ns:
            return verdict | 2
        return verdict

    def _verdict(self, error: BaseException) -> int:
        """Return how a call that raised ``error`` counts: ERROR, IGNORED or SUCCESS."""
        if not isinstance(error, Exception):
            return IGNORED  # cancellation or exit: it says nothing about the callee's health
        ignore = self._ignore_predicate
        if isinstance(error, self._ignore_types) or (ignore is not None and ignore(error)):
            return IGNORED
        if self._records_all or isinstance(error, self._record_types):
            return ERROR
        record = self._record_predicate
        return ERROR if record is not None and record(error) else SUCCESS

    def _rejection(self, now: int) -> CircuitOpenError:
        """Tell the call listeners of a rejected call; return the error to raise."""
        for listener in self._call_listeners:
            listener(now, CallOutcome.NOT_PERMITTED, 0)
        state = self._state
        retry_after = max(0, self._open_until - now) if state is OPEN else None
        return CircuitOpenError(self.name, state, retry_after)

    # -- telling the listeners (never while the lock is held) ---------------------------------

    def _publish(self) -> None:
        """Tell the listeners everything queued so far, in order."""
        with self._publish_lock:
            if self._publishing:
                return  # a listener called back into the breaker: the loop below sends it
            self._publishing = True
            try:
                while events := self._take_pending():
                    self._send(events)
            finally:
                self._publishing = False

    def _take_pending(self) -> list[Event]:
        with self._lock:
            events, self._pending = self._pending, []
        return events

    def _send(self, events: list[Event]) -> None:
        for kind, at, first, second in events:
            if kind == _TRANSITION:
                source, target = BreakerState(first), BreakerState(second)
                for listener in self._transition_listeners:
                    listener(at, source, target)
            else:
                for call_listener in self._call_listeners:
                    call_listener(at, OUTCOMES[first], second)
