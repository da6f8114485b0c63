"""Concurrency finds real faults: the same scenario run through every breaker, and the harness
reporting what each one does with overlapping calls.

- Stampede: 20 callers arrive together just after the OPEN wait ends.
- Late failures: calls admitted before the trip fail after it (a failure while OPEN).
- Late successes: calls admitted before the trip succeed after it.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness import run
from harness.verdicts.expectation_checks import ExpectationVerdict
from tests.breaker_promises import (
    builtin_ready,
    closed_without_trial_success,
    promise,
    wait_restarted,
)
from tests.support import scenario

IMPLS = ("builtin", "pybreaker", "aiobreaker", "circuitbreaker", "purgatory")


def breaker(impl: str, threshold: int, wait: str) -> str:
    """Return breaker settings opening after ``threshold`` consecutive failures, for ``wait``."""
    return {
        "builtin": (
            f"{{sliding_window_size: {threshold}, minimum_number_of_calls: {threshold}, "
            f"failure_rate_threshold: 100%, wait_duration_in_open_state: {wait}, "
            "permitted_number_of_calls_in_half_open_state: 1}"
        ),
        "pybreaker": f"{{impl: pybreaker, fail_max: {threshold}, reset_timeout: {wait}}}",
        "aiobreaker": f"{{impl: aiobreaker, fail_max: {threshold}, timeout_duration: {wait}}}",
        "circuitbreaker": (
            f"{{impl: circuitbreaker, failure_threshold: {threshold}, recovery_timeout: {wait}}}"
        ),
        "purgatory": f"{{impl: purgatory, threshold: {threshold}, ttl: {wait}}}",
    }[impl]


# Vertex fails every call for 10 s; the breaker opens at 4.01s (5th failure). 30 s later, at
# 34.5s — before the next steady call at 35s — 20 callers arrive at once at a recovered Vertex.
STAMPEDE = """
duration: 40s
upstreams:
  vertex:
    latency: 500ms
    timeline:
      - {name: outage, from: 0s, to: 10s, failure_rate: 100%, latency: 10ms, errors: {503: 100%}}
    traffic: {rate: 1/s, bursts: [{at: 34.5s, requests: 20}]}
    breaker: BREAKER
    expect:
      - opens: {within: 4.01s, after_start_of: outage}
      - half_open_trials: {at_most: 1}
      - no_upstream_calls_while_open
"""


def trial_verdict(result: Any) -> ExpectationVerdict:
    verdicts = result.upstreams["vertex"].expectations
    return next(v for v in verdicts if v.check == "half_open_trials")


@pytest.mark.parametrize("engine", ["http", "direct"])
@pytest.mark.parametrize("impl", IMPLS)
def test_a_stampede_after_the_wait_is_reported_for_every_library_but_not_the_builtin(
    impl: str, engine: str
) -> None:
    result = run(scenario(STAMPEDE.replace("BREAKER", breaker(impl, 5, "30s"))), engine=engine)
    verdict = trial_verdict(result)
    if impl == "builtin":  # resilience4j's semantics: the permitted number, taken synchronously
        assert (verdict.passed, verdict.observed) == (True, 1.0)
        assert result.passed
        return
    # pybreaker too: its lock serialises calls only inside call(); under asyncio it admits all.
    assert (verdict.passed, verdict.observed) == (False, 20.0)
    assert verdict.note == (
        "1 HALF_OPEN episode(s); the one from 34.5s admitted 20 trial call(s), all at 34.5s"
    )
    assert not result.passed
    text = result.failure_text()
    assert "FAIL  vertex: expect HALF_OPEN admits at most 1 trial call(s)  observed 20" in text
    assert "PASS  vertex: expect no upstream calls while OPEN" in text


# Vertex stops answering from 0.5s (the client gives up after 2s); calls every 100 ms. The first
# three time out at 2.5s–2.7s and open the breaker; the 19 calls admitted before that (sent
# 0.8s–2.6s) time out one by one until 4.6s: failures while OPEN.
LATE_FAILURES = """
duration: 8s
upstreams:
  vertex:
    latency: 50ms
    timeline: [{from: 500ms, to: 5s, failure_rate: 100%, errors: {timeout: 100%}}]
    traffic: {rate: 10/s, timeout: 2s}
    breaker: BREAKER
"""
RESTARTS = {"pybreaker", "aiobreaker", "circuitbreaker"}


@pytest.mark.parametrize("impl", IMPLS)
def test_late_failures_restart_the_wait_of_pybreaker_aiobreaker_and_circuitbreaker(
    impl: str,
) -> None:
    loaded = scenario(LATE_FAILURES.replace("BREAKER", breaker(impl, 3, "1s")))
    result = run(loaded, engine="direct")
    config = loaded.upstreams["vertex"].breaker
    ready = builtin_ready(config) if impl == "builtin" else promise(config).ready
    found = wait_restarted(result, "vertex", ready)
    if impl in RESTARTS:
        assert found == "the OPEN wait restarted at 2800000000 ns"
        half_open = [m.at_ns for m in result.upstreams["vertex"].breaker.transitions][-2]
        assert half_open == 5_600_000_000  # 1s after the last late failure, not after the trip
    else:
        assert found is None


# Calls take 2 s. At 3s Vertex refuses six calls at once: the breaker opens. At 3.6s a trial is
# let through (wait 500 ms) and fails slowly (at 4.6s); meanwhile the call sent at 2s, admitted
# while CLOSED, succeeds at 4s, and the one sent at 4s, admitted in HALF_OPEN, at 6s.
LATE_SUCCESSES = """
duration: 10s
upstreams:
  vertex:
    latency: 2s
    timeline:
      - {from: 3s, to: 3001ms, failure_rate: 100%, errors: {connect_error: 100%}}
      - {from: 3600ms, to: 3700ms, failure_rate: 100%, latency: 1s, errors: {503: 100%}}
    traffic: {rate: 1/s, timeout: 5s, bursts: [{at: 3s, requests: 5}, {at: 3600ms, requests: 1}]}
    breaker: BREAKER
"""
CLOSES_WITHOUT_ITS_TRIAL = {
    "builtin": None,
    # A trial of the episode that failed succeeds late and closes the OPEN breaker.
    "pybreaker": "OPEN → CLOSED at 6000000000 ns, not from HALF_OPEN",
    "aiobreaker": "OPEN → CLOSED at 6000000000 ns, not from HALF_OPEN",
    # Any success closes it, whichever state admitted the call.
    "circuitbreaker": (
        "HALF_OPEN (from 3600000000 ns) → CLOSED at 4000000000 ns with 0 successful trial "
        "call(s) of its own answered by then"
    ),
    "purgatory": (
        "HALF_OPEN (from 3600000000 ns) → CLOSED at 4000000000 ns with 0 successful trial "
        "call(s) of its own answered by then"
    ),
}


@pytest.mark.parametrize("impl", IMPLS)
def test_late_successes_close_every_library_without_its_own_trial(impl: str) -> None:
    loaded = scenario(LATE_SUCCESSES.replace("BREAKER", breaker(impl, 3, "500ms")))
    result = run(loaded, engine="direct")
    assert closed_without_trial_success(result, "vertex", 1) == CLOSES_WITHOUT_ITS_TRIAL[impl]
