"""The timeline's latency lines beyond each bucket's P50/P95: what objectives use, and a P95
that stays readable at low rates.

Both are per display bucket (:func:`harness.report.digest.digest`'s ``display``), over the
answered requests only: a bucket where the breaker or the cap shed every request has None (a
gap in the chart), never 0 ms.
"""

from __future__ import annotations

import itertools

import numpy as np

from harness.verdicts.metrics import Samples, View, answered
from harness.verdicts.result import Result, UpstreamResult
from harness.verdicts.timeseries import BUCKET_NS, slice_percentiles

__all__ = ["MIN_ANSWERS", "objective_percentiles", "widened_p95"]

MIN_ANSWERS = 20
"""A widened bucket holds at least this many answered requests (where the run has them)."""


def _bounds(samples: Samples, buckets: int, factor: int) -> list[int]:
    """Return the sample index where each display bucket starts, and the end."""
    edges = np.arange(1, buckets, dtype=np.int64) * (BUCKET_NS * factor)
    return [0, *np.searchsorted(samples.start_ns, edges).tolist(), len(samples)]


def objective_percentiles(
    result: Result, upstream: UpstreamResult, buckets: int, factor: int
) -> dict[str, list[float | None]]:
    """Return, per bucket, each client-view percentile an objective uses besides P50/P95
    (``{"p99": [...]}``), over the bucket's answered requests (None where none was)."""
    wanted = sorted(
        {
            v.objective.metric: v.objective.quantile
            for v in upstream.verdicts
            if v.objective.view is View.CLIENT
            and v.objective.quantile is not None
            and v.objective.metric not in ("p50", "p95")
            and not v.objective.metric.startswith("ttfb.")  # of first bytes, not latency
        }.items()
    )
    if not wanted:
        return {}
    samples, method = upstream.samples, result.scenario.percentile_method
    columns: dict[str, list[float | None]] = {name: [] for name, _ in wanted}
    for low, high in itertools.pairwise(_bounds(samples, buckets, factor)):
        heard = answered(samples.outcome[low:high])
        values = samples.latency_ns[low:high][heard] / 1e6
        found = slice_percentiles(values, [q for _, q in wanted], method) if values.size else []
        for position, (name, _) in enumerate(wanted):
            columns[name].append(float(found[position]) if values.size else None)
    return columns


def widened_p95(
    result: Result, upstream: UpstreamResult, buckets: int, factor: int
) -> list[float | None]:
    """Return, per bucket, the P95 of the answered requests of that bucket and as many
    buckets before it as it takes to hold ``MIN_ANSWERS`` answers (or all before it).

    A bucket with no answer of its own stays None: a shed window is a gap, not the tail of
    the minutes before it.
    """
    samples, method = upstream.samples, result.scenario.percentile_method
    bounds = _bounds(samples, buckets, factor)
    heard = answered(samples.outcome)
    cumulative = np.concatenate(([0], np.cumsum(heard, dtype=np.int64)))
    counts = (cumulative[bounds[1:]] - cumulative[bounds[:-1]]).tolist()
    line: list[float | None] = []
    for index in range(buckets):
        if not counts[index]:
            line.append(None)
            continue
        first, held = index, counts[index]
        while held < MIN_ANSWERS and first > 0:
            first -= 1
            held += counts[first]
        low, high = bounds[first], bounds[index + 1]
        values = samples.latency_ns[low:high][heard[low:high]] / 1e6
        line.append(float(slice_percentiles(values, (95,), method)[0]))
    return line
