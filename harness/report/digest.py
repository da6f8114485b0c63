"""What reports need beyond a result's JSON form, computed where the samples are.

``Result.to_dict()`` carries statistics, not samples; a histogram, the original monitor's
rolling P95 and the scenario's fault phases need the samples or the scenario. :func:`digest`
computes them, as plain JSON data, in the process that ran the scenario (an xdist worker ships
it to the controller with the result), so every report is built from JSON alone and local and
distributed runs give the same files.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.events import Outcome
from harness.metrics import NUMPY_METHOD, PercentileMethod, View
from harness.result import Result, UpstreamResult
from harness.scenario import Phase

__all__ = ["ROLLING_EVERY", "ROLLING_WINDOW", "digest", "histogram", "rolling_latency"]

ROLLING_WINDOW = 100
"""The original monitor's P95 was over the last 100 samples..."""
ROLLING_EVERY = 10
"""...computed every 10 requests."""
HISTOGRAM_BINS = 48
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_FLOOR_MS = 0.01  # below this (short-circuited, refused at once) a latency is counted as ≈0


def digest(result: Result) -> dict[str, Any]:
    """Return the JSON data reports need besides ``result.to_dict()``, per upstream."""
    return {
        "upstreams": {
            name: _upstream_digest(result, name, upstream)
            for name, upstream in result.upstreams.items()
        }
    }


def _upstream_digest(result: Result, name: str, upstream: UpstreamResult) -> dict[str, Any]:
    samples = upstream.samples
    outcome = samples.outcome
    reached = samples.mask(View.UPSTREAM)
    success = outcome == Outcome.SUCCESS
    latency_ms = samples.latency_ns / 1e6
    groups = {
        "success": latency_ms[success],
        "error": latency_ms[reached & ~success],
        "rejected": latency_ms[~reached],
    }
    return {
        "phases": [_phase(phase) for phase in result.scenario.upstreams[name].timeline],
        "histogram": histogram(groups),
        "rolling": _rolling(result, upstream),
    }


def _phase(phase: Phase) -> dict[str, Any]:
    overrides = phase.model_dump(
        mode="json", by_alias=True, exclude={"name", "start", "end"}, exclude_none=True
    )
    return {
        "label": phase.label,
        "from_ms": phase.start / 1e6,
        "to_ms": phase.end / 1e6,
        "overrides": overrides,
    }


def histogram(groups: dict[str, npt.NDArray[np.float64]]) -> dict[str, Any]:
    """Return log-spaced latency bins (ms) and a count per bin for each group of latencies.

    Near-zero latencies (below 0.01 ms: short-circuited or refused at once) are counted apart,
    under ``zero``, as a log scale has no place for them.
    """
    every = np.concatenate(list(groups.values()) or [np.zeros(0)])
    positive = every[every >= _FLOOR_MS]
    if positive.size:
        low, high = float(positive.min()), float(positive.max())
    else:
        low = high = 1.0
    if high / low < 1.5:  # a fixed latency: widen so the bar has room
        low, high = low / 1.5, high * 1.5
    edges = np.geomspace(low, high, HISTOGRAM_BINS + 1)
    counts = {
        group: np.histogram(values[values >= _FLOOR_MS], bins=edges)[0].tolist()
        for group, values in groups.items()
    }
    zero = {group: int(np.count_nonzero(values < _FLOOR_MS)) for group, values in groups.items()}
    return {"edges_ms": edges.tolist(), "counts": counts, "zero": zero}


def _rolling(result: Result, upstream: UpstreamResult) -> dict[str, Any]:
    """Return the rolling P95 against the upstream's first P95 objective (its view and bound)."""
    objective = next((v.objective for v in upstream.verdicts if v.objective.metric == "p95"), None)
    view = View.CLIENT if objective is None else objective.view
    samples = upstream.samples
    mask = samples.mask(view)
    start, latency = samples.start_ns[mask], samples.latency_ns[mask]
    # The original monitor saw a response when it completed: order by completion time.
    end = start + latency
    order = np.lexsort((start, end))
    rows = rolling_latency(latency[order], end[order], result.scenario.percentile_method)
    threshold = None if objective is None else objective.threshold
    for row in rows:
        row["threshold_ms"] = threshold
        if objective is None:
            row["verdict"] = None
        else:
            row["verdict"] = "PASS" if _OPS[objective.op](row["p95_ms"], threshold) else "FAIL"
    return {
        "view": view.value,
        "objective": None if objective is None else objective.text,
        "window": ROLLING_WINDOW,
        "every": ROLLING_EVERY,
        "percentile_method": result.scenario.percentile_method,
        "results": rows,
    }


def rolling_latency(
    latency_ns: npt.NDArray[np.int64],
    at_ns: npt.NDArray[np.int64],
    method: PercentileMethod = "nearest_rank",
    window: int = ROLLING_WINDOW,
    every: int = ROLLING_EVERY,
) -> list[dict[str, Any]]:
    """Return P95, P50 and average (ms) over the last ``window`` samples, after every
    ``every``-th sample.

    ``latency_ns`` and ``at_ns`` (when each sample was seen) are in the order seen; until
    ``window`` samples are in, the statistics are over all samples so far.
    """
    latency_ms = latency_ns / 1e6
    ends = np.arange(every, latency_ms.size + 1, every)
    if not ends.size:
        return []
    starts = np.maximum(ends - window, 0)
    p95 = np.empty(ends.size)
    p50 = np.empty(ends.size)
    numpy_method = NUMPY_METHOD[method]
    full = ends >= window
    if full.any():
        windows = np.lib.stride_tricks.sliding_window_view(latency_ms, window)[ends[full] - window]
        p95[full], p50[full] = np.percentile(windows, [95, 50], axis=1, method=numpy_method)
    for index in np.flatnonzero(~full):
        part = latency_ms[: ends[index]]
        p95[index], p50[index] = np.percentile(part, [95, 50], method=numpy_method)
    # Exact integer sums, so the average is the same on every machine (as in harness.metrics).
    cumulative = np.concatenate(([0], np.cumsum(latency_ns, dtype=np.int64)))
    average = (cumulative[ends] - cumulative[starts]) / (ends - starts) / 1e6
    return [
        {
            "request": int(end),
            "at_ms": int(at_ns[end - 1]) / 1e6,
            "samples": int(end - start),
            "p95_ms": float(high),
            "p50_ms": float(mid),
            "avg_ms": float(mean),
        }
        for end, start, high, mid, mean in zip(ends, starts, p95, p50, average, strict=True)
    ]
