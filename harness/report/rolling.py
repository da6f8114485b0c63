"""The original monitor's rolling statistics, honest: latency over answered requests only.

After every ``every``-th request (in the order requests completed), the last ``window``
requests give one row: ``success_rate`` over all of them (a shed request is a failure), and
P95, P50 and the average over those that got an answer (``samples`` of them; null when none
did: a shed request has no latency, never 0 ms). ``p95_lower_bound`` says the P95 fell among
timed-out (censored) requests, so it is only a lower bound. Rows are computed a few thousand at
a time, each window sorted with the unanswered requests placed after every answered one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from harness.verdicts.percentiles import PercentileMethod

__all__ = ["ROLLING_EVERY", "ROLLING_WINDOW", "rolling_latency"]

ROLLING_WINDOW = 100
"""The original monitor's P95 was over the last 100 samples..."""
ROLLING_EVERY = 10
"""...computed every 10 requests."""
_CHUNK_ROWS = 1 << 12  # rows per step: 4 096 windows of 100 floats
Bools = npt.NDArray[np.bool_]


def rolling_latency(
    latency_ns: npt.NDArray[np.int64],
    method: PercentileMethod = "nearest_rank",
    window: int = ROLLING_WINDOW,
    every: int = ROLLING_EVERY,
    answered: Bools | None = None,
    censored: Bools | None = None,
    success: Bools | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Return the rolling columns over requests in the order they completed: ``request`` (how
    many requests were in), ``samples`` (answered ones in the window), ``p95_ms``, ``p50_ms``,
    ``avg_ms`` (NaN where none was answered), ``p95_lower_bound`` and ``success_rate``.

    ``answered`` (default: all), ``censored`` (default: none) and ``success`` (default: all)
    flag each request. Until ``window`` requests are in, a row covers all requests so far.
    """
    n = latency_ns.size
    flags = [np.ones(n, bool) if answered is None else answered]
    flags.append(np.zeros(n, bool) if censored is None else censored)
    flags.append(np.ones(n, bool) if success is None else success)
    ends = np.arange(every, n + 1, every, dtype=np.int64)
    columns: dict[str, npt.NDArray[Any]] = {
        "request": ends,
        "samples": np.empty(ends.size, np.int64),
        "p95_ms": np.empty(ends.size),
        "p50_ms": np.empty(ends.size),
        "avg_ms": np.empty(ends.size),
        "p95_lower_bound": np.zeros(ends.size, bool),
        "success_rate": np.empty(ends.size),
    }
    for first in range(0, ends.size, _CHUNK_ROWS):
        rows = slice(first, first + _CHUNK_ROWS)
        _rows(latency_ns, flags, ends[rows], window, method, columns, rows)
    return columns


def _rows(
    latency_ns: npt.NDArray[np.int64],
    flags: list[Bools],
    ends: npt.NDArray[np.int64],
    window: int,
    method: PercentileMethod,
    columns: dict[str, npt.NDArray[Any]],
    rows: slice,
) -> None:
    """Fill ``columns[...][rows]`` for the windows ending at ``ends``."""
    answered, censored, success = flags
    low, high = max(0, int(ends[0]) - window), int(ends[-1])
    # Pad the front with absent requests so every window has ``window`` slots.
    pad = window - (int(ends[0]) - low)
    present = np.concatenate((np.zeros(pad, bool), np.ones(high - low, bool)))
    heard = np.concatenate((np.zeros(pad, bool), answered[low:high]))
    ms = np.concatenate((np.zeros(pad), latency_ns[low:high] / 1e6))
    starts = ends - window - low + pad
    count = _window_sums(heard, starts, window)
    columns["samples"][rows] = count
    won = np.concatenate((np.zeros(pad, bool), success[low:high]))
    wins = _window_sums(won, starts, window)
    columns["success_rate"][rows] = wins / _window_sums(present, starts, window)
    spent = np.where(heard, np.concatenate((np.zeros(pad, np.int64), latency_ns[low:high])), 0)
    # Exact integer sums, so the average is the same on every machine.
    cumulative = np.concatenate(([0], np.cumsum(spent, dtype=np.int64)))
    with np.errstate(invalid="ignore", divide="ignore"):
        columns["avg_ms"][rows] = (cumulative[starts + window] - cumulative[starts]) / count / 1e6
    picked = np.lib.stride_tricks.sliding_window_view(np.where(heard, ms, np.inf), window)[starts]
    ordered = np.sort(picked, axis=1)
    columns["p50_ms"][rows] = _select(ordered, count, 50, method)
    columns["p95_ms"][rows] = _select(ordered, count, 95, method)
    timed_out = np.concatenate((np.zeros(pad, bool), censored[low:high]))
    if timed_out.any():
        # The P95 is certain when it is also the P95 with every censored request at +inf.
        certain = np.where(heard & ~timed_out, ms, np.inf)
        only = np.sort(np.lib.stride_tricks.sliding_window_view(certain, window)[starts], axis=1)
        bound = _select(only, count, 95, method) != columns["p95_ms"][rows]
        columns["p95_lower_bound"][rows] = bound & (count > 0)


def _window_sums(flags: Bools, starts: npt.NDArray[np.int64], window: int) -> npt.NDArray[np.int64]:
    cumulative = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    return cumulative[starts + window] - cumulative[starts]


def _select(
    ordered: npt.NDArray[np.float64], count: npt.NDArray[np.int64], q: int, method: PercentileMethod
) -> npt.NDArray[np.float64]:
    """Return each row's ``q``-th percentile of its first ``count`` values (NaN where none)."""
    rows = np.arange(count.size)
    if method == "nearest_rank":
        # rank = ceil(q·m/100) for a whole q: exact in integers.
        rank = np.maximum((q * count + 99) // 100, 1)
        found = ordered[rows, np.minimum(rank, ordered.shape[1]) - 1]
    else:
        virtual = (count - 1) * np.true_divide(q, 100)
        below = np.floor(np.maximum(virtual, 0)).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(count - 1, 0))
        gamma = virtual - below
        low, high = ordered[rows, below], ordered[rows, above]
        with np.errstate(invalid="ignore"):
            diff = high - low
            found = np.where(gamma >= 0.5, high - diff * (1 - gamma), low + diff * gamma)
            found = np.where(gamma == 0, low, found)
    return np.where(count > 0, found, np.nan)
