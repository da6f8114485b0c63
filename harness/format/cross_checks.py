"""Checks no single field can make: a phase past the duration, an objective needing a breaker,
two upstreams whose URLs overlap, a scenario that would send too many requests, a breaker
library that is not installed.

Each returns ``(key path, message)`` pairs; the loader locates them in the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urlsplit

from harness.errors import KeyPath
from harness.format import budget
from harness.format.breaker_settings import CustomBreakerSettings, factory_problem, library_problem
from harness.format.budget import budget_problems
from harness.format.error_budget import target_objective
from harness.format.expectations import expectation_problems
from harness.format.policies import Pool
from harness.format.routes import traffic_route
from harness.format.units import format_duration
from harness.format.upstream import Upstream


class Whole(budget.Whole, Protocol):
    """What these checks read of a scenario (the Scenario model, which calls them, has it):
    what the memory estimate reads, and each upstream's base URL."""

    def url_of(self, upstream: str) -> str:
        """Return the base URL of ``upstream``, ending in ``/``."""
        ...

    @property
    def pools(self) -> Mapping[str, Pool]: ...


__all__ = ["MAX_REQUESTS", "cross_checks"]

MAX_REQUESTS = 100_000_000
"""The most requests one scenario may send (over every upstream): about 2 GB of samples, and
some 17 minutes on the direct engine (hours on the HTTP engine)."""

Problem = tuple[KeyPath, str]
Found = list[Problem]


def cross_checks(scenario: Whole) -> Found:
    """Return every problem that needs more than one field to see."""
    found: Found = []
    for name, upstream in scenario.upstreams.items():
        found += _window_checks(scenario, name, upstream)
        found += _objective_checks(name, upstream)
        found += _breaker_checks(name, upstream)
        found += _route_checks(scenario, name, upstream)
    found += _url_overlaps(scenario)
    found += _entry_point_engine(scenario)
    found += _policy_checks(scenario)
    found += _request_count(scenario)
    if not found:  # the estimate reads what the checks above hold valid
        found += budget_problems(scenario)
    return found


def _route_checks(scenario: Whole, name: str, upstream: Upstream) -> Found:
    """Routes need distinct labels (a never-called one is named by it), and the built-in
    client's requests must match one (an entry point's are matched as they are sent)."""
    found: Found = []
    seen: dict[str, int] = {}
    for index, route in enumerate(upstream.routes):
        if route.label in seen:
            found.append(
                (
                    ("upstreams", name, "routes", index),
                    f"routes {seen[route.label]} and {index} are both {route.label!r}: give "
                    "them distinct names",
                )
            )
        seen.setdefault(route.label, index)
    traffic = upstream.traffic
    if upstream.routes and traffic is not None and traffic.entry_point is None:
        matched, problem = traffic_route(upstream.routes, scenario.url_of(name), traffic)
        if matched is None:
            found.append((("upstreams", name, "traffic"), problem))
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
    found += _phase_names(name, upstream)
    if upstream.slo and upstream.traffic is None:
        found.append(
            (
                ("upstreams", name, "slo"),
                f"upstream {name!r} has objectives but no traffic to measure them on",
            )
        )
    return found


def _phase_names(name: str, upstream: Upstream) -> Found:
    """Return a problem per ``... during NAME`` objective naming no phase of the upstream."""
    labels = [phase.label for phase in upstream.timeline]
    found: Found = []
    for index, objective in enumerate(upstream.slo):
        if objective.phase is None or objective.phase in labels:
            continue
        close = difflib.get_close_matches(objective.phase, labels, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(repr(label) for label in labels) or "none: it has no timeline"
        found.append(
            (
                ("upstreams", name, "slo", index),
                f"no phase {objective.phase!r} in upstream {name!r}{hint}; its phases: {known}",
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
            slo_period=upstream.slo_period,
            has_target=target_objective(upstream.slo) is not None,
        )
    ]
    if upstream.alert_min_requests is not None and upstream.slo_period is None:
        found.append(
            (
                ("upstreams", name, "alert_min_requests"),
                "alert_min_requests needs slo_period: without it no alert is evaluated",
            )
        )
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


def _entry_point_engine(scenario: Whole) -> Found:
    """Return a problem per entry point in a scenario set to the direct engine."""
    if scenario.engine == "http":
        return []
    return [
        (
            ("upstreams", name, "traffic", "entry_point"),
            f"entry points run on the http engine only, but this scenario sets engine: "
            f"{scenario.engine} (your code needs the HTTP clients the direct engine does "
            "without): remove engine: direct or the entry point",
        )
        for name, upstream in scenario.upstreams.items()
        if upstream.traffic is not None and upstream.traffic.entry_point is not None
    ]


def _policy_checks(scenario: Whole) -> Found:
    """Return problems with pools and retries: a pool nobody uses, an unknown pool, a policy
    on traffic an entry point serves, a retry policy that cannot finish within the run."""
    found: Found = []
    used: set[str] = set()
    for name, upstream in scenario.upstreams.items():
        traffic = upstream.traffic
        if upstream.pool is not None:
            used.add(upstream.pool)
            if upstream.pool not in scenario.pools:
                close = difflib.get_close_matches(upstream.pool, list(scenario.pools), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(repr(pool) for pool in scenario.pools) or "none"
                found.append(
                    (
                        ("upstreams", name, "pool"),
                        f"no pool {upstream.pool!r} in pools{hint}; the pools: {known}",
                    )
                )
        for key in ("pool", "retry", "fallback", "timeout", "hedge"):
            if getattr(upstream, key) is None:
                continue
            if traffic is None:
                found.append(
                    (("upstreams", name, key), f"upstream {name!r} has a {key} but no traffic")
                )
            elif traffic.entry_point is not None:
                found.append(
                    (
                        ("upstreams", name, key),
                        f"a {key} applies to the built-in client, and upstream {name!r}'s "
                        "traffic calls an entry point (your code brings its own)",
                    )
                )
        if upstream.retry is not None and upstream.retry.schedule_ns() >= scenario.duration:
            retry = upstream.retry
            found.append(
                (
                    ("upstreams", name, "retry", "attempts"),
                    f"the backoff between {retry.attempts} attempts waits "
                    f"{format_duration(retry.schedule_ns())} in all (base "
                    f"{format_duration(retry.backoff.base)} doubling, at most "
                    f"{format_duration(retry.backoff.max)}), not less than the scenario's "
                    f"{format_duration(scenario.duration)}: a retried request could never finish "
                    "within the run; lower attempts or the backoff",
                )
            )
    for pool in scenario.pools:
        if pool not in used:
            found.append(
                (
                    ("pools", pool),
                    f"no upstream uses pool {pool!r} (name it in an upstream as "
                    f"pool: {pool}, or remove it)",
                )
            )
    return found


def _url_overlaps(scenario: Whole) -> Found:
    """Two upstreams whose URLs are equal, or one a prefix of the other, would share traffic:
    requests are routed to an upstream by URL prefix.

    Each URL is parsed once and the paths sorted per host: every path that starts with a
    given one sorts right after it, so a stack of the paths still open as prefixes finds, in
    n log n, each upstream whose URL extends another's (reported with the nearest one).
    """
    keyed: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for name in scenario.upstreams:
        url = scenario.url_of(name)
        parts = urlsplit(url)
        host = (parts.scheme, parts.netloc.lower())
        keyed.setdefault(host, []).append((parts.path.rstrip("/"), name, url))
    found: Found = []
    for entries in keyed.values():
        entries.sort()
        open_prefixes: list[tuple[str, str, str]] = []
        for path, name, url in entries:
            while open_prefixes and not path.startswith(open_prefixes[-1][0]):
                open_prefixes.pop()
            if open_prefixes:
                _, first, first_url = open_prefixes[-1]
                found.append(_overlap_problem(scenario, first, first_url, name, url))
            open_prefixes.append((path, name, url))
    return found


def _overlap_problem(scenario: Whole, first: str, url_1: str, second: str, url_2: str) -> Problem:
    given = second if scenario.upstreams[second].url else first
    how = "the same URL" if url_1 == url_2 else "URLs where one is a prefix of the other"
    return (
        ("upstreams", given, "url"),
        f"upstreams {first!r} ({url_1}) and {second!r} ({url_2}) have {how}, so one "
        "would receive the other's requests; give each its own URL (another host, or "
        "paths that are not prefixes of each other)",
    )


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
    steady = traffic.requests_until(duration_ns)
    return steady + sum(burst.requests for burst in traffic.bursts if burst.at < duration_ns)
