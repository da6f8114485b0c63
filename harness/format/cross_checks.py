"""Checks no single field can make: a phase past the duration, an objective needing a breaker,
two upstreams whose URLs overlap, a scenario that would send too many requests, a breaker
library that is not installed.

Each returns ``(key path, message)`` pairs; the loader locates them in the file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations
from typing import Protocol
from urllib.parse import urlsplit

from harness.errors import KeyPath
from harness.format.breaker_settings import CustomBreakerSettings, factory_problem, library_problem
from harness.format.expectations import expectation_problems
from harness.format.load_shapes import expected_requests
from harness.format.units import format_duration
from harness.format.upstream import Upstream


class Whole(Protocol):
    """What these checks read of a scenario (the Scenario model, which calls them, has it)."""

    @property
    def duration(self) -> int: ...

    @property
    def upstreams(self) -> Mapping[str, Upstream]: ...

    def url_of(self, upstream: str) -> str:
        """Return the base URL of ``upstream``, ending in ``/``."""
        ...


__all__ = ["MAX_REQUESTS", "cross_checks"]

MAX_REQUESTS = 100_000_000
"""The most requests one scenario may send (over every upstream): about 2 GB of samples, and
some 17 minutes on the direct engine (hours on the HTTP engine)."""

Found = list[tuple[KeyPath, str]]


def cross_checks(scenario: Whole) -> Found:
    """Return every problem that needs more than one field to see."""
    found: Found = []
    for name, upstream in scenario.upstreams.items():
        found += _window_checks(scenario, name, upstream)
        found += _objective_checks(name, upstream)
        found += _breaker_checks(name, upstream)
    found += _url_overlaps(scenario)
    found += _request_count(scenario)
    return found


def _window_checks(scenario: Whole, name: str, upstream: Upstream) -> Found:
    found: Found = []
    end = format_duration(scenario.duration)
    for index, phase in enumerate(upstream.timeline):
        if phase.last_end > scenario.duration:
            key = "to" if phase.times is None else "times"
            found.append(
                (
                    ("upstreams", name, "timeline", index, key),
                    f"the phase ends at {format_duration(phase.last_end)}, after the scenario's "
                    f"duration of {end}",
                )
            )
    for index, burst in enumerate(upstream.traffic.bursts if upstream.traffic else ()):
        if burst.at >= scenario.duration:
            found.append(
                (
                    ("upstreams", name, "traffic", "bursts", index, "at"),
                    f"the burst is at {format_duration(burst.at)}, not before the end of the "
                    f"scenario ({end})",
                )
            )
    return found


def _objective_checks(name: str, upstream: Upstream) -> Found:
    found: Found = []
    for index, objective in enumerate(upstream.slo):
        if objective.metric in ("final_state", "opens", "time_open") and not upstream.breaker:
            found.append(
                (
                    ("upstreams", name, "slo", index),
                    f"{objective.text!r} needs a breaker, and upstream {name!r} has none",
                )
            )
    if upstream.slo and upstream.traffic is None:
        found.append(
            (
                ("upstreams", name, "slo"),
                f"upstream {name!r} has objectives but no traffic to measure them on",
            )
        )
    return found


def _breaker_checks(name: str, upstream: Upstream) -> Found:
    """Return problems with the breaker's library or factory and the upstream's expectations."""
    found = [
        (("upstreams", name, *path), message)
        for path, message in expectation_problems(
            upstream.expect,
            upstream.timeline,
            has_breaker=upstream.breaker is not None,
            has_traffic=upstream.traffic is not None,
        )
    ]
    breaker = upstream.breaker
    if breaker is None:
        return found
    if isinstance(breaker, CustomBreakerSettings):
        problem = factory_problem(breaker.impl)
    else:
        problem = library_problem(breaker.impl)
    if problem:
        found.append((("upstreams", name, "breaker", "impl"), problem))
    return found


def _url_overlaps(scenario: Whole) -> Found:
    """Two upstreams whose URLs are equal, or one a prefix of the other, would share traffic:
    requests are routed to an upstream by URL prefix."""
    found: Found = []
    for first, second in combinations(scenario.upstreams, 2):
        url_1, url_2 = scenario.url_of(first), scenario.url_of(second)
        if not _overlap(url_1, url_2):
            continue
        given = second if scenario.upstreams[second].url else first
        how = "the same URL" if url_1 == url_2 else "URLs where one is a prefix of the other"
        found.append(
            (
                ("upstreams", given, "url"),
                f"upstreams {first!r} ({url_1}) and {second!r} ({url_2}) have {how}, so one "
                "would receive the other's requests; give each its own URL (another host, or "
                "paths that are not prefixes of each other)",
            )
        )
    return found


def _overlap(url_1: str, url_2: str) -> bool:
    """Return whether one URL's path is a prefix of the other's on the same host (whether or
    not on a segment boundary: /v1 and /v1beta overlap)."""
    parts_1, parts_2 = urlsplit(url_1), urlsplit(url_2)
    if (parts_1.scheme, parts_1.netloc.lower()) != (parts_2.scheme, parts_2.netloc.lower()):
        return False
    path_1, path_2 = parts_1.path.rstrip("/"), parts_2.path.rstrip("/")
    return path_1.startswith(path_2) or path_2.startswith(path_1)


def _request_count(scenario: Whole) -> Found:
    """Refuse a scenario whose traffic would not finish (or not fit in memory)."""
    counts = {
        name: _expected_requests(upstream, scenario.duration)
        for name, upstream in scenario.upstreams.items()
        if upstream.traffic is not None
    }
    total = sum(counts.values())
    if total <= MAX_REQUESTS:
        return []
    largest = max(counts, key=lambda name: counts[name])
    shares = ", ".join(f"{name}: {count:,}" for name, count in counts.items() if count)
    return [
        (
            ("upstreams", largest, "traffic", "rate"),
            f"the scenario would send about {total:,} requests ({shares}), over the limit of "
            f"{MAX_REQUESTS:,} per scenario; shorten the duration or lower the rate",
        )
    ]


def _expected_requests(upstream: Upstream, duration_ns: int) -> int:
    traffic = upstream.traffic
    assert traffic is not None
    steady = math.ceil(expected_requests(traffic.rate, traffic.stages, duration_ns))
    return steady + sum(burst.requests for burst in traffic.bursts if burst.at < duration_ns)
