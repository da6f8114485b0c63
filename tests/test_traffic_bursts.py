"""Bursts: extra requests that all arrive at one instant, on top of the steady rate."""

from __future__ import annotations

import pytest

from harness import ScenarioError, run
from harness.upstreams.streams import stream
from harness.upstreams.traffic import arrivals
from tests.support import scenario

SECOND = 10**9


def traffic(settings: str, duration: str = "10s"):  # type: ignore[no-untyped-def]
    loaded = scenario(f"duration: {duration}\nupstreams: {{u: {{traffic: {settings}}}}}")
    return loaded.upstreams["u"].traffic


def test_a_burst_adds_its_requests_at_its_instant_after_the_steady_arrival_there() -> None:
    settings = "{rate: 1/s, bursts: [{at: 3s, requests: 4}, {at: 1500ms, requests: 2}]}"
    times = list(arrivals(traffic(settings), 5 * SECOND, stream(0, "u", "arrivals")))
    assert times == [0, SECOND, 1_500_000_000, 1_500_000_000, 2 * SECOND] + [3 * SECOND] * 5 + [
        4 * SECOND
    ]


def test_bursts_ride_on_poisson_arrivals_without_shifting_them() -> None:
    plain = traffic("{rate: 5/s, arrivals: poisson}")
    bursty = traffic("{rate: 5/s, arrivals: poisson, bursts: [{at: 2s, requests: 3}]}")
    base = list(arrivals(plain, 10 * SECOND, stream(1, "u", "arrivals")))
    merged = list(arrivals(bursty, 10 * SECOND, stream(1, "u", "arrivals")))
    assert sorted(base + [2 * SECOND] * 3) == merged


def test_a_burst_runs_its_requests_concurrently() -> None:
    loaded = scenario(
        """
        duration: 2s
        upstreams:
          u: {latency: 1s, traffic: {rate: 1/h, concurrency: 5, bursts: [{at: 1s, requests: 8}]}}
        """
    )
    samples = run(loaded).upstreams["u"].samples
    assert samples.outcome.tolist() == [0] * 6 + [6] * 3  # t=0, then 5 of 8: the cap is 5
    assert samples.start_ns.tolist() == [0] + [SECOND] * 8


def test_a_burst_after_the_end_is_a_located_error() -> None:
    bursts = "bursts: [{at: 10s, requests: 2}]"
    with pytest.raises(ScenarioError) as caught:
        scenario(f"duration: 10s\nupstreams: {{u: {{traffic: {{rate: 1/s, {bursts}}}}}}}", "x.yaml")
    assert str(caught.value) == (
        "x.yaml:2:52: upstreams.u.traffic.bursts[0].at: the burst is at 10s, not before the end "
        "of the scenario (10s)"
    )
