from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings

from harness import BreakerState, Outcome, load_scenario, run
from harness.cli import main
from harness.strategies import scenarios
from tests.support import SCENARIOS, scenario

SECOND = 10**9


def test_fixed_latency_constant_rate_gives_exact_counts_and_percentiles() -> None:
    result = run(
        scenario(
            """\
            duration: 60s
            upstreams:
              u:
                latency: 100ms
                traffic: {rate: 10/s}
                slo: [p95 <= 100ms, p95 >= 100ms, success_rate == 100%, requests == 600]
            """
        )
    )
    upstream = result.upstreams["u"]
    assert len(upstream.samples) == 600
    assert upstream.client.latency is not None
    assert upstream.client.latency.p95_ms == 100.0
    assert upstream.client.latency.max_ms == 100.0
    assert result.passed
    assert result.end_ns == 60 * SECOND  # the last request (59.9 s) answers at 60 s


def test_requests_overlap_in_flight() -> None:
    result = run(
        scenario(
            """\
            duration: 10s
            upstreams:
              u: {latency: 1s, traffic: {rate: 10/s}}
            """
        )
    )
    samples = result.upstreams["u"].samples
    assert len(samples) == 100
    assert result.end_ns == 10_900_000_000  # 99 arrivals × 100 ms + 1 s, not 100 × 1 s
    assert max(result.upstreams["u"].timeseries.in_flight) == 10


def test_an_answer_frees_its_slot_before_an_arrival_at_the_same_instant() -> None:
    result = run(
        scenario(
            """\
            duration: 10s
            upstreams:
              u: {latency: 100ms, traffic: {rate: 10/s, concurrency: 1}}
            """
        )
    )
    assert result.upstreams["u"].samples.outcome_counts()["dropped"] == 0


def test_arrivals_over_the_concurrency_cap_are_dropped_and_count_as_client_failures() -> None:
    result = run(
        scenario(
            """\
            duration: 10s
            upstreams:
              u: {latency: 250ms, traffic: {rate: 10/s, concurrency: 2}}
            """
        )
    )
    upstream = result.upstreams["u"]
    counts = upstream.samples.outcome_counts()
    assert counts["dropped"] > 0
    assert counts["dropped"] + counts["success"] == 100
    assert upstream.client.success_rate == counts["success"] / 100
    assert upstream.upstream.success_rate == 1.0
    assert upstream.reached_upstream == counts["success"]


def test_latency_beyond_the_client_timeout_is_a_timeout_at_the_timeout() -> None:
    result = run(
        scenario(
            """\
            duration: 1s
            upstreams:
              u:
                latency: 3s
                traffic: {rate: 5/s, timeout: 2s}
                failure_rate: 0%
              v:
                latency: 10ms
                failure_rate: 100%
                errors: {timeout: 100%}
                traffic: {rate: 5/s, timeout: 500ms}
            """
        )
    )
    for name, expected_ms in (("u", 2000), ("v", 500)):
        samples = result.upstreams[name].samples
        assert set(samples.outcome.tolist()) == {Outcome.TIMEOUT}
        assert set((samples.latency_ns / 1e6).tolist()) == {expected_ms}


def test_injected_errors_reach_the_client_as_the_matching_outcomes() -> None:
    result = run(
        scenario(
            """\
            duration: 20s
            upstreams:
              u:
                latency: 5ms
                failure_rate: 100%
                errors: {503: 25%, connect_error: 25%, connection_reset: 25%, 429: 25%}
                traffic: {rate: 50/s}
            """
        )
    )
    samples = result.upstreams["u"].samples
    counts = samples.outcome_counts()
    assert counts["http_error"] + counts["connect_error"] + counts["connection_reset"] == 1000
    assert set(samples.status[samples.outcome == Outcome.HTTP_ERROR].tolist()) == {429, 503}
    refused = samples.latency_ns[samples.outcome == Outcome.CONNECT_ERROR]
    assert refused.size
    assert set(refused.tolist()) == {0}


OUTAGE = """\
duration: 5m
seed: 11
upstreams:
  vertex:
    latency: 50ms
    timeline:
      - {name: outage, from: 1m, to: 2m, failure_rate: 100%, errors: {503: 100%}}
    traffic: {rate: 5/s}
    breaker:
      failure_rate_threshold: 50%
      sliding_window_size: 10
      minimum_number_of_calls: 10
      wait_duration_in_open_state: 20s
      permitted_number_of_calls_in_half_open_state: 2
    slo: [final_state == CLOSED, opens >= 1]
"""


def test_an_outage_opens_the_breaker_which_recovers_after_it() -> None:
    seen: list[tuple[str, int, BreakerState, BreakerState]] = []
    result = run(scenario(OUTAGE), on_transition=lambda *args: seen.append(args))
    upstream = result.upstreams["vertex"]
    assert upstream.breaker is not None
    moves = upstream.breaker.transitions
    assert [(m.source, m.target) for m in moves][:2] == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
    ]
    assert 60 * SECOND < moves[0].at_ns < 65 * SECOND  # 10 failed calls at 5/s: 2 s
    assert moves[-1].target is BreakerState.CLOSED
    assert 120 * SECOND <= moves[-1].at_ns < 145 * SECOND  # the first probe after the outage
    assert seen == [("vertex", m.at_ns, m.source, m.target) for m in moves]
    assert upstream.samples.outcome_counts()["short_circuited"] > 0
    assert result.passed


def test_no_request_reaches_the_upstream_while_open() -> None:
    result = run(scenario(OUTAGE))
    upstream = result.upstreams["vertex"]
    samples = upstream.samples
    reached = samples.outcome != Outcome.SHORT_CIRCUITED
    assert not np.any(samples.state[reached] == BreakerState.OPEN)
    assert np.all(samples.state[~reached] == BreakerState.OPEN)
    assert upstream.reached_upstream == int(reached.sum())


def test_a_scenario_that_must_fail_fails() -> None:
    loaded = load_scenario(SCENARIOS / "vertex-flaky.yaml").override(
        {"upstreams.vertex.slo": ["success_rate >= 90%", "upstream.success_rate >= 66%"]}
    )
    result = run(loaded)
    assert not result.passed
    [(name, verdict)] = result.failures
    assert name == "vertex"
    assert verdict.objective.text == "success_rate >= 90%"
    assert isinstance(verdict.observed, float)
    assert 0.6 < verdict.observed < 0.75
    text = result.failure_text()
    assert "FAIL  vertex: success_rate >= 90%" in text
    assert "PASS  vertex: upstream.success_rate >= 66%" in text


def test_the_same_seed_gives_identical_json_and_another_seed_differs() -> None:
    # On the direct engine: the HTTP engine gives the same Result on the shipped scenarios
    # (tests/test_engines.py), so it is as deterministic, without running it three more times.
    loaded = load_scenario(SCENARIOS / "vertex-outage-recovery.yaml").override({"duration": "9m"})
    first = run(loaded, engine="direct").to_json(run_info=False)
    assert first == run(loaded, engine="direct").to_json(run_info=False)
    assert first != run(loaded, seed=loaded.seed + 1, engine="direct").to_json(run_info=False)
    assert "run_info" in run(loaded, engine="direct").to_dict()
    assert "run_info" not in json.loads(first)


def test_the_same_seed_gives_identical_json_in_another_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = SCENARIOS / "vertex-flaky.yaml"
    outputs = []
    for index in range(2):  # this process (its own hash seed), then one with PYTHONHASHSEED=1
        target = tmp_path / f"run{index}.json"
        arguments = ["run", str(path), "--json", str(target), "--no-run-info"]
        if index == 0:
            assert main(arguments) == 0
        else:
            subprocess.run(
                [sys.executable, "-m", "harness", *arguments],
                check=True,
                capture_output=True,
                env={"PYTHONHASHSEED": "1", "PATH": ""},
            )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    in_process = run(load_scenario(path)).to_dict(run_info=False)
    from_file = json.loads(outputs[0])["results"][0]
    from_file["scenario"]["file"] = from_file["scenario"]["sha256"] = None
    from_file["replay"] = in_process["replay"]
    for upstream in from_file["upstreams"].values():  # lines in the file: only a file has them
        for check in [*upstream["objectives"], *upstream["expectations"]]:
            assert isinstance(check.pop("line"), int)
    assert from_file == in_process


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_duration_s=15, max_rate_per_s=10))
def test_any_scenario_is_deterministic(generated) -> None:  # type: ignore[no-untyped-def]
    assert run(generated).to_json(run_info=False) == run(generated).to_json(run_info=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_duration_s=15, max_rate_per_s=10))
def test_every_request_is_accounted_for(generated) -> None:  # type: ignore[no-untyped-def]
    result = run(generated)
    for name, upstream in result.upstreams.items():
        samples = upstream.samples
        assert samples.outcome_counts()["dropped"] + upstream.reached_upstream + int(
            np.count_nonzero(samples.outcome == Outcome.SHORT_CIRCUITED)
        ) == len(samples)
        assert np.all(samples.latency_ns >= 0)
        assert np.all(samples.start_ns < generated.duration)
        if upstream.client.latency is not None:
            assert upstream.client.latency.p95_ms <= upstream.client.latency.max_ms
        reached = (samples.outcome != Outcome.SHORT_CIRCUITED) & (
            samples.outcome != Outcome.DROPPED
        )
        assert not np.any(samples.state[reached] == BreakerState.OPEN), name


def test_an_upstream_without_any_arrival_does_not_end_the_run_early() -> None:
    result = run(
        scenario(
            """\
            duration: 1s
            seed: 7
            upstreams:
              quiet: {traffic: {rate: 1/h, arrivals: poisson}}
              busy: {latency: 5ms, traffic: {rate: 10/s}}
            """
        )
    )
    assert len(result.upstreams["quiet"].samples) == 0
    assert len(result.upstreams["busy"].samples) == 10


def test_breaker_expectations_over_zero_requests_fail() -> None:
    result = run(
        scenario(
            """\
            duration: 1s
            upstreams:
              v:
                traffic: {rate: 1/h, arrivals: poisson}
                breaker: {}
                expect: [no_upstream_calls_while_open, {time_open: {at_most: 1s}}]
            """
        )
    )
    verdicts = result.upstreams["v"].expectations
    assert [(v.passed, v.note) for v in verdicts] == [(False, "no requests were sent")] * 2
