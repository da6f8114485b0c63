"""The two engines are one truth: same scenario and seed, same Result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.engines.http
import harness.engines.lanes
from harness import HarnessError, Result, Scenario, ScenarioError, load_scenario, run
from harness.breakers.adapters import BuiltinGuard, Guard
from harness.events import BreakerState, Outcome
from harness.format.loader import scenario_from_data
from harness.strategies import scenario_data, scenarios
from tests.support import DEEP, SCENARIOS, examples, scenario

T = TypeVar("T")


def comparable(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = result.to_dict(run_info=False)
    data.pop("engine")
    data.pop("replay")  # names the engine when it is not the scenario's own
    return data


def assert_same(first: Any, second: Any) -> None:
    for name in first.upstreams:
        a, b = first.upstreams[name].samples, second.upstreams[name].samples
        assert a.start_ns.tolist() == b.start_ns.tolist(), name
        assert a.latency_ns.tolist() == b.latency_ns.tolist(), name
        assert a.outcome.tolist() == b.outcome.tolist(), name
        assert a.status.tolist() == b.status.tolist(), name
        assert a.state.tolist() == b.state.tolist(), name
        assert (a.ttfb_ns is None) == (b.ttfb_ns is None), name
        if a.ttfb_ns is not None and b.ttfb_ns is not None:
            assert a.ttfb_ns.tolist() == b.ttfb_ns.tolist(), name
        assert a.transitions == b.transitions, name
    assert comparable(first) == comparable(second)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_agree(path: Any) -> None:
    loaded = load_scenario(path)
    minute = 60 * 10**9
    cap = 20 * minute  # keep the suite fast; same logic
    if not DEEP:  # every phase and two minutes after it: what a longer soak repeats
        ends = [
            end for up in loaded.upstreams.values() for p in up.timeline for _, end in p.windows
        ]
        cap = min(cap, max([2 * minute, *(end + 2 * minute for end in ends)]))
    if loaded.duration > cap:
        loaded = loaded.override({"duration": f"{cap // minute}m"})
    assert_same(run(loaded, engine="http"), run(loaded, engine="direct"))


@settings(
    max_examples=examples(deep=40, fast=15),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios(max_duration_s=20, max_rate_per_s=15))
def test_any_scenario_agrees(generated: Any) -> None:
    assert_same(run(generated, engine="http"), run(generated, engine="direct"))


def with_alerts(data: dict[str, Any], failure_rate: int, least: int | None) -> Any:
    """Return ``data`` with an error budget, a named failing phase and alert expectations on
    every upstream (breaker or none)."""
    duration_ms = int(data["duration"].removesuffix("ms"))
    for upstream in data["upstreams"].values():
        hit = {"from": f"{duration_ms // 4}ms", "to": f"{duration_ms * 3 // 4}ms"}
        upstream["timeline"] = [*upstream["timeline"], {"name": "hit", **hit}]
        upstream["timeline"].append({**hit, "failure_rate": f"{failure_rate}%"})
        upstream["slo"] = ["success_rate >= 99%"]
        upstream["slo_period"] = "15m"  # the 14.4x alert's windows: 1.25s and 104ms
        if least is not None:
            upstream["alert_min_requests"] = least
        upstream["expect"] = [
            {"alert_fires": {"factor": 14.4, "within": "2s", "after_start_of": "hit"}},
            {"alert_fires": {"within": "1s", "after_end_of": "hit"}},
            {"no_alert_during": {"phase": "hit", "factor": 6}},
            {"no_alert_during": {"phase": "hit"}},
        ]
    return scenario_from_data(data, "<generated>")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario_data(max_duration_s=20, max_rate_per_s=15),
    st.sampled_from([0, 5, 50, 100]),
    st.sampled_from([None, 1, 20]),
)
def test_alert_expectations_agree(data: dict[str, Any], failure_rate: int, least: Any) -> None:
    generated = with_alerts(data, failure_rate, least)
    first, second = run(generated, engine="http"), run(generated, engine="direct")
    assert_same(first, second)
    for name, upstream in first.upstreams.items():
        assert [e.check for e in upstream.expectations] == ["alert_fires"] * 2 + [
            "no_alert_during"
        ] * 2, name
        assert upstream.budget is not None


class AsyncOnlyGuard:
    """The built-in breaker seen only through ``async call``, as a third-party adapter is."""

    def __init__(self, inner: BuiltinGuard) -> None:
        self.inner = inner
        self.impl = inner.impl
        self.initial_state = inner.initial_state

    def state(self) -> BreakerState:
        return self.inner.state()

    async def call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        return await self.inner.call(attempt)


def test_guards_driven_through_async_call_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_scenario(SCENARIOS / "vertex-outage-recovery.yaml")
    assert_async_only_guards_agree(loaded, run(loaded, engine="direct"), monkeypatch)


def assert_async_only_guards_agree(
    loaded: Scenario, fast: Result, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run ``loaded`` again with the built-in breaker seen only through ``async call`` (as a
    third-party adapter is), on both engines: each must give ``fast``, its direct run."""
    real_create = harness.engines.lanes.create_guard

    def async_only(*args: Any) -> Guard:
        guard = real_create(*args)
        return AsyncOnlyGuard(guard) if isinstance(guard, BuiltinGuard) else guard

    monkeypatch.setattr(harness.engines.lanes, "create_guard", async_only)
    assert_same(fast, run(loaded, engine="direct"))
    assert_same(fast, run(loaded, engine="http"))


def test_engine_is_chosen_by_the_scenario_or_the_caller() -> None:
    text = "duration: 10s\nengine: direct\nupstreams: {u: {latency: 5ms, traffic: {rate: 2/s}}}"
    loaded = scenario(text)
    assert run(loaded).engine == "direct"
    assert run(loaded, engine="http").engine == "http"
    with pytest.raises(ScenarioError, match="'http' or 'direct'"):
        scenario(text.replace("direct", "warp"))


FAULTY = """\
duration: 5s
upstreams:
  v:
    latency: 100ms
    traffic: {{rate: 2/s}}
    breaker: {{impl: "tests.faulty_breakers:{factory}", wall_clock: false}}
"""


@pytest.mark.parametrize("engine", ["http", "direct"])
@pytest.mark.parametrize(
    ("factory", "raised"), [("raises_after", "ValueError"), ("buggy", "AttributeError")]
)
def test_a_breaker_that_raises_stops_the_run_and_says_so(
    engine: str, factory: str, raised: str
) -> None:
    with pytest.raises(HarnessError, match=rf"upstream 'v'.*raised {raised}"):
        run(scenario(FAULTY.format(factory=factory)), engine=engine)


def test_a_breaker_that_really_suspends_runs_on_http_and_is_refused_by_direct() -> None:
    loaded = scenario(FAULTY.format(factory="sleepy"))
    result = run(loaded, engine="http")
    assert result.upstreams["v"].client.latency is not None
    assert result.upstreams["v"].client.latency.min_ms == 600.0  # 500 ms asleep + 100 ms
    with pytest.raises(HarnessError, match="run this scenario with engine: http"):
        run(loaded, engine="direct")


def test_a_stuck_run_is_an_error_naming_what_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness.engines.http, "STUCK_AFTER_S", 0)
    with pytest.raises(HarnessError, match=r"stuck: .*requests in flight \(10 on 'v'\)"):
        run(scenario(FAULTY.format(factory="hangs")), engine="http")


def test_run_checks_its_arguments() -> None:
    loaded = scenario("duration: 1s\nupstreams: {u: {traffic: {rate: 1/s}}}")
    with pytest.raises(HarnessError, match="engine must be one of http, direct, got 'warp'"):
        run(loaded, engine="warp")
    for seed in (-1, "7", 2**63, True):
        with pytest.raises(HarnessError, match="seed must be a whole number"):
            run(loaded, seed=seed)  # type: ignore[arg-type]


def test_a_path_is_joined_to_an_upstream_url_without_a_trailing_slash() -> None:
    loaded = scenario(
        """\
        duration: 2s
        upstreams:
          v: {url: "https://api.test/v1", latency: 5ms, traffic: {rate: 5/s, path: predict}}
        """
    )
    for engine in ("http", "direct"):
        result = run(loaded, engine=engine)
        assert result.upstreams["v"].reached_upstream == 10
        assert result.upstreams["v"].client.success_rate == 1.0


@settings(
    max_examples=examples(deep=60, fast=20),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios(max_duration_s=20, max_rate_per_s=15, policies=True))
def test_any_scenario_with_pools_and_retries_agrees(generated: Any) -> None:
    assert_same(run(generated, engine="http"), run(generated, engine="direct"))


@pytest.mark.parametrize(
    "name", ["pybreaker-outage", "aiobreaker-outage", "circuitbreaker-outage", "purgatory-outage"]
)
def test_third_party_breakers_under_policies_agree(name: str) -> None:
    # Their guards are driven through `async call` per attempt (the policies' other path).
    loaded = load_scenario(SCENARIOS / f"{name}.yaml")
    policies = {
        "attempts": 3,
        "outcomes": ["5xx", "timeout", "short_circuited"],
        "backoff": {"base": "50ms", "max": "200ms"},
    }
    changed = loaded.override(
        {
            "pools": {"p": {"max_concurrent": 5, "when_full": "queue", "queue_timeout": "300ms"}},
            "upstreams.vertex.pool": "p",
            "upstreams.vertex.retry": policies,
            "upstreams.vertex.fallback": {},
        }
    )
    http, direct = run(changed, engine="http"), run(changed, engine="direct")
    assert (http.upstreams["vertex"].samples.outcome == Outcome.FALLBACK).any()  # in effect
    assert_same(http, direct)


@pytest.mark.parametrize(
    "faults",
    [
        "stream: {chunks: 6, chunk_latency: {dist: uniform, min: 1ms, max: 400ms}, "
        "drop_rate: 20%, drop_after: 2, stall_rate: 20%, stall: 1s, stall_after: 1}",
        "body: {bandwidth: 3KB/s, cut_rate: 20%, reset_rate: 10%}",
    ],
    ids=["stream", "body"],
)
def test_async_guards_agree_on_streams_and_body_faults(
    faults: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "duration: 30s\nseed: 9\nupstreams:\n  llm:\n"
        "    latency: {dist: lognormal, p50: 80ms, p95: 900ms}\n"
        "    failure_rate: 10%\n"
        f"    {faults}\n"
        "    traffic: {rate: 10/s, timeout: 1s}\n"
        "    breaker: {failure_rate_threshold: 40%, sliding_window_size: 10, "
        "minimum_number_of_calls: 5, wait_duration_in_open_state: 2s}\n"
    )
    loaded = scenario(text)
    fast = run(loaded, engine="direct")
    assert fast.upstreams["llm"].samples.outcome_counts()["connection_reset"] > 0
    assert_async_only_guards_agree(loaded, fast, monkeypatch)
