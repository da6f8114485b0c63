"""Sliding windows over call outcomes.

Each call is stored as its :class:`~harness.breakers.builtin.outcomes.CallOutcome` code: bit 0
set for a failure, bit 1 for a slow call. After every ``add`` (made under the breaker's lock), a
window's ``calls``, ``failures``, ``slow`` and ``slow_failures`` describe it as of that call,
so a threshold check never scans it. ``refused`` counts the calls not permitted while the window
is the breaker's (an :func:`itertools.count`, so the lock-free rejections can take it too).
"""

from __future__ import annotations

import itertools
from collections import deque

from harness.format.units import NS_PER_S

__all__ = ["CountWindow", "TimeWindow", "Window", "read_count"]


def read_count(counter: itertools.count[int]) -> int:
    """Return how many numbers ``counter`` has given, without taking one."""
    # itertools.count offers no way to read it without advancing it but its repr, "count(N)";
    # this runs only when metrics are read.
    return int(repr(counter)[6:-1])


class CountWindow:
    """The outcomes of the last ``size`` calls (resilience4j's COUNT_BASED window).

    Every call takes the next position from an :func:`itertools.count`; the window is the
    ``size`` positions up to the latest. Only failures and slow calls are stored (by position),
    so recording a fast success is one ``next()`` — atomic under the GIL — which lets the sync
    breaker record it without its lock (see ``_Machine._succeeded``). Failures and slow calls
    take their position under the lock, so the stored positions are in ascending order and, to
    whoever holds the lock, complete up to the latest position taken.
    """

    __slots__ = (
        "_failed",
        "_slow",
        "_slow_failed",
        "calls",
        "failures",
        "positions",
        "refused",
        "since",
        "size",
        "slow",
        "slow_failures",
    )

    def __init__(self, size: int, since: int = 0) -> None:
        self.size = size
        self.since = since  # when the state this window belongs to began
        self.positions = itertools.count()
        self._failed: deque[int] = deque()
        self._slow: deque[int] = deque()
        self._slow_failed: deque[int] = deque()
        self.refused = itertools.count()
        self.calls = 0
        self.failures = 0
        self.slow = 0
        self.slow_failures = 0

    def add(self, code: int, now_ns: int) -> None:
        """Add one call's outcome code."""
        position = next(self.positions)
        if code & 1:
            self._failed.append(position)
        if code & 2:
            self._slow.append(position)
            if code & 1:
                self._slow_failed.append(position)
        self.settle(position)

    def taken(self) -> int:
        """Return how many positions have been taken (calls recorded, lock-free ones too)."""
        return read_count(self.positions)

    def settle(self, position: int) -> None:
        """Bring the totals to the window that ends at ``position``, the latest so far."""
        oldest = position - self.size
        for stored in (self._failed, self._slow, self._slow_failed):
            while stored and stored[0] <= oldest:
                stored.popleft()
        self.calls = min(position + 1, self.size)
        self.failures = len(self._failed)
        self.slow = len(self._slow)
        self.slow_failures = len(self._slow_failed)

    def settle_before(self, position: int) -> None:
        """Bring the totals to the window that ends at ``position``, when later ones exist."""
        self.calls = min(position + 1, self.size)
        oldest = position - self.size

        def held(stored: deque[int]) -> int:
            return sum(1 for at in stored if oldest < at <= position)

        self.failures = held(self._failed)
        self.slow = held(self._slow)
        self.slow_failures = held(self._slow_failed)

    def move_to(self, now_ns: int) -> None:
        """Do nothing: a count window does not move with time."""


class TimeWindow:
    """The outcomes of the calls in the last ``size`` seconds (resilience4j's TIME_BASED window).

    As in resilience4j, calls are aggregated per whole second of the clock: the window holds
    the current second and the ``size - 1`` before it. It moves when a call is added, and when
    it is read (:meth:`move_to`, as resilience4j's ``getSnapshot``).
    """

    __slots__ = (
        "_bucket_calls",
        "_bucket_failures",
        "_bucket_slow",
        "_bucket_slow_failures",
        "_second",
        "calls",
        "failures",
        "refused",
        "size",
        "slow",
        "slow_failures",
    )

    def __init__(self, size: int, now_ns: int) -> None:
        self.size = size
        self._bucket_calls = [0] * size
        self._bucket_failures = [0] * size
        self._bucket_slow = [0] * size
        self._bucket_slow_failures = [0] * size
        self._second = now_ns // NS_PER_S
        self.refused = itertools.count()
        self.calls = 0
        self.failures = 0
        self.slow = 0
        self.slow_failures = 0

    def add(self, code: int, now_ns: int) -> None:
        """Add one call's outcome code in the second of ``now_ns``."""
        second = now_ns // NS_PER_S
        if second > self._second:
            self._advance(second)
        index = self._second % self.size
        self._bucket_calls[index] += 1
        self._bucket_failures[index] += code & 1
        self._bucket_slow[index] += code >> 1
        self._bucket_slow_failures[index] += code == 3
        self.calls += 1
        self.failures += code & 1
        self.slow += code >> 1
        self.slow_failures += code == 3

    def move_to(self, now_ns: int) -> None:
        """Drop the seconds that slid out of the window by ``now_ns``."""
        second = now_ns // NS_PER_S
        if second > self._second:
            self._advance(second)

    def _advance(self, second: int) -> None:
        """Drop the buckets of the seconds that slid out of the window on reaching ``second``."""
        first = max(self._second + 1, second - self.size + 1)
        for expired in range(first, second + 1):
            index = expired % self.size
            self.calls -= self._bucket_calls[index]
            self.failures -= self._bucket_failures[index]
            self.slow -= self._bucket_slow[index]
            self.slow_failures -= self._bucket_slow_failures[index]
            self._bucket_calls[index] = self._bucket_failures[index] = 0
            self._bucket_slow[index] = self._bucket_slow_failures[index] = 0
        self._second = second


Window = CountWindow | TimeWindow
