from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.events import Outcome
from harness.strategies import fault_profiles
from harness.upstreams.faults import NEVER, FaultSampler
from harness.upstreams.streams import stream
from tests.support import scenario

MS = 1_000_000


def sampler(text: str, seed: int = 1) -> FaultSampler:
    loaded = scenario(text)
    return FaultSampler(loaded.upstreams["u"], stream(seed, "u", "faults"))


def test_fixed_latency_is_exact() -> None:
    draws = sampler("duration: 1m\nupstreams: {u: {latency: 100ms}}")
    assert {draws.draw(t).latency_ns for t in range(1000)} == {100 * MS}


def test_uniform_latency_stays_in_bounds() -> None:
    draws = sampler("duration: 1m\nupstreams: {u: {latency: {dist: uniform, min: 5ms, max: 10ms}}}")
    values = [draws.draw(0).latency_ns for _ in range(5000)]
    assert 5 * MS <= min(values) < 5.1 * MS
    assert 9.9 * MS < max(values) <= 10 * MS


def test_lognormal_latency_has_the_requested_median_and_p95() -> None:
    draws = sampler(
        "duration: 1m\nupstreams: {u: {latency: {dist: lognormal, p50: 500ms, p95: 1200ms}}}"
    )
    values = sorted(draws.draw(0).latency_ns for _ in range(40_000))
    assert values[len(values) // 2] == pytest.approx(500 * MS, rel=0.03)
    assert values[int(len(values) * 0.95)] == pytest.approx(1200 * MS, rel=0.03)


def test_normal_latency_is_clamped_at_zero() -> None:
    draws = sampler(
        "duration: 1m\nupstreams: {u: {latency: {dist: normal, mean: 1ms, stddev: 5ms}}}"
    )
    assert min(draws.draw(0).latency_ns for _ in range(2000)) == 0


def test_failure_rate_and_error_mix_shares() -> None:
    draws = sampler(
        """\
        duration: 1m
        upstreams:
          u:
            latency: 10ms
            failure_rate: 30%
            errors: {503: 50%, timeout: 25%, connect_error: 25%}
        """
    )
    counts = Counter(draws.draw(0).outcome for _ in range(40_000))
    assert counts[Outcome.SUCCESS] / 40_000 == pytest.approx(0.70, abs=0.01)
    assert counts[Outcome.HTTP_ERROR] / 40_000 == pytest.approx(0.15, abs=0.01)
    assert counts[Outcome.TIMEOUT] / 40_000 == pytest.approx(0.075, abs=0.01)


def test_error_kinds_latency_and_status() -> None:
    draws = sampler(
        "duration: 1m\nupstreams: {u: {latency: 10ms, failure_rate: 100%, errors: {timeout: 100%}}}"
    )
    assert draws.draw(0).latency_ns == NEVER
    refused = sampler(
        "duration: 1m\nupstreams:\n"
        "  u: {latency: 10ms, failure_rate: 100%, errors: {connect_error: 100%}}"
    ).draw(0)
    assert (refused.outcome, refused.latency_ns, refused.status) == (Outcome.CONNECT_ERROR, 0, 0)
    http = sampler(
        "duration: 1m\nupstreams: {u: {latency: 10ms, failure_rate: 100%, errors: {429: 100%}}}"
    ).draw(0)
    assert (http.outcome, http.status, http.latency_ns) == (Outcome.HTTP_ERROR, 429, 10 * MS)


def test_phases_override_inside_their_window_and_later_phases_win() -> None:
    draws = sampler(
        """\
        duration: 10m
        upstreams:
          u:
            latency: 10ms
            timeline:
              - {from: 1m, to: 5m, failure_rate: 100%, errors: {503: 100%}}
              - {from: 2m, to: 3m, latency: 900ms, failure_rate: 0%}
        """
    )
    minute = 60 * 10**9
    assert draws.draw(0).outcome is Outcome.SUCCESS
    assert draws.draw(minute).outcome is Outcome.HTTP_ERROR
    both = draws.draw(2 * minute)
    assert (both.outcome, both.latency_ns) == (Outcome.SUCCESS, 900 * MS)
    assert draws.draw(3 * minute).outcome is Outcome.HTTP_ERROR  # `to` is exclusive
    assert draws.draw(5 * minute).outcome is Outcome.SUCCESS


def test_three_draws_per_request_keep_latencies_aligned_across_failure_rates() -> None:
    base = (
        "duration: 1m\nupstreams:\n"
        "  u:\n"
        "    latency: {{dist: uniform, min: 1ms, max: 9ms}}\n"
        "    failure_rate: {rate}\n"
        "    errors: {{503: 100%}}\n"
    )
    calm = sampler(base.format(rate="0%"))
    stormy = sampler(base.format(rate="60%"))
    assert [calm.draw(0).latency_ns for _ in range(500)] == [
        stormy.draw(0).latency_ns for _ in range(500)
    ]


@settings(max_examples=50)
@given(fault_profiles(), st.integers(0, 2**32))
def test_the_same_seed_gives_the_same_faults(profile: dict[str, object], seed: int) -> None:
    loaded = scenario("duration: 1m\nupstreams: {u: {}}").override(
        {f"upstreams.u.{key}": value for key, value in profile.items()}
    )
    first = FaultSampler(loaded.upstreams["u"], stream(seed, "u", "faults"))
    second = FaultSampler(loaded.upstreams["u"], stream(seed, "u", "faults"))
    assert [first.draw(t) for t in range(50)] == [second.draw(t) for t in range(50)]


def test_streams_differ_by_seed_upstream_and_purpose() -> None:
    def first_draws(rng: random.Random) -> list[float]:
        return [rng.random() for _ in range(3)]

    base = first_draws(stream(1, "u", "faults"))
    assert base == first_draws(stream(1, "u", "faults"))
    assert base != first_draws(stream(2, "u", "faults"))
    assert base != first_draws(stream(1, "v", "faults"))
    assert base != first_draws(stream(1, "u", "arrivals"))
