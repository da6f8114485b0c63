"""Every breaker under test, in scenarios hypothesis generates, held to what it promises.

- Calls that never overlap: each library does exactly what its documentation describes, to the
  microsecond (the reference model in tests/breaker_promises.py).
- Overlapping calls: the invariants each library keeps are checked on any generated scenario;
  where a library breaks one, tests/test_adapters_findings.py shows it with a fixed scenario.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import Result, run
from harness.format.loader import scenario_from_data
from harness.strategies import error_mixes, library_breakers, scenario_data
from tests.breaker_promises import (
    builtin_ready,
    check_promise,
    closed_without_trial_success,
    promise,
    upstream_call_while_open,
    wait_restarted,
)
from tests.support import examples

LIBRARIES = ("pybreaker", "aiobreaker", "circuitbreaker", "purgatory")
WAIT_KEY = {
    "pybreaker": "reset_timeout",
    "aiobreaker": "timeout_duration",
    "circuitbreaker": "recovery_timeout",
    "purgatory": "ttl",
}
FAST = settings(
    max_examples=examples(deep=40, fast=15),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def sequential_scenarios(draw: st.DrawFn, impl: str) -> Any:
    """Scenarios whose calls never overlap: every answer (or timeout) comes before the next
    arrival. Answers take a whole number of ms and waits are often chosen so that a call
    arrives exactly at the end of the wait (or 1 ms either side): the libraries' boundaries."""
    rate = draw(st.sampled_from([1, 2, 4, 5, 10]))
    gap_ms = 1000 // rate
    latency_ms = draw(st.integers(0, gap_ms // 2))
    on_boundary = st.tuples(st.integers(1, 6), st.sampled_from([0, 0, -1, 1])).map(
        lambda pair: max(1, pair[0] * gap_ms - latency_ms + pair[1])
    )
    wait_ms = draw(st.one_of(st.integers(1, 4 * gap_ms), on_boundary, on_boundary))
    breaker = draw(library_breakers((impl,)))
    breaker[WAIT_KEY[impl]] = f"{wait_ms}ms"
    errors = st.sampled_from(
        [{"503": "100%"}, {"connect_error": "100%"}, {"500": "50%", "timeout": "50%"}]
    )
    outage_from = draw(st.integers(0, 5_000))
    data = {
        "name": "sequential",
        "seed": draw(st.integers(0, 2**32)),
        "duration": f"{draw(st.integers(outage_from + 1_000, 20_000))}ms",
        "engine": "direct",
        "upstreams": {
            "vertex": {
                "latency": f"{latency_ms}ms",
                "failure_rate": f"{draw(st.sampled_from([0, 20, 50, 80]))}%",
                "errors": draw(st.one_of(errors, error_mixes())),
                "timeline": [
                    {
                        "from": f"{outage_from}ms",
                        "to": f"{outage_from + draw(st.integers(1, 1_000))}ms",
                        "failure_rate": "100%",
                    }
                ],
                "traffic": {"rate": f"{rate}/s", "timeout": f"{gap_ms - 1}ms"},
                "breaker": breaker,
            }
        },
    }
    return scenario_from_data(data, "<generated>")


@pytest.mark.parametrize("impl", LIBRARIES)
@FAST
@given(data=st.data())
def test_without_overlap_each_library_does_what_it_promises(impl: str, data: st.DataObject) -> None:
    scenario = data.draw(sequential_scenarios(impl))
    result = run(scenario)
    check_promise(result, "vertex")
    assert upstream_call_while_open(result, "vertex") is None
    ready = promise(scenario.upstreams["vertex"].breaker).ready
    assert wait_restarted(result, "vertex", ready) is None


def overlapping(impls: tuple[str, ...]) -> Any:
    """Generated scenarios with one upstream guarded by one of ``impls``; calls overlap."""
    return scenario_data(
        max_duration_s=20,
        max_upstreams=1,
        max_rate_per_s=15,
        breaker_settings=library_breakers(impls, max_wait_ms=5_000),
    ).map(lambda data: scenario_from_data({**data, "engine": "direct"}, "<generated>"))


def only(result: Result) -> str:
    return next(iter(result.upstreams))


@FAST
@given(overlapping(LIBRARIES))
def test_no_library_lets_a_call_through_while_open(scenario: Any) -> None:
    result = run(scenario)
    assert upstream_call_while_open(result, only(result)) is None


@FAST
@given(overlapping(("purgatory",)))
def test_purgatory_never_restarts_its_wait(scenario: Any) -> None:
    result = run(scenario)
    name = only(result)
    ready = promise(scenario.upstreams[name].breaker).ready
    assert wait_restarted(result, name, ready) is None


@FAST
@given(
    scenario_data(max_duration_s=20, max_upstreams=1, max_rate_per_s=15).map(
        lambda data: scenario_from_data({**data, "engine": "direct"}, "<generated>")
    )
)
def test_the_builtin_breaker_keeps_every_invariant(scenario: Any) -> None:
    result = run(scenario)
    name = only(result)
    breaker = scenario.upstreams[name].breaker
    if breaker is None:
        return
    assert upstream_call_while_open(result, name) is None
    moves = result.upstreams[name].breaker.transitions
    assert wait_restarted(result, name, builtin_ready(breaker, moves)) is None
    assert closed_without_trial_success(result, name, 1) is None
