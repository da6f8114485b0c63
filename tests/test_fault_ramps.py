"""Ramps of the failure rate and the latency within a timeline phase."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness import ScenarioError, run
from tests.support import ENGINES, scenario

SECOND = 10**9
MINUTE = 60 * SECOND

FAILURE_RAMP = """\
duration: 12m
seed: {seed}
upstreams:
  api:
    latency: 1ms
    errors: {{503: 100%}}
    timeline:
      - {{name: brownout, from: 1m, for: 10m, failure_rate: {{from: 0%, to: 100%}}}}
    traffic: {{rate: 20/s}}
"""


def failures_per_minute(engine: str, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    samples = run(scenario(FAILURE_RAMP.format(seed=seed)), engine=engine).upstreams["api"].samples
    minute = samples.start_ns // MINUTE
    return np.bincount(minute, minlength=12), np.bincount(
        minute[samples.outcome != 0], minlength=12
    )


def expected_profile(p: np.ndarray) -> tuple[float, float]:
    """The mean and variance of the number of failures among requests failing with
    probabilities ``p`` (a Poisson binomial)."""
    return float(p.sum()), float((p * (1 - p)).sum())


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failure_ramp_fails_requests_along_the_line(engine: str) -> None:
    sent, failed = failures_per_minute(engine)
    assert sent.tolist() == [1200] * 12
    # Request k arrives at k/20 s; inside the phase it fails with p = (t − 60 s) / 600 s.
    t = np.arange(12 * 1200) / 20
    p = np.clip((t - 60) / 600, 0, 1)
    p[t >= 660] = 0  # after the phase: the upstream's own 0%
    assert failed[0] == failed[11] == 0
    for minute in range(1, 11):
        mean, variance = expected_profile(p[minute * 1200 : (minute + 1) * 1200])
        # Minute m holds 1200 requests at p from (m−1)/10 to m/10: mean 120·m − 60.
        assert mean == pytest.approx(120 * minute - 60, abs=0.1)
        # 4.5 standard deviations (a chance below 1e-5 per minute under the ramp) …
        bound = 4.5 * math.sqrt(variance)
        assert abs(failed[minute] - mean) <= bound, (minute, failed[minute], mean)
        # … and a flat 50% over the phase would fall outside it in most minutes.
        if minute not in (5, 6):
            assert abs(600 - mean) > bound


def test_the_bound_rejects_a_flat_rate() -> None:
    # The same test against a phase at a flat 50% fails: the check can fail.
    flat = FAILURE_RAMP.replace("{{from: 0%, to: 100%}}", "50%")
    samples = run(scenario(flat.format(seed=3)), engine="direct").upstreams["api"].samples
    minute = samples.start_ns // MINUTE
    failed = np.bincount(minute[samples.outcome != 0], minlength=12)
    t = np.arange(1200) / 20 + 60
    mean, variance = expected_profile(np.clip((t - 60) / 600, 0, 1))
    assert abs(failed[1] - mean) > 4.5 * math.sqrt(variance)


LATENCY_RAMP = """\
duration: 10m
seed: 5
upstreams:
  api:
    latency: 10ms
    timeline:
      - from: 0s
        to: 10m
        latency: {ramp}
    traffic: {{rate: 20/s, timeout: 30s}}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_fixed_latency_ramp_is_exact_per_request(engine: str) -> None:
    loaded = scenario(LATENCY_RAMP.format(ramp="{from: 50ms, to: 2s}"))
    samples = run(loaded, engine=engine).upstreams["api"].samples
    start = samples.start_ns.astype(np.int64)
    # 50 ms + 1950 ms · t / 10 m, rounded to whole nanoseconds, by the request's start.
    wanted = [round(50_000_000 + 1_950_000_000 * s / (10 * MINUTE)) for s in start.tolist()]
    assert samples.latency_ns.tolist() == wanted


def test_measured_percentiles_follow_a_lognormal_ramp() -> None:
    ramp = (
        "{from: {dist: lognormal, p50: 100ms, p95: 200ms}, to: {p50: 1s, p95: 2s, dist: lognormal}}"
    )
    samples = (
        run(scenario(LATENCY_RAMP.format(ramp=ramp)), engine="direct").upstreams["api"].samples
    )
    minute = samples.start_ns // MINUTE
    for m in range(10):
        latencies = samples.latency_ns[minute == m] / 1e6
        # At the minute's middle the ramp is at p50 = 100 + 900·(m + ½)/10 ms, p95 twice that.
        p50 = 100 + 90 * (m + 0.5)
        assert np.percentile(latencies, 50) == pytest.approx(p50, rel=0.05), m
        assert np.percentile(latencies, 95) == pytest.approx(2 * p50, rel=0.08), m


def test_a_repeating_phase_ramps_in_each_window_and_engines_agree() -> None:
    text = """\
    duration: 6m
    seed: 9
    upstreams:
      api:
        latency: {dist: uniform, min: 5ms, max: 15ms}
        timeline:
          - {from: 0s, for: 1m, every: 2m, times: 3, failure_rate: {from: 100%, to: 0%},
             latency: {from: {dist: uniform, min: 1s, max: 3s},
                       to: {dist: uniform, min: 5ms, max: 15ms}}}
        traffic: {rate: 10/s}
    """
    http, direct = (
        run(scenario(text), engine=e).to_dict(run_info=False) for e in ("http", "direct")
    )
    for result in (http, direct):
        result.pop("engine")
        result.pop("replay")
    assert http == direct
    samples = run(scenario(text), engine="direct").upstreams["api"].samples
    reached = samples.outcome >= 0
    into_window = samples.start_ns % (2 * MINUTE)
    failed = samples.outcome != 0
    early = reached & (into_window < 10 * SECOND)
    late = reached & (into_window >= 50 * SECOND) & (into_window < MINUTE)
    # Each window ramps 100% → 0% again: failures fall from ≥ 5/6 to ≤ 1/6 in each.
    assert failed[early].mean() > 0.8
    assert failed[late].mean() < 0.2
    assert early.sum() == late.sum() == 300


@pytest.mark.parametrize(
    ("setting", "where", "says"),
    [
        ("failure_rate: {from: 1%, to: 130%}", "failure_rate.to", "between 0% and 100%"),
        ("failure_rate: {from: -1%, to: 30%}", "failure_rate.from", "expected a rate"),
        ("failure_rate: {from: 1%, too: 30%}", "failure_rate.too", "did you mean 'to'?"),
        ("failure_rate: {from: 1%}", "failure_rate", "'to' is missing"),
        ("latency: {from: 50ms, to: -2s}", "latency.to", "cannot be negative"),
        ("latency: {from: 50ms, too: 2s}", "latency.too", "did you mean 'to'?"),
        ("latency: {from: 1ms, to: {dist: uniform, min: 1ms, max: 2ms}}", "latency", "same"),
        (
            "latency: {from: {dist: uniform, min: 1ms, mx: 2ms}, to: 3ms}",
            "latency.from.mx",
            "'max'",
        ),
    ],
)
def test_bad_ramps_are_located_errors(setting: str, where: str, says: str) -> None:
    text = f"duration: 9m\nupstreams:\n  u:\n    timeline: [{{from: 1m, to: 2m, {setting}}}]\n"
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    assert "test.yaml:4:" in str(caught.value)
    assert f"upstreams.u.timeline[0].{where}:" in str(caught.value)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "key", ["failure_rate: {from: 1%, to: 3%}", "latency: {from: 1ms, to: 3ms}"]
)
def test_a_ramp_outside_a_phase_says_where_it_belongs(key: str) -> None:
    with pytest.raises(ScenarioError, match=r"test.yaml:4:.*upstreams.u.\w+: a ramp .* timeline"):
        scenario(f"duration: 9m\nupstreams:\n  u:\n    {key}\n")


def test_the_memory_estimate_sizes_a_ramp_by_its_slower_end() -> None:
    from harness.format.budget import estimate_bytes

    def in_flight(latency: str) -> int:
        loaded = scenario(
            "duration: 1h\nengine: direct\nupstreams: {u: {traffic: {rate: 1000/s, timeout: 60s},"
            f" timeline: [{{from: 0s, to: 1m, latency: {latency}}}]}}}}"
        )
        return estimate_bytes(loaded)["u"][0]

    slow, fast = in_flight("30s"), in_flight("1ms")
    assert slow > fast
    assert in_flight("{from: 30s, to: 1ms}") == in_flight("{from: 1ms, to: 30s}") == slow


def test_the_schema_describes_ramps() -> None:
    from harness.format.loader import json_schema

    text = str(json_schema())
    assert "'rate_ramp'" in text or "RateRamp" in text
    assert "LatencyRamp" in text
