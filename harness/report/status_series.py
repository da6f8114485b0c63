"""``status-series.jsonl``: ``status.json`` as it would have read every 5 s of virtual time.

One JSON object a line, in time order: ``{scenario, seed, at_ms, circuit_breakers: {<upstream>:
{state, success_rate, total_requests, successful_requests, failed_requests, opens,
window_p95_ms, window_avg_ms}}}`` at ``at_ms`` = 5 000, 10 000… up to the run's end (the last
one at the end itself). Counts are running totals of the requests *started* before ``at_ms``
(client view), so the last line's counts are ``status.json``'s; ``state`` and ``opens`` are the
breaker's at ``at_ms``. Latency is over the answered requests of the last 5 s window only
(``null`` when none was answered: a shed window has no latency, never 0 ms), named so, since
``status.json``'s latency is over the whole run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["STATUS_SERIES_FILE", "status_series"]

STATUS_SERIES_FILE = "status-series.jsonl"


def status_series(entry: Mapping[str, Any]) -> Iterator[str]:
    """Yield the lines of ``status-series.jsonl`` (each ending in a newline) for one result."""
    end_ms = float(entry["end_ms"])
    upstreams = entry["upstreams"]
    totals = {name: [0, 0] for name in upstreams}
    buckets = max((len(u["timeseries"]["t_ms"]) for u in upstreams.values()), default=0)
    for index in range(buckets):
        start = min(float(u["timeseries"]["t_ms"][index]) for u in _having(upstreams, index))
        if start >= end_ms:  # a window of stragglers only: no request started there
            break
        at_ms = min(start + _bucket_ms(upstreams), end_ms)
        breakers = {
            name: _snapshot(upstream, index, at_ms, totals[name])
            for name, upstream in upstreams.items()
            if index < len(upstream["timeseries"]["t_ms"])
        }
        document = {
            "scenario": entry["scenario"]["name"],
            "seed": entry["seed"],
            "at_ms": at_ms,
            "circuit_breakers": breakers,
        }
        yield json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"


def _having(upstreams: Mapping[str, Any], index: int) -> list[Mapping[str, Any]]:
    return [u for u in upstreams.values() if index < len(u["timeseries"]["t_ms"])]


def _bucket_ms(upstreams: Mapping[str, Any]) -> float:
    series = next(iter(upstreams.values()))["timeseries"]
    times = series["t_ms"]
    return float(series.get("bucket_ms") or (times[1] - times[0] if len(times) > 1 else 5000))


def _snapshot(
    upstream: Mapping[str, Any], index: int, at_ms: float, totals: list[int]
) -> dict[str, Any]:
    """Return one upstream's status at ``at_ms``, adding its window to ``totals`` (in place)."""
    series = upstream["timeseries"]
    totals[0] += series["requests"][index]
    totals[1] += series["successes"][index]
    breaker = upstream["breaker"]
    state, opens = _breaker_at(breaker, at_ms)
    return {
        "state": state,
        "success_rate": totals[1] / totals[0] if totals[0] else None,
        "total_requests": totals[0],
        "successful_requests": totals[1],
        "failed_requests": totals[0] - totals[1],
        "opens": opens,
        "window_p95_ms": series["p95_ms"][index],
        "window_avg_ms": series["avg_ms"][index],
    }


def _breaker_at(breaker: Mapping[str, Any] | None, at_ms: float) -> tuple[str | None, int | None]:
    """Return the breaker's state and how many times it had opened, at ``at_ms``."""
    if breaker is None:
        return None, None
    moves: Sequence[Mapping[str, Any]] = breaker["transitions"] or ()
    state = moves[0]["from"] if moves else breaker["final_state"]
    opens = 0
    for move in moves:
        if float(move["at_ms"]) > at_ms:
            break
        state = move["to"]
        opens += move["to"] == "OPEN"
    return state, opens
