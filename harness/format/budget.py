"""The memory a scenario needs, estimated when it is loaded, and the budget it must fit in.

A valid scenario can still need more memory than any machine has: a burst of a million
requests against a slow upstream holds them all in flight at once. The estimate is an upper
bound from what the file says, per upstream:

- samples: every request is kept, :data:`SAMPLE_BYTES` each in columns;
- requests in flight: at most the concurrency cap, else the rate times how long a request can
  stay in flight (the latency's far tail, about its 99.9th percentile, or the client timeout
  where the tail reaches it or an error is a timeout) plus every burst, :data:`IN_FLIGHT_BYTES`
  each (measured: ~8.9 KB on the HTTP engine);
- the time series: a row per bucket (5 s, coarser past a day; see verdicts.timeseries),
  :data:`BUCKET_BYTES` each with the reports written from it.

Over the budget (:data:`DEFAULT_MEMORY_BUDGET`, or what :func:`memory_budget` sets for a run,
e.g. ``--memory-budget``) the scenario is refused, naming the upstream, the cause and the
numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from typing import Protocol

from harness.errors import KeyPath
from harness.format.ramps import LatencyRamp, RateRamp
from harness.format.units import NS_PER_S
from harness.format.upstream import Upstream

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "budget_problems",
    "estimate_bytes",
    "memory_budget",
    "parse_size",
]

DEFAULT_MEMORY_BUDGET = 2 * 1024**3
"""2 GiB: what a CI runner can give a test run."""
SAMPLE_BYTES = 20
IN_FLIGHT_BYTES = {"http": 9_000, "direct": 1_500}
BUCKET_BYTES = 400
_BUCKET_NS = 5 * NS_PER_S
_MAX_BUCKETS = 17_280  # as harness.verdicts.timeseries.MAX_BUCKETS (format cannot import it)
_BUDGET: ContextVar[int] = ContextVar("memory_budget", default=DEFAULT_MEMORY_BUDGET)
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?) *([KMGT]i?B|B)?", re.IGNORECASE)
_SCALE = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_SCALE |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


class Whole(Protocol):
    """What the estimate reads of a scenario."""

    @property
    def duration(self) -> int: ...

    @property
    def engine(self) -> str: ...

    @property
    def upstreams(self) -> Mapping[str, Upstream]: ...


@contextmanager
def memory_budget(limit: int | None) -> Iterator[None]:
    """Load scenarios in the block against ``limit`` bytes (None: the default)."""
    token = _BUDGET.set(DEFAULT_MEMORY_BUDGET if limit is None else limit)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def parse_size(text: str) -> int:
    """Return a size such as ``4GiB``, ``500MB`` or ``1000000`` in bytes; raise ValueError."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or len(text) > 40:
        raise ValueError(f"expected a size like 4GiB or 500MB, got {text[:40]!r}")
    return int(Fraction(match.group(1)) * _SCALE[(match.group(2) or "").upper()])


def estimate_bytes(scenario: Whole) -> dict[str, tuple[int, str, KeyPath]]:
    """Return per upstream: estimated bytes, the largest cause in words, and where it is."""
    return {
        name: _upstream_bytes(scenario, name, upstream)
        for name, upstream in scenario.upstreams.items()
    }


def budget_problems(scenario: Whole) -> list[tuple[KeyPath, str]]:
    """Return a problem if the scenario's estimated memory is over the budget."""
    estimates = estimate_bytes(scenario)
    total = sum(size for size, _, _ in estimates.values())
    limit = _BUDGET.get()
    if total <= limit:
        return []
    name = max(estimates, key=lambda key: estimates[key][0])
    size, cause, path = estimates[name]
    return [
        (
            path,
            f"the scenario would need about {_size(total)} of memory, over the budget of "
            f"{_size(limit)}; most of it upstream {name!r}: {cause} (about {_size(size)}). "
            "Lower the rate or the bursts, set traffic.concurrency or a shorter timeout, use "
            "engine: direct, or raise the budget (--memory-budget)",
        )
    ]


def _upstream_bytes(scenario: Whole, name: str, upstream: Upstream) -> tuple[int, str, KeyPath]:
    span = scenario.duration + (upstream.traffic.timeout if upstream.traffic else 0)
    buckets = min(-(-span // _BUCKET_NS), _MAX_BUCKETS)
    parts: list[tuple[int, str, KeyPath]] = [
        (buckets * BUCKET_BYTES, f"{buckets:,} time-series buckets", ("upstreams", name))
    ]
    traffic = upstream.traffic
    if traffic is not None:
        # Stages ramp the rate: count what they send, and size what is in flight by the peak.
        steady = traffic.requests_until(scenario.duration)
        peak = traffic.peak_rate
        bursts = sum(burst.requests for burst in traffic.bursts)
        where: KeyPath = ("upstreams", name, "traffic", "rate")
        parts.append(((steady + bursts) * SAMPLE_BYTES, f"{steady + bursts:,} requests", where))
        held = min(scenario.duration, traffic.timeout, _longest_held(upstream, traffic.timeout))
        in_flight = math.ceil(peak * Fraction(held, NS_PER_S)) + bursts
        if traffic.concurrency is not None and traffic.concurrency < in_flight:
            in_flight = traffic.concurrency
        if bursts > in_flight // 2:
            where = ("upstreams", name, "traffic", "bursts")
        cost = IN_FLIGHT_BYTES.get(scenario.engine, IN_FLIGHT_BYTES["http"])
        cause = f"up to {in_flight:,} requests in flight at once × ~{cost:,} bytes"
        parts.append((in_flight * cost, f"{cause} on the {scenario.engine} engine", where))
    total = sum(size for size, _, _ in parts)
    _, cause, path = max(parts, key=lambda part: part[0])
    return total, cause, path


def _longest_held(upstream: Upstream, timeout: int) -> int:
    """Return how long a request can stay in flight: the latency's far tail (about its 99.9th
    percentile, which Little's law turns into requests in flight), or the timeout where an
    error is a timeout or the tail reaches it."""
    settings: list[tuple[object | None, float | RateRamp | None, Mapping[str, float] | None]]
    settings = [(upstream.latency, upstream.failure_rate, upstream.errors)]
    settings += [(phase.latency, phase.failure_rate, phase.errors) for phase in upstream.timeline]
    longest = 0
    for latency, failure_rate, errors in settings:
        highest = failure_rate.highest if isinstance(failure_rate, RateRamp) else failure_rate
        if errors and "timeout" in errors and (highest is None or float(highest) > 0):
            return timeout
        ends = (latency.start, latency.end) if isinstance(latency, LatencyRamp) else (latency,)
        longest = max([longest, *(_tail(end) for end in ends if end is not None)])
    return min(longest, timeout)


def _tail(latency: object) -> int:
    dist = getattr(latency, "dist", "fixed")
    if dist == "fixed":
        return int(getattr(latency, "value", 0))
    if dist == "uniform":
        return int(getattr(latency, "max", 0))
    if dist == "normal":
        return int(getattr(latency, "mean", 0) + 3.1 * getattr(latency, "stddev", 0))
    p50, p95 = getattr(latency, "p50", 0), getattr(latency, "p95", 0)
    if p50 <= 0:
        return int(p95)
    sigma = math.log(max(p95, p50) / p50) / 1.645
    return int(min(p50 * math.exp(3.1 * sigma), 2**62))


def _size(count: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count} bytes"
