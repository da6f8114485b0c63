"""Breaker expectations: their YAML syntax, located errors, verdicts and failure messages."""

from __future__ import annotations

import textwrap
from typing import Any

import jsonschema
import pytest
import yaml

from harness import ScenarioError, json_schema, run
from harness.cli import main
from harness.format.expectations import (
    Closes,
    HalfOpenTrials,
    NoUpstreamCallsWhileOpen,
    OpenEpisodes,
    Opens,
    TimeOpen,
    Transitions,
)
from harness.verdicts.episodes import glob_match
from tests.support import SCENARIOS, scenario

# The breaker opens after 4 failures in a row and waits 5s. Vertex fails every call in
# 10s–20s: OPEN at 11.51s, a failed trial at 17s (OPEN again at 17.01s), a good one at 22.5s
# answered at 22.6s: CLOSED.
BASE = """
duration: 60s
engine: direct
upstreams:
  vertex:
    latency: 100ms
    timeline:
      - {name: outage, from: 10s, to: 20s, failure_rate: 100%, latency: 10ms}
      - {name: calm, from: 40s, to: 50s}
    traffic: {rate: 2/s}
    breaker:
      sliding_window_size: 4
      minimum_number_of_calls: 4
      failure_rate_threshold: 100%
      wait_duration_in_open_state: 5s
      permitted_number_of_calls_in_half_open_state: 1
"""


def with_expect(*items: str, base: str = BASE) -> Any:
    lines = "".join(f"      - {item}\n" for item in items)
    return scenario(f"{base}    expect:\n{lines}", "vertex.yaml")


def verdicts(*items: str, base: str = BASE) -> list[Any]:
    return list(run(with_expect(*items, base=base)).upstreams["vertex"].expectations)


def problems(*items: str, base: str = BASE) -> str:
    with pytest.raises(ScenarioError) as caught:
        with_expect(*items, base=base)
    return str(caught.value)


def test_every_form_is_read() -> None:
    loaded = with_expect(
        "opens: {within: 1s, after_start_of: outage}",
        "closes: {within: 2.5s, after_end_of: outage}",
        "no_upstream_calls_while_open",
        "no_upstream_calls_while_open: true",
        "half_open_trials: {at_most: 3}",
        "open_episodes: 2",
        "open_episodes: {min: 1}",
        "time_open: {at_most: 4m}",
        "transitions: [closed, OPEN, ..., Closed]",
    )
    expect = loaded.upstreams["vertex"].expect
    assert [type(item) for item in expect] == [
        Opens,
        Closes,
        NoUpstreamCallsWhileOpen,
        NoUpstreamCallsWhileOpen,
        HalfOpenTrials,
        OpenEpisodes,
        OpenEpisodes,
        TimeOpen,
        Transitions,
    ]
    assert [item.text for item in expect] == [
        "opens within 1s after 'outage' starts",
        "closes within 2.5s after 'outage' ends",
        "no upstream calls while OPEN",
        "no upstream calls while OPEN",
        "HALF_OPEN admits at most 3 trial call(s)",
        "OPEN episodes exactly 2",
        "OPEN episodes at least 1",
        "time OPEN at most 4m",
        "transitions CLOSED → OPEN → … → CLOSED",
    ]


def test_override_keeps_expectations_and_breakers() -> None:
    loaded = with_expect("open_episodes: {min: 1, max: 3}", "time_open: {at_most: 1500ms}")
    again = loaded.override({"seed": 3})
    assert again.upstreams["vertex"].expect == loaded.upstreams["vertex"].expect
    assert again.upstreams["vertex"].breaker == loaded.upstreams["vertex"].breaker


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            "opens: {within: 1s, after_start_of: outgae}",
            "vertex.yaml:18:45: upstreams.vertex.expect[0].opens.after_start_of: no phase named "
            "'outgae' in this upstream's timeline; did you mean 'outage'? (named phases: calm, "
            "outage)",
        ),
        (
            "closes: {within: 1s}",
            "vertex.yaml:18:17: upstreams.vertex.expect[0].closes: give exactly one of "
            "after_start_of or after_end_of (a phase name)",
        ),
        (
            "open: {within: 1s, after_start_of: outage}",
            "vertex.yaml:18:9: upstreams.vertex.expect[0].open: unknown expectation 'open'; did "
            "you mean 'opens'? (known: opens, closes, no_upstream_calls_while_open, "
            "half_open_trials, open_episodes, time_open, transitions, alert_fires, "
            "no_alert_during)",
        ),
        (
            "half_open_trials: {at_most: 1, per: episode}",
            "vertex.yaml:18:40: upstreams.vertex.expect[0].half_open_trials.per: unknown key "
            "'per' (allowed here: at_most)",
        ),
        (
            "transitions: [CLOSED, OPNE]",
            "vertex.yaml:18:31: upstreams.vertex.expect[0].transitions[1]: expected 'CLOSED', "
            "'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'DISABLED' or '...', got 'OPNE'",
        ),
        (
            "open_episodes: {min: 3, max: 1}",
            "vertex.yaml:18:24: upstreams.vertex.expect[0].open_episodes: min (3) is above max (1)",
        ),
        (
            "time_open: {at_most: 4}",
            "vertex.yaml:18:30: upstreams.vertex.expect[0].time_open.at_most: expected a "
            "duration like 500ms, 2s, 10m or 1h30m, got 4 (the unit is required)",
        ),
    ],
)
def test_mistakes_are_located(item: str, expected: str) -> None:
    assert problems(item) == expected


def test_a_phase_name_must_name_one_phase() -> None:
    twice = BASE.replace("name: calm", "name: outage")
    assert problems("closes: {within: 1s, after_end_of: outage}", base=twice).endswith(
        "upstreams.vertex.expect[0].closes.after_end_of: 2 phases of the timeline are named "
        "'outage'; give them distinct names"
    )


def test_expectations_need_a_breaker() -> None:
    without = BASE[: BASE.index("    breaker:")]
    assert problems("no_upstream_calls_while_open", base=without) == (
        "vertex.yaml:12:7: upstreams.vertex.expect: expectations need a breaker, and this "
        "upstream has none"
    )


def test_the_json_schema_accepts_every_form_and_rejects_unknown_checks() -> None:
    schema = json_schema()
    data = yaml.safe_load(
        BASE
        + textwrap.dedent(
            """
            expect:
              - opens: {within: 1s, after_start_of: outage}
              - no_upstream_calls_while_open
              - transitions: [CLOSED, ..., CLOSED]
            """
        ).replace("\n", "\n    ")
    )
    jsonschema.validate(data, schema)
    for path in sorted(SCENARIOS.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    data["upstreams"]["vertex"]["expect"] = [{"openz": {"within": "1s"}}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_verdicts_say_what_happened_with_virtual_times() -> None:
    found = verdicts(
        "opens: {within: 1.51s, after_start_of: outage}",
        "opens: {within: 1.5s, after_start_of: outage}",
        "opens: {within: 1s, after_start_of: calm}",
        "closes: {within: 2.6s, after_end_of: outage}",
        "closes: {within: 2.599s, after_end_of: outage}",
        "closes: {within: 1s, after_start_of: calm}",
        "half_open_trials: {at_most: 1}",
        "open_episodes: {min: 3}",
        "time_open: {at_most: 10.98s}",
        "time_open: {at_most: 10s}",
        "transitions: [CLOSED, OPEN, HALF_OPEN, CLOSED]",
        "transitions: [CLOSED, ..., HALF_OPEN, CLOSED]",
    )
    assert [(v.passed, v.observed_text, v.note) for v in found] == [
        (True, "1.51s", "OPEN at 11.51s, 1.51s after 'outage' starts at 10s"),
        (False, "1.51s", "OPEN at 11.51s, 1.51s after 'outage' starts at 10s"),
        (False, "never", "never OPEN after 'calm' starts at 40s; it stayed CLOSED"),
        (True, "2.6s", "CLOSED at 22.6s, 2.6s after 'outage' ends at 20s"),
        (False, "2.6s", "CLOSED at 22.6s, 2.6s after 'outage' ends at 20s"),
        (True, "0s", "already CLOSED when 'calm' starts at 40s"),
        (True, "1", "2 HALF_OPEN episode(s); the one from 17s admitted 1 trial call(s)"),
        (False, "2", "entered OPEN 2 time(s), at 11.51s, 17.01s"),
        (True, "10.98s", "OPEN for 10.98s in total over 2 episode(s)"),
        (False, "10.98s", "OPEN for 10.98s in total over 2 episode(s)"),
        (
            False,
            "CLOSED → OPEN → HALF_OPEN → OPEN → HALF_OPEN → CLOSED",
            "went CLOSED → OPEN (11.51s) → HALF_OPEN (17s) → OPEN (17.01s) → HALF_OPEN (22.5s) "
            "→ CLOSED (22.6s)",
        ),
        (True, "CLOSED → OPEN → HALF_OPEN → OPEN → HALF_OPEN → CLOSED", None),
    ]


def test_a_request_reaching_the_upstream_while_open_is_caught() -> None:
    # Says OPEN after 3 failures (at 11.01s) but lets every call through.
    leaky = BASE[: BASE.index("    breaker:")]
    leaky += "    breaker: {impl: 'tests.custom_breakers:LeakyBreaker'}\n"
    (verdict,) = verdicts("no_upstream_calls_while_open", base=leaky)
    assert (verdict.passed, verdict.observed) == (False, 97.0)
    assert verdict.note == (
        "97 request(s) reached the upstream while OPEN, at 11.5s, 12s, 12.5s and 94 more"
    )


def test_a_failed_expectation_fails_the_run_and_names_expected_and_actual() -> None:
    result = run(with_expect("opens: {within: 1s, after_start_of: outage}", "open_episodes: 2"))
    assert not result.passed
    assert result.failure_text().splitlines()[2:4] == [
        "  FAIL  vertex: expect opens within 1s after 'outage' starts  observed 1.51s  "
        "(OPEN at 11.51s, 1.51s after 'outage' starts at 10s)",
        "  PASS  vertex: expect OPEN episodes exactly 2  observed 2  "
        "(entered OPEN 2 time(s), at 11.51s, 17.01s)",
    ]
    assert result.to_dict()["upstreams"]["vertex"]["expectations"][0] == {
        "expectation": "opens within 1s after 'outage' starts",
        "check": "opens",
        "observed": 1510.0,
        "threshold": 1000.0,
        "unit": "duration_ms",
        "passed": False,
        "note": "OPEN at 11.51s, 1.51s after 'outage' starts at 10s",
    }
    assert result.to_dict()["upstreams"]["vertex"]["passed"] is False


def test_a_failed_expectation_exits_1_and_fails_the_pytest_item(
    tmp_path: Any, pytester: pytest.Pytester
) -> None:
    text = f"{BASE}    expect:\n      - half_open_trials: {{at_most: 0}}\n"
    path = tmp_path / "vertex.yaml"
    path.write_text(text)
    assert main(["run", str(path)]) == 1
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".yaml", vertex=text)
    outcome = pytester.runpytest("vertex.yaml", "-p", "no:cacheprovider")
    outcome.assert_outcomes(failed=1)
    outcome.stdout.fnmatch_lines(
        ["*FAIL  vertex: expect HALF_OPEN admits at most 0 trial call(s)  observed 1*"]
    )


@pytest.mark.parametrize(
    ("pattern", "states", "matches"),
    [
        (["CLOSED"], ["CLOSED"], True),
        (["CLOSED", "OPEN"], ["CLOSED"], False),
        (["CLOSED", "..."], ["CLOSED"], True),
        (["...", "CLOSED"], ["CLOSED", "OPEN", "CLOSED"], True),
        (["CLOSED", "...", "OPEN"], ["CLOSED", "OPEN", "CLOSED"], False),
        (["...", "OPEN", "...", "OPEN", "..."], ["CLOSED", "OPEN", "HALF_OPEN", "OPEN"], True),
        (["..."], [], True),
        ([], ["CLOSED"], False),
    ],
)
def test_state_paths_match_with_wildcards(
    pattern: list[str], states: list[str], matches: bool
) -> None:
    assert glob_match(pattern, states) is matches
