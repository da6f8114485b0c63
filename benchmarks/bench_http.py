"""The HTTP engine's request path against its previous design, in one run.

Every case sends every request through a real ``httpx.AsyncClient`` on the virtual loop. The
HTTP engine serves the mocked upstreams from their handlers directly (``via_respx=False``) and
gives the client each lane's URL and timeout built once; the previous design, kept here as a
case, resolved each request through the respx router (route matching, the side effect's
signature inspected per call, a call log) and had httpx parse the URL and build the timeout
per request. The bare
httpx + respx floor of bench_engines is timed beside them. Both designs must give the same
Result before anything is timed. Goal: the HTTP engine ≤ 0.7× the previous design's time per
request; ratios are medians of per-round ratios (see :mod:`benchmarks.timing`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import harness
import harness.engines.http
from benchmarks.bench_engines import FLOOR_SCENARIO, _bare_floor
from benchmarks.timing import Goal, paired, paired_ratio
from harness import parse_scenario
from harness.upstreams.mocked import MockedUpstreams


class _ThroughRespx(MockedUpstreams):
    """The mocks as the HTTP engine had them before: every request resolved by respx."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["via_respx"] = True
        super().__init__(*args, **kwargs)


_CURRENT_START = harness.engines.http._HttpDriver.start_request


def _previous_start(self: Any, lane: Any, row: int, start_ns: int) -> None:
    """The built-in client's request as it was sent before: URL and timeout given per request."""
    if lane.name in self._entry_points:
        _CURRENT_START(self, lane, row, start_ns)
        return
    traffic, client = lane.traffic, self._client

    def send() -> Any:
        return client.request(traffic.method, lane.url, timeout=traffic.timeout / 1e9)

    asyncio.get_running_loop().create_task(self.guarded_request(lane, row, start_ns, send))


@contextlib.contextmanager
def _previous_design() -> Iterator[None]:
    module = harness.engines.http
    saved = module.MockedUpstreams
    module.MockedUpstreams = _ThroughRespx  # type: ignore[misc]
    module._HttpDriver.start_request = _previous_start  # type: ignore[method-assign]
    try:
        yield
    finally:
        module.MockedUpstreams = saved  # type: ignore[misc]
        module._HttpDriver.start_request = _CURRENT_START  # type: ignore[method-assign]


def _previous(scenario: Any) -> Any:
    with _previous_design():
        return harness.run(scenario, engine="http")


def run(quick: bool) -> dict[str, Any]:
    """Check both designs agree, time them, print the ratios and the goal."""
    seconds = 2 if quick else 20
    scenario = parse_scenario(FLOOR_SCENARIO.format(seconds=seconds), "floor.yaml")
    current, previous = harness.run(scenario, engine="http"), _previous(scenario)
    assert current.to_dict(run_info=False) == previous.to_dict(run_info=False)
    requests = sum(len(upstream.samples) for upstream in current.upstreams.values())
    cases = {
        "HTTP engine": lambda: harness.run(scenario, engine="http"),
        "HTTP engine via respx (previous)": lambda: _previous(scenario),
        "bare httpx+respx floor": lambda: _bare_floor(scenario),
    }
    rounds = 3 if quick else 11
    found = paired(cases, "HTTP engine via respx (previous)", rounds=rounds)
    print(f"{requests:,} requests a run, {rounds} rounds; ratios: median of per-round ratios")
    for name, numbers in found.items():
        micros = numbers["median_s"] / requests * 1e6
        print(f"  {name:<34} {numbers['ratio']:5.2f}× the previous design  ({micros:6.1f} µs/req)")
    goals = [
        Goal("HTTP engine / previous design", found["HTTP engine"]["ratio"], 0.7),
    ]
    floor_ratio = paired_ratio(found, "HTTP engine", "bare httpx+respx floor")
    print(f"  HTTP engine / bare httpx+respx floor: {floor_ratio:.2f} (that floor uses respx)")
    for goal in goals:
        print(goal.line())
    return {
        "requests": requests,
        "cases": found,
        "over_respx_floor": floor_ratio,
        "goals": [goal.to_dict() for goal in goals],
    }
