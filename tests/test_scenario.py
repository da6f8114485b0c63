from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from harness import Scenario, ScenarioError, json_schema, load_scenario, parse_scenario
from harness.format.fault_settings import LognormalLatency
from harness.format.loader import scenario_from_data
from harness.strategies import scenarios
from tests.support import ROOT, SCENARIOS, UPSTREAM_KEYS

MINIMAL = """\
duration: 1m
upstreams:
  t1:
    traffic: {rate: 10/s}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(textwrap.dedent(text), "bad.yaml")
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.upstreams


def test_minimal_scenario_takes_documented_defaults() -> None:
    scenario = parse_scenario(MINIMAL, "minimal.yaml")
    assert scenario.name == "minimal"
    assert scenario.seed == 0
    assert scenario.percentile_method == "nearest_rank"
    upstream = scenario.upstreams["t1"]
    assert upstream.failure_rate == 0.0
    assert upstream.errors == {"500": 1.0}
    assert upstream.breaker is None
    assert upstream.traffic is not None
    assert upstream.traffic.timeout == 5_000_000_000
    assert upstream.traffic.arrivals == "constant"
    assert scenario.url_of("t1") == "https://t1.test/"


def test_latency_forms() -> None:
    scenario = parse_scenario(
        """\
duration: 1m
upstreams:
  a: {latency: 6ms}
  b: {latency: {dist: lognormal, p50: 500ms, p95: 1.2s}}
  c: {latency: {dist: uniform, min: 1ms, max: 3ms}}
  d: {latency: {dist: normal, mean: 10ms, stddev: 2ms}}
""",
        "forms.yaml",
    )
    assert scenario.upstreams["a"].latency.value == 6_000_000  # type: ignore[union-attr]
    assert scenario.upstreams["b"].latency == LognormalLatency(  # type: ignore[arg-type]
        dist="lognormal", p50="500ms", p95="1.2s"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "duration: -5s\nupstreams: {t1: {}}\n",
            "bad.yaml:1:11: duration: a duration cannot be negative, got '-5s'",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    failure_rate: 150%\n",
            "bad.yaml:4:19: upstreams.t1.failure_rate: a rate must lie between 0% and 100% "
            "(0 and 1), got '150%'",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    latncy: 5ms\n",
            "bad.yaml:4:5: upstreams.t1.latncy: unknown key 'latncy'; did you mean 'latency'? "
            f"(allowed here: {UPSTREAM_KEYS})",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    timeline:\n      - {from: 30s, to: 2m}\n",
            "bad.yaml:5:25: upstreams.t1.timeline[0].to: the phase ends at 2m, after the "
            "scenario's duration of 1m",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    timeline:\n      - {from: 30s, to: 10s}\n",
            "bad.yaml:5:9: upstreams.t1.timeline[0]: 'to' (10s) must be after 'from' (30s)",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    traffic: {rate: 20}\n",
            "bad.yaml:4:21: upstreams.t1.traffic.rate: expected a request rate like 20/s, 600/m "
            "or 90/h, got 20 (the unit is required)",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    traffic: {rate: 2/s, arrivals: posson}\n",
            "bad.yaml:4:36: upstreams.t1.traffic.arrivals: expected 'constant' or 'poisson', "
            "got 'posson'",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    errors: {500: 50%, timeout: 20%}\n",
            "bad.yaml:4:13: upstreams.t1.errors: the shares add up to 70%, expected 100%",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    errors: {200: 100%}\n",
            "bad.yaml:4:14: upstreams.t1.errors[200]: unknown error kind 200 (expected an HTTP "
            "status 400-599 or one of timeout, connect_error, connection_reset, dns_error, "
            "tls_error)",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    errors: {timout: 100%}\n",
            "bad.yaml:4:14: upstreams.t1.errors.timout: unknown error kind 'timout'; did you "
            "mean 'timeout'? (expected an HTTP status 400-599 or one of timeout, connect_error, "
            "connection_reset, dns_error, tls_error)",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    latency: {dist: gamma}\n",
            "bad.yaml:4:21: upstreams.t1.latency.dist: expected a plain duration like 6ms or a "
            "mapping with 'dist' set to one of fixed, uniform, normal, lognormal, got 'gamma'",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    latency: {dist: lognormal, p50: 5ms, p95: 1ms}\n",
            "bad.yaml:4:14: upstreams.t1.latency: p95 (1ms) is below p50 (5ms)",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    latency: 3\n",
            "bad.yaml:4:14: upstreams.t1.latency: expected a duration like 500ms, 2s, 10m or "
            "1h30m, got 3 (the unit is required)",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    traffic: {rate: 1/s}\n    slo: [p95x < 5ms]\n",
            "bad.yaml:5:11: upstreams.t1.slo[0]: unknown metric 'p95x'; did you mean 'p95'? "
            "(known: pNN such as p95 or p99.9, avg, mean, min, max, success_rate, error_rate, "
            "short_circuit_rate, requests, opens, time_open, final_state, amplification, "
            "fallback_rate, dropped_rate, budget_spent, good_rate(BOUND) such as good_rate(800ms))",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    traffic: {rate: 1/s}\n"
            "    slo: [final_state == CLOSED]\n",
            "bad.yaml:5:11: upstreams.t1.slo[0]: 'final_state == CLOSED' needs a breaker, and "
            "upstream 't1' has none",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    slo: [p95 < 5ms]\n",
            "bad.yaml:4:10: upstreams.t1.slo: upstream 't1' has objectives but no traffic to "
            "measure them on",
        ),
        (
            "duration: 1m\nseed: abc\nupstreams: {t1: {}}\n",
            "bad.yaml:2:7: seed: expected a whole number, got 'abc'",
        ),
        (
            "duration: 1m\nupstreams: {}\n",
            "bad.yaml:2:12: upstreams: at least one upstream is required",
        ),
        ("upstreams: {t1: {}}\n", "bad.yaml:1:1: the required key 'duration' is missing"),
        ("- a\n- b\n", "bad.yaml:1:1: expected a mapping of scenario keys, got a list"),
        (
            "duration: 1m\nupstreams:\n  'bad name!': {}\n",
            "bad.yaml:3:3: upstreams: upstream name 'bad name!' must be 1-64 letters, digits, "
            "'_', '-' or '.'",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    breaker: {failure_rate_threshold: 0%}\n",
            "bad.yaml:4:39: upstreams.t1.breaker.failure_rate_threshold: failure_rate_threshold "
            "must be above 0%, or the breaker never closes",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    breaker: {sliding_window_size: 0}\n",
            "bad.yaml:4:36: upstreams.t1.breaker.sliding_window_size: must be at least 1, got 0",
        ),
        (
            "duration: 1m\nupstreams:\n  t1:\n    url: ftp://x\n",
            "bad.yaml:4:10: upstreams.t1.url: expected an http(s) URL like https://vertex.test/ "
            "or https://api.test/v1 (no query or fragment), got 'ftp://x'",
        ),
        (
            "duration: 1m\nversion: 2\nupstreams: {t1: {}}\n",
            "bad.yaml:2:10: version: expected 1, got 2",
        ),
    ],
)
def test_invalid_scenarios_are_located(text: str, expected: str) -> None:
    assert expected in problems(text)


def test_every_problem_is_reported_in_file_order() -> None:
    found = problems(
        """\
        duration: 1m
        upstreams:
          t1:
            failure_rate: 2
            latency: fast
        """
    )
    assert [line.split(":")[1] for line in found] == ["4", "5"]


def test_override_revalidates() -> None:
    scenario = parse_scenario(MINIMAL, "minimal.yaml")
    changed = scenario.override({"seed": 9, "upstreams.t1.failure_rate": "50%"})
    assert (changed.seed, changed.upstreams["t1"].failure_rate) == (9, 0.5)
    assert scenario.seed == 0  # the original is immutable
    with pytest.raises(ScenarioError, match="a rate must lie between"):
        scenario.override({"upstreams.t1.failure_rate": "120%"})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "upstreams.nope.failure_rate",
            "upstreams has no entry 'nope' (keys there: t1, vertex.ai)",
        ),
        (
            "upstreams.t1.failur_rate",
            "upstreams.t1 has no key 'failur_rate'; did you mean 'failure_rate'? (keys there: "
            f"{UPSTREAM_KEYS})",
        ),
        (
            "slo.9",
            "the scenario has no key 'slo' (keys there: assert_all_called, description, duration, ",
        ),
        ("upstreams.t1.slo.9", "upstreams.t1.slo has items 0-0, not an item 9"),
        ("upstreams.t1.slo.x", "upstreams.t1.slo is a list: expected an item's index, got 'x'"),
        ("duration.x", "duration holds the value '1m', which has no key 'x'"),
        (
            "upstreams.t1.breaker.fail_max",
            "upstreams.t1.breaker has no key 'fail_max' (keys there: enable_exponential_backoff",
        ),
        ("upstreams.t1.latency.p50", "upstreams.t1.latency has no key 'p50' (keys there: dist, "),
    ],
)
def test_override_refuses_paths_that_name_nothing(path: str, expected: str) -> None:
    scenario = parse_scenario(OVERRIDDEN, "o.yaml")
    with pytest.raises(ScenarioError) as caught:
        scenario.override({path: "50%"})
    assert str(caught.value).startswith(f"<override of o>: cannot override {path!r}: {expected}")


OVERRIDDEN = """\
duration: 1m
upstreams:
  t1: {traffic: {rate: 1/s}, slo: [p95 < 1s]}
  vertex.ai: {}
"""


def test_override_adds_what_the_format_allows() -> None:
    scenario = parse_scenario(OVERRIDDEN, "o.yaml")
    changed = scenario.override(
        {
            "upstreams.new": {"traffic": {"rate": "2/s"}},  # a new entry of a mapping
            "upstreams.vertex.ai.failure_rate": "20%",  # a name holding a dot
            "upstreams.t1.breaker.wait_duration_in_open_state": "5s",  # a field not yet set
            "upstreams.t1.errors": {"503": "100%"},
            "upstreams.t1.slo.0": "p95 < 2s",
        }
    )
    assert list(changed.upstreams) == ["t1", "vertex.ai", "new"]
    assert changed.upstreams["vertex.ai"].failure_rate == 0.2
    t1 = changed.upstreams["t1"]
    assert t1.breaker is not None
    assert t1.breaker.wait_duration_in_open_state == 5 * 10**9  # type: ignore[union-attr]
    assert t1.errors == {"503": 1.0}
    assert [objective.text for objective in t1.slo] == ["p95 < 2s"]


def test_scenarios_are_immutable() -> None:
    scenario = parse_scenario(MINIMAL, "minimal.yaml")
    with pytest.raises(ValueError, match="frozen"):
        scenario.seed = 3  # type: ignore[misc]


def test_model_dump_round_trips() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load_scenario(path)
        again = scenario_from_data(scenario.model_dump(mode="json", by_alias=True))
        assert again == scenario


def test_json_schema_accepts_the_shipped_scenarios_and_rejects_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        errors = list(validator.iter_errors(_string_keys(data)))
        assert errors == [], (path.name, [e.message for e in errors])
    typo = {"duration": "1m", "upstreams": {"t1": {"latncy": "5ms"}}}
    assert list(validator.iter_errors(typo))
    assert schema["properties"]["upstreams"]["additionalProperties"]["$ref"].endswith("Upstream")


def _string_keys(value: object) -> object:
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def test_json_schema_spells_duration_defaults_as_a_file_would() -> None:
    breaker = json_schema()["$defs"]["Breaker"]["properties"]
    assert breaker["wait_duration_in_open_state"]["default"] == "1m"


SHIPPED = sorted([*(ROOT / "scenarios").glob("*.yaml"), *(ROOT / "examples").glob("*.yaml")])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_an_override_round_trips_every_shipped_scenario(path: Path) -> None:
    """An override writes the whole scenario out and validates it again: whatever the format
    dumps (every field, nulls included) must load back as the same scenario."""
    loaded = load_scenario(path)
    assert loaded.override({}) == loaded
    assert loaded.override({"seed": loaded.seed + 1}).seed == loaded.seed + 1


ANSWERED = """\
duration: 1m
pools: {workers: {max_concurrent: 5, when_full: queue, max_queue: 3}}
upstreams:
  api:
    pool: workers
    answers:
      success: {body: {ok: true}, headers: {x-served-by: mock}}
      "429": {retry_after: 3s}
    routes:
      - {name: chat, method: POST, path: /chat, answers: {success: {body: {id: "{index}"}}}}
      - {name: rest}
    retry: {attempts: 2, backoff: {base: 100ms, max: 200ms}}
    traffic: {rate: 5/s, method: POST, path: /chat, json: {model: m}}
"""


@pytest.mark.parametrize("text", [ANSWERED], ids=["answers-routes-policies"])
def test_an_override_round_trips_answers_routes_and_policies(text: str) -> None:
    loaded = parse_scenario(text, "answered.yaml")
    assert loaded.override({}) == loaded


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_duration_s=10, max_rate_per_s=5, policies=True))
def test_an_override_round_trips_any_scenario(generated: Scenario) -> None:
    assert generated.override({}) == generated
