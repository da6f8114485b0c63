"""The built-in breaker as scenarios configure it: settings, their errors, their schema, and how
the guard counts each kind of answer — the same way in both engines.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from harness import BreakerState, ScenarioError, json_schema, load_scenario, run
from harness.breakers.adapters import BuiltinGuard
from harness.clock import VirtualClock
from harness.events import Outcome
from harness.format.breaker_settings import Breaker
from harness.format.breaker_warnings import breaker_warnings
from tests.support import SCENARIOS, scenario


def problems(breaker: str) -> list[str]:
    text = f"duration: 1m\nupstreams:\n  t1:\n    traffic: {{rate: 1/s}}\n    breaker: {breaker}\n"
    with pytest.raises(ScenarioError) as caught:
        scenario(text, "bad.yaml")
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (
            "{slow_call_rate_threshold: 150%}",
            "bad.yaml:5:41: upstreams.t1.breaker.slow_call_rate_threshold: a rate must lie "
            "between 0% and 100% (0 and 1), got '150%'",
        ),
        (
            "{slow_call_rate_threshold: 0%}",
            "bad.yaml:5:41: upstreams.t1.breaker.slow_call_rate_threshold: "
            "slow_call_rate_threshold must be above 0%, or the breaker never closes",
        ),
        (
            "{sliding_window_type: sliding}",
            "bad.yaml:5:36: upstreams.t1.breaker.sliding_window_type: expected 'count' or "
            "'time', got 'sliding'",
        ),
        (
            "{wait_duration_in_open_state: 0s}",
            "bad.yaml:5:44: upstreams.t1.breaker.wait_duration_in_open_state: "
            "wait_duration_in_open_state must be above zero",
        ),
        (
            "{exponential_backoff_multiplier: 2}",
            "bad.yaml:5:47: upstreams.t1.breaker.exponential_backoff_multiplier: "
            "exponential_backoff_multiplier has no effect unless enable_exponential_backoff is "
            "true",
        ),
        (
            "{enable_exponential_backoff: true, exponential_backoff_multiplier: 0.5}",
            "bad.yaml:5:81: upstreams.t1.breaker.exponential_backoff_multiplier: must be at "
            "least 1, got 0.5",
        ),
        (
            "{wait_duration_in_open_state: 30s, enable_exponential_backoff: true, "
            "exponential_max_wait_duration_in_open_state: 10s}",
            "bad.yaml:5:128: upstreams.t1.breaker.exponential_max_wait_duration_in_open_state: "
            "the cap (10s) is below wait_duration_in_open_state (30s)",
        ),
        (
            "{max_wait_duration_in_half_open_state: -5s}",
            "bad.yaml:5:53: upstreams.t1.breaker.max_wait_duration_in_half_open_state: a "
            "duration cannot be negative, got '-5s'",
        ),
        (
            "{record_errors: [503, timout]}",
            "bad.yaml:5:30: upstreams.t1.breaker.record_errors: unknown error 'timout'; did you "
            "mean 'timeout'? (expected an HTTP status 400-599, 4xx, 5xx, or one of timeout, "
            "connect_error, connection_reset)",
        ),
        (
            "{ignore_errors: 429}",
            "bad.yaml:5:30: upstreams.t1.breaker.ignore_errors: expected a list of HTTP "
            "statuses (503), status classes (5xx) or error kinds (timeout, connect_error, "
            "connection_reset), got 429",
        ),
        (
            "{record_errors: [503, 504], ignore_errors: [504]}",
            "bad.yaml:5:57: upstreams.t1.breaker.ignore_errors: 504 cannot be both recorded "
            "and ignored",
        ),
        (
            "{slow_call_duration_treshold: 2s}",
            "bad.yaml:5:15: upstreams.t1.breaker.slow_call_duration_treshold: unknown key "
            "'slow_call_duration_treshold'; did you mean 'slow_call_duration_threshold'?",
        ),
    ],
)
def test_bad_settings_are_located(breaker: str, expected: str) -> None:
    found = problems(breaker)
    assert any(problem.startswith(expected) for problem in found), found


@pytest.mark.parametrize(
    ("impl", "wait"),
    [
        ("pybreaker", "reset_timeout"),
        ("aiobreaker", "timeout_duration"),
        ("circuitbreaker", "recovery_timeout"),
        ("purgatory", "ttl"),
    ],
)
def test_every_library_refuses_a_zero_wait(impl: str, wait: str) -> None:
    found = problems(f"{{impl: {impl}, {wait}: 0s}}")
    assert len(found) == 1, found
    assert found[0].endswith(
        f"upstreams.t1.breaker.{wait}: must be above 0s: a breaker must wait in OPEN"
    )


def test_defaults_are_resilience4js() -> None:
    defaults = Breaker()
    assert (defaults.failure_rate_threshold, defaults.slow_call_rate_threshold) == (0.5, 1.0)
    assert defaults.slow_call_duration_threshold == 60 * 10**9
    assert (defaults.sliding_window_type, defaults.sliding_window_size) == ("count", 100)
    assert defaults.minimum_number_of_calls == 100
    assert defaults.wait_duration_in_open_state == 60 * 10**9
    assert not defaults.enable_exponential_backoff
    assert defaults.exponential_backoff_multiplier == 1.5
    assert defaults.permitted_number_of_calls_in_half_open_state == 10
    assert defaults.max_wait_duration_in_half_open_state == 0
    assert defaults.ignore_errors == ()


def test_error_selectors_are_normalised() -> None:
    config = Breaker.model_validate({"record_errors": [503, "5xx", "timeout"]})
    assert config.record_errors == ("503", "5xx", "timeout")


def test_the_schema_describes_every_setting_as_a_file_writes_it() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    properties = schema["$defs"]["Breaker"]["properties"]
    assert set(properties) == set(Breaker.model_fields)
    assert properties["slow_call_duration_threshold"]["default"] == "1m"
    assert properties["max_wait_duration_in_half_open_state"]["default"] == "0s"
    assert properties["sliding_window_type"]["enum"] == ["count", "time"]
    validator = jsonschema.Draft202012Validator(schema)

    def errors(breaker: dict[str, Any]) -> list[str]:
        data = {"duration": "1m", "upstreams": {"t1": {"breaker": breaker}}}
        return [error.message for error in validator.iter_errors(data)]

    assert errors({"record_errors": [503, "5xx", "timeout"], "ignore_errors": [429]}) == []
    assert errors({"slow_call_duration_threshold": "2s", "sliding_window_type": "time"}) == []
    assert errors({"record_errors": ["timout"]})
    assert errors({"record_errors": [200]})
    assert errors({"sliding_window_type": "sliding"})
    assert errors({"slow_call_duration_threshold": 2})


# -- how the guard counts each answer ------------------------------------------------------------


def guard(**settings: Any) -> BuiltinGuard:
    config = Breaker.model_validate(
        {"sliding_window_size": 10, "minimum_number_of_calls": 1, **settings}
    )
    return BuiltinGuard(config, "vertex", VirtualClock(), lambda *move: None)


@pytest.mark.parametrize(
    ("settings", "outcome", "status", "counted", "failed"),
    [
        ({}, Outcome.SUCCESS, 200, 1, 0),
        ({}, Outcome.HTTP_ERROR, 503, 1, 1),
        ({}, Outcome.TIMEOUT, 0, 1, 1),
        ({"ignore_errors": [429]}, Outcome.HTTP_ERROR, 429, 0, 0),
        ({"ignore_errors": ["4xx"]}, Outcome.HTTP_ERROR, 404, 0, 0),
        ({"ignore_errors": ["timeout"]}, Outcome.TIMEOUT, 0, 0, 0),
        ({"record_errors": [503]}, Outcome.HTTP_ERROR, 500, 1, 0),  # not recorded: a success
        ({"record_errors": ["5xx"]}, Outcome.HTTP_ERROR, 500, 1, 1),
        ({"record_errors": [503]}, Outcome.CONNECT_ERROR, 0, 1, 0),
        ({"record_errors": ["connect_error"]}, Outcome.CONNECT_ERROR, 0, 1, 1),
        ({"record_errors": ["5xx"], "ignore_errors": [503]}, Outcome.HTTP_ERROR, 503, 0, 0),
    ],
)
def test_each_answer_counts_as_the_settings_say(
    settings: dict[str, Any], outcome: Outcome, status: int, counted: int, failed: int
) -> None:
    subject = guard(failure_rate_threshold="100%", **settings)
    assert subject.try_acquire()
    subject.on_result(outcome, status, 0)
    metrics = subject.breaker.metrics()
    assert (metrics.calls, metrics.failures) == (counted, failed)


OUTAGE = """\
duration: 2m
engine: {engine}
upstreams:
  vertex:
    latency: 20ms
    failure_rate: 100%
    errors: {errors}
    traffic: {{rate: 5/s, timeout: 1s}}
    breaker:
      sliding_window_size: 10
      minimum_number_of_calls: 5
      wait_duration_in_open_state: 10s
      {settings}
"""


@pytest.mark.parametrize(
    ("errors", "settings", "opens"),
    [
        ("{429: 100%}", "", True),
        ("{429: 100%}", "ignore_errors: [429]", False),
        ("{500: 100%}", "record_errors: [503]", False),
        ("{500: 100%}", "record_errors: [5xx]", True),
        ("{timeout: 100%}", "ignore_errors: [timeout]", False),
        ("{connection_reset: 100%}", "record_errors: [timeout, connection_reset]", True),
    ],
)
def test_both_engines_count_each_answer_the_same_way(
    errors: str, settings: str, opens: bool
) -> None:
    results = [
        run(scenario(OUTAGE.format(engine=engine, errors=errors, settings=settings)))
        for engine in ("http", "direct")
    ]
    summaries = [result.upstreams["vertex"].breaker for result in results]
    assert summaries[0] == summaries[1]
    assert summaries[0] is not None
    assert (summaries[0].opens > 0) is opens


def test_an_upstream_slower_than_the_threshold_opens_the_breaker_in_both_engines() -> None:
    text = OUTAGE.format(
        engine="http",
        errors="{500: 100%}",
        settings="slow_call_duration_threshold: 500ms\n      slow_call_rate_threshold: 80%",
    )
    slow = scenario(text).override(
        {"upstreams.vertex.failure_rate": "0%", "upstreams.vertex.latency": "501ms"}
    )
    http, direct = run(slow, engine="http"), run(slow, engine="direct")
    breaker = http.upstreams["vertex"].breaker
    assert breaker is not None
    assert breaker == direct.upstreams["vertex"].breaker
    assert breaker.transitions[0].target is BreakerState.OPEN
    at_threshold = slow.override({"upstreams.vertex.latency": "500ms"})  # not slow: > only
    assert run(at_threshold, engine="direct").upstreams["vertex"].breaker.opens == 0  # type: ignore[union-attr]


def test_the_slow_brownout_scenario_opens_on_slow_calls_alone() -> None:
    result = run(load_scenario(SCENARIOS / "vertex-slow-brownout.yaml"), engine="direct")
    vertex = result.upstreams["vertex"]
    assert result.passed
    assert set(vertex.samples.outcome.tolist()) == {Outcome.SUCCESS, Outcome.SHORT_CIRCUITED}
    assert vertex.breaker is not None
    waits = [
        (reopen.at_ns - opened.at_ns) // 10**9
        for opened, reopen in itertools.pairwise(vertex.breaker.transitions)
        if opened.target is BreakerState.OPEN
    ]
    assert waits == [20, 40, 80, 120]  # exponential backoff, capped at 2m


FLAKY_HALF_OPEN = """\
duration: 30s
seed: {seed}
engine: direct
upstreams:
  vertex:
    latency: 50ms
    failure_rate: 50%
    errors: {{503: 100%}}
    traffic: {{rate: 2/s}}
    breaker:
      sliding_window_size: 2
      minimum_number_of_calls: 2
      wait_duration_in_open_state: 1s
      permitted_number_of_calls_in_half_open_state: 4
      max_wait_duration_in_half_open_state: 300ms
"""


@pytest.mark.parametrize("seed", range(12))
def test_the_timeline_ends_honestly_with_no_half_open_spell_past_its_max_wait(seed: int) -> None:
    result = run(scenario(FLAKY_HALF_OPEN.format(seed=seed)))
    summary = result.upstreams["vertex"].breaker
    assert summary is not None
    spells = [(move.at_ns, move.target) for move in summary.transitions]
    ends = [at for at, _ in spells[1:]] + [result.end_ns]
    for (began, state), ended in zip(spells, ends, strict=True):
        if state is BreakerState.HALF_OPEN:
            assert ended - began <= 300_000_000, f"HALF_OPEN from {began} to {ended}"
    assert sum(summary.time_in_state_ns.values()) == result.end_ns


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (
            "{sliding_window_type: time, sliding_window_size: 5, minimum_number_of_calls: 20}",
            "upstreams.t1.breaker.minimum_number_of_calls: at 2/s a 5 s time window holds about "
            "10 calls, fewer than 20: the breaker can never open (bursts aside)",
        ),
        (
            "{sliding_window_size: 5, minimum_number_of_calls: 20}",
            "upstreams.t1.breaker.minimum_number_of_calls: a count window of 5 calls never holds "
            "20; the breaker decides from 5 calls on (as resilience4j does)",
        ),
    ],
)
def test_settings_that_cannot_work_are_warned_of(breaker: str, expected: str) -> None:
    text = f"duration: 1m\nupstreams:\n  t1:\n    traffic: {{rate: 2/s}}\n    breaker: {breaker}\n"
    assert breaker_warnings(scenario(text)) == [expected]


@pytest.mark.parametrize(
    "breaker",
    [
        "{sliding_window_type: time, sliding_window_size: 10, minimum_number_of_calls: 20}",
        "{sliding_window_size: 20, minimum_number_of_calls: 20}",
        "{impl: pybreaker}",
    ],
)
def test_settings_that_can_work_are_not_warned_of(breaker: str) -> None:
    text = f"duration: 1m\nupstreams:\n  t1:\n    traffic: {{rate: 2/s}}\n    breaker: {breaker}\n"
    assert breaker_warnings(scenario(text)) == []


def test_no_shipped_scenario_has_a_breaker_that_cannot_work() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        assert breaker_warnings(load_scenario(path)) == [], path.name
