"""What reports need beyond a result's JSON form, computed where the samples are.

``Result.to_dict()`` carries statistics, not samples; a histogram, the original monitor's
rolling P95, the timeline at display resolution and the scenario's fault phases need the
samples or the scenario. :func:`digest` computes them in the process that ran the scenario,
so every report is built from a result's JSON form and its digest, and local and distributed
runs give the same files.

A digest is JSON data except the rolling P95's columns, which are numpy arrays (one row every
10 requests: 360 000 rows for an hour at 1 000/s, 17 MB as arrays, ~70 MB as Python lists).
:func:`digest_to_json` and :func:`digest_from_json` convert them for a pytest-xdist worker's
report and back. Every step works in bounded chunks, so memory stays flat however long the run.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.events import BreakerState, Outcome
from harness.format.scenario import Phase
from harness.report.display_lines import objective_percentiles, widened_p95
from harness.report.rolling import ROLLING_EVERY, ROLLING_WINDOW, rolling_latency
from harness.verdicts.budget import bad_events
from harness.verdicts.metrics import Samples, View, answered
from harness.verdicts.result import Result, UpstreamResult
from harness.verdicts.timeseries import BUCKET_NS, timeseries

__all__ = [
    "DISPLAY_POINTS",
    "ROLLING_EVERY",
    "ROLLING_WINDOW",
    "digest",
    "digest_from_json",
    "digest_to_json",
    "histogram",
    "rolling_latency",
]

DISPLAY_POINTS = 360
"""At most this many points per timeline chart: 5 s buckets up to 30 minutes, wider beyond."""
HISTOGRAM_BINS = 48
GROUPS = ("success", "error", "rejected")
_FLOOR_NS = 10_000  # below 0.01 ms (short-circuited, refused at once) a latency counts as ≈0
_CHUNK = 1 << 20  # samples per step where a step makes temporaries
_INT_COLUMNS = ("request", "samples", "state")
_BOOL_COLUMNS = ("p95_lower_bound", "consensus")


def digest(result: Result) -> dict[str, Any]:
    """Return the data reports need besides ``result.to_dict()``, per upstream."""
    return {
        "upstreams": {
            name: _upstream_digest(result, name, upstream)
            for name, upstream in result.upstreams.items()
        }
    }


def _upstream_digest(result: Result, name: str, upstream: UpstreamResult) -> dict[str, Any]:
    samples = upstream.samples
    return {
        "phases": [
            _phase(phase, window)
            for phase in result.scenario.upstreams[name].timeline
            for window in phase.windows  # each occurrence of a repeating phase
        ],
        "histogram": histogram(samples.latency_ns, _groups(samples)),
        "rolling": _rolling(result, upstream),
        "display": _display(result, upstream),
    }


def _phase(phase: Phase, window: tuple[int, int]) -> dict[str, Any]:
    overrides = phase.model_dump(
        mode="json",
        by_alias=True,
        exclude={"name", "start", "end", "length", "every", "times"},
        exclude_none=True,
    )
    return {
        "label": phase.label,
        "from_ms": window[0] / 1e6,
        "to_ms": window[1] / 1e6,
        "overrides": overrides,
    }


def _groups(samples: Samples) -> npt.NDArray[np.int8]:
    """Return each sample's index in GROUPS: success, error (reached), rejected (not sent)."""
    groups = np.ones(len(samples), dtype=np.int8)
    groups[samples.outcome == Outcome.SUCCESS] = 0
    groups[~samples.mask(View.UPSTREAM)] = 2
    return groups


def histogram(latency_ns: npt.NDArray[np.int64], groups: npt.NDArray[np.int8]) -> dict[str, Any]:
    """Return log-spaced latency bins (ms) and a count per bin for each group (see GROUPS).

    Near-zero latencies (below 0.01 ms: short-circuited or refused at once) are counted apart,
    under ``zero``, as a log scale has no place for them.
    """
    positive = latency_ns >= _FLOOR_NS
    if positive.any():
        low = float(np.min(latency_ns, where=positive, initial=np.iinfo(np.int64).max)) / 1e6
        high = float(np.max(latency_ns, where=positive, initial=0)) / 1e6
    else:
        low = high = 1.0
    if high / low < 1.5:  # a fixed latency: widen so the bar has room
        low, high = low / 1.5, high * 1.5
    edges = np.geomspace(low, high, HISTOGRAM_BINS + 1)
    counts = {group: np.zeros(HISTOGRAM_BINS, dtype=np.int64) for group in GROUPS}
    zero = dict.fromkeys(GROUPS, 0)
    for first in range(0, latency_ns.size, _CHUNK):
        part_ns = latency_ns[first : first + _CHUNK]
        part_groups = groups[first : first + _CHUNK]
        for code, group in enumerate(GROUPS):
            values = part_ns[part_groups == code]
            seen = values >= _FLOOR_NS
            counts[group] += np.histogram(values[seen] / 1e6, bins=edges)[0]
            zero[group] += int(values.size - np.count_nonzero(seen))
    return {
        "edges_ms": edges.tolist(),
        "counts": {group: values.tolist() for group, values in counts.items()},
        "zero": zero,
    }


def _rolling(result: Result, upstream: UpstreamResult) -> dict[str, Any]:
    """Return the rolling statistics, the seed's "SLO consensus" and the upstream's first P95
    objective (its view and bound)."""
    objective = next((v.objective for v in upstream.verdicts if v.objective.metric == "p95"), None)
    view = View.CLIENT if objective is None else objective.view
    samples = upstream.samples
    start, latency, outcome = samples.start_ns, samples.latency_ns, samples.outcome
    if view is View.UPSTREAM:
        mask = samples.mask(view)
        start, latency, outcome = start[mask], latency[mask], outcome[mask]
    # The original monitor saw a response when it completed: order by completion time. The
    # samples are in start order, so a stable sort keeps responses ending together in it.
    end = start + latency
    order = np.argsort(end, kind="stable")
    request = np.arange(ROLLING_EVERY, order.size + 1, ROLLING_EVERY, dtype=np.int64)
    at_ns = end[order[request - 1]]
    del end  # each of these is 8 bytes a request: hold no more of them at once than needed
    seen = outcome[order]
    columns = rolling_latency(
        latency[order],
        result.scenario.percentile_method,
        answered=np.ones(seen.size, bool) if view is View.ISSUED else answered(seen),
        censored=seen == Outcome.TIMEOUT,
        success=seen == Outcome.SUCCESS,
    )
    columns["at_ms"] = at_ns / 1e6
    columns["state"] = _states(upstream, at_ns)
    columns["consensus"] = _consensus(columns)
    threshold = None if objective is None else objective.threshold
    return {
        "view": view.value,
        "objective": None if objective is None else objective.text,
        "op": None if objective is None else objective.op,
        "threshold_ms": threshold,
        "window": ROLLING_WINDOW,
        "every": ROLLING_EVERY,
        "percentile_method": result.scenario.percentile_method,
        "columns": columns,
    }


CONSENSUS_SUCCESS_RATE = 0.9
CONSENSUS_P95_MS = 500.0
"""The seed's "SLO consensus": success rate > 90%, P95 < 500 ms and the breaker CLOSED."""


def _states(upstream: UpstreamResult, at_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the breaker's state (a BreakerState value) at each instant; NONE without one."""
    breaker = upstream.breaker
    if breaker is None:
        return np.full(at_ns.size, BreakerState.NONE, np.int64)
    moves = breaker.transitions
    first = moves[0].source if moves else breaker.final_state
    states = np.array([first, *(move.target for move in moves)], np.int64)
    # A transition at the instant of a response has happened by then.
    index = np.searchsorted(np.array([m.at_ns for m in moves], np.int64), at_ns, side="right")
    return states[index]


def _consensus(columns: Mapping[str, npt.NDArray[Any]]) -> npt.NDArray[np.bool_]:
    """Return the seed's consensus per row, on the honest numbers: a P95 that is missing (all
    shed) or only a lower bound (censored) cannot show that it is under 500 ms. An upstream
    without a breaker has nothing open, so it counts as CLOSED."""
    state = columns["state"]
    closed = (state == BreakerState.CLOSED) | (state == BreakerState.NONE)
    with np.errstate(invalid="ignore"):
        fast = (columns["p95_ms"] < CONSENSUS_P95_MS) & ~columns["p95_lower_bound"]
        held: npt.NDArray[np.bool_] = (
            (columns["success_rate"] > CONSENSUS_SUCCESS_RATE) & fast & closed
        )
    return held


def _display(result: Result, upstream: UpstreamResult) -> dict[str, Any]:
    """Return the timeline's series at ≤ DISPLAY_POINTS buckets (exact statistics per bucket).

    Up to 30 minutes this is the result's own 5 s series; longer runs get wider buckets, each
    computed from its samples (the data files keep 5 s). Adds the upstream view's success rate.
    """
    series = upstream.timeseries
    buckets = max(1, -(-result.end_ns // BUCKET_NS))  # in 5 s buckets: a long series is coarser
    factor = -(-buckets // DISPLAY_POINTS)
    if factor > 1:
        series = timeseries(
            upstream.samples,
            upstream.breaker,
            result.end_ns,
            result.scenario.percentile_method,
            bucket_ns=BUCKET_NS * factor,
        )
    reached, successes = _reached_per_bucket(upstream.samples, len(series.t_ms), BUCKET_NS * factor)
    return {
        "bucket_ms": series.bucket_ms,
        "t_ms": series.t_ms,
        "requests": series.requests,
        "p50_ms": series.p50_ms,
        "p95_ms": series.p95_ms,
        "avg_ms": series.avg_ms,
        "percentiles_ms": objective_percentiles(result, upstream, len(series.t_ms), factor),
        "widened_p95_ms": widened_p95(result, upstream, len(series.t_ms), factor),
        "success_rate": series.success_rate,
        "upstream_success_rate": [
            s / n if n else None for s, n in zip(successes, reached, strict=True)
        ],
        "unsent": int(len(upstream.samples) - sum(reached)),
        # Only with a budget: other upstreams' digests stay as they were.
        **(
            {}
            if upstream.budget is None
            else {"budget_spent": _burn_down(upstream, len(series.t_ms), BUCKET_NS * factor)}
        ),
    }


def _burn_down(upstream: UpstreamResult, buckets: int, bucket_ns: int) -> list[float | None]:
    """Return the error budget spent by the end of each bucket: the bad requests (as the
    budget counts them, :func:`harness.verdicts.budget.bad_events`) started by then, over the
    scenario's whole allowance (allowed fraction × requests). The last value is the budget's
    ``spent``."""
    budget = upstream.budget
    assert budget is not None
    if not budget.requests:
        return [None] * buckets
    samples = upstream.samples
    bad = np.concatenate(([0], np.cumsum(bad_events(budget.target, samples), dtype=np.int64)))
    edges = np.arange(1, buckets + 1, dtype=np.int64) * bucket_ns
    ends = np.searchsorted(samples.start_ns, edges, side="left").tolist()
    return [int(bad[end]) / (budget.allowed * budget.requests) for end in ends]


def _reached_per_bucket(
    samples: Samples, buckets: int, bucket_ns: int
) -> tuple[list[int], list[int]]:
    """Return, per bucket of start times, how many requests reached the upstream and how
    many of those succeeded."""
    edges = np.arange(1, buckets, dtype=np.int64) * bucket_ns
    bounds = [0, *np.searchsorted(samples.start_ns, edges).tolist(), len(samples)]
    reached, successes = [], []
    for low, high in itertools.pairwise(bounds):
        part = dataclasses.replace(  # views of one bucket's slice: nothing copied
            samples,
            start_ns=samples.start_ns[low:high],
            latency_ns=samples.latency_ns[low:high],
            outcome=samples.outcome[low:high],
            status=samples.status[low:high],
            state=samples.state[low:high],
        )
        reached.append(int(np.count_nonzero(part.mask(View.UPSTREAM))))
        successes.append(int(np.count_nonzero(part.outcome == Outcome.SUCCESS)))
    return reached, successes


def digest_to_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data`` (a digest) as JSON data: the rolling columns as lists."""
    # NaN (no answered request in a window) is null in JSON.
    return _map_columns(
        data, lambda name, column: [None if x != x else x for x in np.asarray(column).tolist()]
    )


def _dtype(name: str) -> type[Any]:
    if name in _INT_COLUMNS:
        return np.int64
    return np.bool_ if name in _BOOL_COLUMNS else np.float64


def digest_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a digest read back from JSON data: the rolling columns as numpy arrays again."""
    return _map_columns(
        data,
        lambda name, column: np.asarray(
            column if name in _INT_COLUMNS else [np.nan if x is None else x for x in column],
            dtype=_dtype(name),
        ),
    )


def _map_columns(data: Mapping[str, Any], convert: Callable[[str, Any], Any]) -> dict[str, Any]:
    upstreams = {}
    for name, upstream in data["upstreams"].items():
        rolling = upstream["rolling"]
        columns = {key: convert(key, column) for key, column in rolling["columns"].items()}
        upstreams[name] = {**upstream, "rolling": {**rolling, "columns": columns}}
    return {**data, "upstreams": upstreams}
