"""Sliding windows over call outcomes.

Each call is stored as its :class:`~harness.breakers.builtin.outcomes.CallOutcome` code: bit 0
set for a failure, bit 1 for a slow call. After every ``add`` (made under the breaker's lock), a
window's ``calls``, ``failures`` and ``slow`` describe it as of that call, so a threshold check
never scans it.
"""

from __future__ import annotations

import itertools
from collections import deque

from harness.format.units import NS_PER_S

__all__ = ["CountWindow", "TimeWindow", "Window"]


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
        "calls",
        "failures",
        "positions",
        "since",
        "size",
        "slow",
    )

    def __init__(self, size: int, since: int = 0) -> None:
        self.size = size
        self.since = since  # when the state this window belongs to began
        self.positions = itertools.count()
        self._failed: deque[int] = deque()
        self._slow: deque[int] = deque()
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def add(self, code: int, now_ns: int) -> None:
        """Add one call's outcome code."""
        position = next(self.positions)
        if code & 1:
            self._failed.append(position)
        if code & 2:
            self._slow.append(position)
        self.settle(position)

    def taken(self) -> int:
        """Return how many positions have been taken (calls recorded, lock-free ones too)."""
        # itertools.count offers no way to read it without advancing it but its repr,
        # "count(N)"; this runs only for metrics().
        return int(repr(self.positions)[6:-1])

    def settle(self, position: int) -> None:
        """Bring the totals to the window that ends at ``position``, the latest so far."""
        oldest = position - self.size
        for stored in (self._failed, self._slow):
            while stored and stored[0] <= oldest:
                stored.popleft()
        self.calls = min(position + 1, self.size)
        self.failures = len(self._failed)
        self.slow = len(self._slow)

    def settle_before(self, position: int) -> None:
        """Bring the totals to the window that ends at ``position``, when later ones exist."""
        self.calls = min(position + 1, self.size)
        oldest = position - self.size
        self.failures = sum(1 for stored in self._failed if oldest < stored <= position)
        self.slow = sum(1 for stored in self._slow if oldest < stored <= position)


class TimeWindow:
    """The outcomes of the calls in the last ``size`` seconds (resilience4j's TIME_BASED window).

    As in resilience4j, calls are aggregated per whole second of the clock, and the window
    moves only when a call is added: it holds the current second and the ``size - 1`` before it.
    """

    __slots__ = (
        "_bucket_calls",
        "_bucket_failures",
        "_bucket_slow",
        "_second",
        "calls",
        "failures",
        "size",
        "slow",
    )

    def __init__(self, size: int, now_ns: int) -> None:
        self.size = size
        self._bucket_calls = [0] * size
        self._bucket_failures = [0] * size
        self._bucket_slow = [0] * size
        self._second = now_ns // NS_PER_S
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def add(self, code: int, now_ns: int) -> None:
        """Add one call's outcome code in the second of ``now_ns``."""
        second = now_ns // NS_PER_S
        if second > self._second:
            self._advance(second)
        index = self._second % self.size
        self._bucket_calls[index] += 1
        self._bucket_failures[index] += code & 1
        self._bucket_slow[index] += code >> 1
        self.calls += 1
        self.failures += code & 1
        self.slow += code >> 1

    def _advance(self, second: int) -> None:
        """Drop the buckets of the seconds that slid out of the window on reaching ``second``."""
        first = max(self._second + 1, second - self.size + 1)
        for expired in range(first, second + 1):
            index = expired % self.size
            self.calls -= self._bucket_calls[index]
            self.failures -= self._bucket_failures[index]
            self.slow -= self._bucket_slow[index]
            self._bucket_calls[index] = self._bucket_failures[index] = self._bucket_slow[index] = 0
        self._second = second


Window = CountWindow | TimeWindow
