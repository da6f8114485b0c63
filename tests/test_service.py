"""Your service under test: entry points a scenario's traffic calls (harness.engines.service)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from harness import Fallback, HarnessError, Outcome, ScenarioError, ServiceContext, View, run
from harness.cli import main
from harness.format.loader import load_scenario
from tests.support import ROOT, scenario

VERTEX = """
name: service
duration: 10s
upstreams:
  vertex:
    latency: 100ms
    failure_rate: 50%
    errors: {{"503": 1.0}}
    traffic: {{rate: 5/s, entry_point: "{entry}"}}
    slo: {slo}
"""


def vertex(entry: str = "tests.services:retry_then_fallback", slo: str = "[]") -> Any:
    return scenario(VERTEX.format(entry=entry, slo=slo))


def test_client_view_is_one_row_per_call_and_upstream_view_one_per_attempt() -> None:
    result = run(vertex())
    up = result.upstreams["vertex"]
    outcomes = up.samples.outcome_counts()
    assert up.client.requests == 50  # 5/s for 10 s: one row per call of the entry point
    assert outcomes["success"] + outcomes["fallback"] == 50
    assert outcomes["fallback"] > 0
    # Each call tried up to 3 times: every attempt is a row of the upstream view.
    assert up.upstream.requests == up.reached_upstream > up.client.requests
    # Every answered call ends on one successful attempt; each fallback follows 3 failed ones.
    assert up.upstream.successes == outcomes["success"]
    assert up.upstream.requests - up.upstream.successes >= 3 * outcomes["fallback"]
    assert up.service is not None
    assert up.service.amplification == up.reached_upstream / 50


def test_fallback_is_not_success_and_has_its_own_rate() -> None:
    objectives = '["fallback_rate < 50%", "success_rate >= 99%", "amplification <= 1.5"]'
    result = run(vertex(slo=objectives))
    verdicts = {v.objective.metric: v for v in result.upstreams["vertex"].verdicts}
    fallbacks = result.upstreams["vertex"].samples.outcome_counts()["fallback"]
    assert verdicts["fallback_rate"].observed == fallbacks / 50
    assert verdicts["fallback_rate"].passed
    assert not verdicts["success_rate"].passed  # a fallback answer is not a success
    assert not verdicts["amplification"].passed
    assert verdicts["amplification"].observed == result.upstreams["vertex"].reached_upstream / 50


def test_good_rate_counts_successes_within_the_bound_only() -> None:
    # Successes answer after 100 ms (one attempt) or 200 ms / 300 ms (retries).
    result = run(vertex(slo='["good_rate(100ms) >= 0%", "good_rate(300ms) >= 0%"]'))
    up = result.upstreams["vertex"]
    tight, loose = (v.observed for v in up.verdicts)
    success = up.samples.outcome == Outcome.SUCCESS
    assert tight == ((up.samples.latency_ns <= 100_000_000) & success).sum() / 50
    assert loose == success.sum() / 50
    assert tight < loose


def test_same_seed_gives_byte_identical_json() -> None:
    first = run(vertex()).to_json(run_info=False)
    assert first == run(vertex()).to_json(run_info=False)
    assert first != run(vertex(), seed=1).to_json(run_info=False)
    data = json.loads(first)["upstreams"]["vertex"]["service"]
    assert data["entry_point"] == "tests.services:retry_then_fallback"
    assert data["attempts"]["vertex"] == sum(data["attempts"].values())


def test_one_call_touches_several_upstreams_on_httpx_and_httpx2() -> None:
    pytest.importorskip("httpx2")
    two = scenario(
        """
        name: two
        duration: 2s
        upstreams:
          t1: {latency: 6ms}
          vertex:
            latency: 500ms
            failure_rate: 30%
            traffic: {rate: 10/s, entry_point: "tests.services:t1_then_vertex"}
        """
    )
    result = run(two)
    t1, vertex_ = result.upstreams["t1"], result.upstreams["vertex"]
    assert t1.client.requests == 0
    assert vertex_.client.requests == 20
    assert t1.upstream.requests == 20 == vertex_.upstream.requests
    outcomes = vertex_.samples.outcome_counts()
    # httpx2 responses of 500 are the service's http_error outcome, with their status.
    assert outcomes["http_error"] == vertex_.upstream.requests - vertex_.upstream.successes
    assert t1.service is not None
    assert t1.service.upstream_amplification == 1.0
    assert vertex_.upstream.latency is not None
    assert vertex_.upstream.latency.min_ms == 500.0


def test_python_client_and_sync_callable() -> None:
    def plain(ctx: ServiceContext) -> str:
        assert ctx.arrival_ns == ctx.now_ns  # called at its arrival, in virtual time
        return "ok"

    result = run(vertex(), client=plain)
    up = result.upstreams["vertex"]
    assert up.samples.outcome_counts()["success"] == 50
    assert up.reached_upstream == 0
    assert up.service is not None
    assert str(up.service.entry_point).endswith("plain")


def test_python_client_mapping_must_name_upstreams_with_traffic() -> None:
    with pytest.raises(HarnessError, match="names no upstream with traffic: nope"):
        run(vertex(), client={"nope": lambda ctx: None})


def test_exception_is_an_outcome_with_its_type_recorded() -> None:
    result = run(vertex("tests.services:raises"))
    up = result.upstreams["vertex"]
    assert up.samples.outcome_counts()["exception"] == 25
    assert up.service is not None
    assert dict(up.service.exceptions) == {"KeyError": 25}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("tests.services:missing", "has no attribute 'missing'"),
        ("tests.services:NOT_CALLABLE", "names a int, not a callable"),
        ("tests.services:two_args", "must accept one argument"),
    ],
)
def test_unusable_entry_point_stops_before_traffic(entry: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message) as caught:
        run(vertex(entry))
    assert "upstreams.vertex.traffic.entry_point" in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("nosuchpackage.module:handle", "no module 'nosuchpackage'"),
        ("json:loads", "must be your own code, not the standard library"),
        ("tests.services", "should match pattern"),
        # One plain attribute of the module, as for breaker factories: no chain through other
        # objects (to a module's os.system, say) and no dunder.
        ("tests.services:os.system", "should match pattern"),
        ("tests.services:__builtins__", "should match pattern"),
    ],
)
def test_entry_point_refused_at_load_with_its_location(entry: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        vertex(entry)
    assert "test.yaml:9:" in str(caught.value)
    assert "upstreams.vertex.traffic.entry_point" in str(caught.value)


@pytest.mark.parametrize("entry", ["tests.services:never_returns", "tests.services:sleeps_forever"])
def test_entry_point_that_never_returns_stops_the_run_naming_it(entry: str) -> None:
    # The error comes from the engine's stuck-run check: the run ended instead of hanging.
    with pytest.raises(HarnessError, match=re.escape(entry)) as caught:
        run(vertex(entry))
    assert "virtual time" in str(caught.value)


def test_unmocked_host_stops_the_run_naming_host_and_upstreams(network_calls: list[str]) -> None:
    pytest.importorskip("httpx2")
    with pytest.raises(
        HarnessError, match=r"host 'api\.openai\.com'.*vertex \(https://vertex\.test/\)"
    ):
        run(vertex("tests.services:calls_the_internet"))
    assert network_calls == []  # refused before any lookup or connection: at once


def test_entry_points_need_the_http_engine() -> None:
    with pytest.raises(HarnessError, match="http engine only"):
        run(vertex(), engine="direct")


def test_global_random_is_seeded_per_run_and_restored() -> None:
    import random

    random.seed(123)
    expected_next = random.Random(123).random()
    first = run(vertex("tests.services:jittered"), seed=3).to_json(run_info=False)
    assert random.random() == expected_next  # the caller's sequence is left as it was
    random.seed(999)  # whatever state the caller left: the run starts from the seed's
    assert run(vertex("tests.services:jittered"), seed=3).to_json(run_info=False) == first


def test_jittered_retries_are_byte_identical_across_processes(tmp_path: Any) -> None:
    file = tmp_path / "jitter.yaml"
    file.write_text(VERTEX.format(entry="tests.services:jittered", slo="[]"), encoding="utf-8")
    code = (
        "import sys; from harness import load_scenario, run;"
        f"sys.stdout.write(run(load_scenario({str(file)!r})).to_json(run_info=False))"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": str(hash_seed)},
        ).stdout
        for hash_seed in (1, 2)
    ]
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["upstreams"]["vertex"]["service"]["amplification"] > 1


def test_cli_exit_2_for_an_entry_point_that_cannot_run(tmp_path: Any, capsys: Any) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(VERTEX.format(entry="tests.services:two_args", slo="[]"), encoding="utf-8")
    assert main(["run", str(file)]) == 2
    assert "must accept one argument" in capsys.readouterr().err


def test_fallback_value_is_kept() -> None:
    assert Fallback("cached").value == "cached"
    assert View.CLIENT.value == "client"


def test_amplification_per_phase_counts_calls_and_attempts_in_its_window() -> None:
    outage = vertex().override(
        {
            "upstreams.vertex.timeline": [
                {"name": "down", "from": "2s", "to": "4s", "failure_rate": 1}
            ]
        }
    )
    result = run(outage)
    up = result.upstreams["vertex"]
    phases = json.loads(result.to_json(run_info=False))["upstreams"]["vertex"]["service"]["phases"]
    assert [phase["name"] for phase in phases] == ["down"]
    (down,) = phases
    assert down["calls"] == 10  # 5/s for 2 s
    # Every call arriving in the outage tried 3 times; the last ones' retries start after it.
    assert 2 * 10 < down["attempts"] <= 3 * 10 + 2
    assert down["amplification"] == down["attempts"] / 10
    assert up.samples.outcome_counts()["fallback"] >= 8


@pytest.mark.parametrize("wall_clock", [True, False])
def test_wall_clock_follows_virtual_time_where_the_traffic_asks(wall_clock: bool) -> None:
    asked = vertex("tests.services:reads_time").override(
        {"upstreams.vertex.traffic.wall_clock": wall_clock}
    )
    up = run(asked).upstreams["vertex"]
    assert up.service is not None
    if wall_clock:
        assert up.samples.outcome_counts()["success"] == 50
    else:
        assert dict(up.service.exceptions) == {"AssertionError": 50}


SYNC = """
name: sync
duration: 2s
upstreams:
  vertex:
    latency: 300ms
    failure_rate: 30%
    traffic: {{rate: 5/s, entry_point: "tests.services:{entry}"}}
"""


@pytest.mark.parametrize("entry", ["sync_httpx", "sync_httpx2"])
def test_sync_clients_share_the_fault_stream_and_block_the_loop(entry: str) -> None:
    if entry == "sync_httpx2":
        pytest.importorskip("httpx2")
    blocking = run(scenario(SYNC.format(entry=entry))).upstreams["vertex"]
    awaiting = run(scenario(SYNC.format(entry="async_httpx"))).upstreams["vertex"]
    # One seeded fault stream: the same answers, attempt for attempt.
    assert list(blocking.samples.status) == list(awaiting.samples.status)
    assert 0 < blocking.samples.outcome_counts()["http_error"] < 10
    assert blocking.reached_upstream == 10 == awaiting.reached_upstream
    # Awaiting overlaps the 300 ms calls; blocking serialises them: each arrival (every 200 ms)
    # waits for the previous call, and that queueing counts in its latency from its arrival.
    assert set(awaiting.samples.latency_ns // 1_000_000) == {300}
    assert list(blocking.samples.latency_ns // 1_000_000) == [300 + 100 * i for i in range(10)]


def test_sync_client_times_out_at_its_timeout_blocking_that_long() -> None:
    slow = SYNC.replace("latency: 300ms", "latency: 5s").replace("failure_rate: 30%", "")
    up = run(scenario(slow.format(entry="sync_httpx"))).upstreams["vertex"]
    assert up.samples.outcome_counts()["timeout"] == 10
    assert list(up.samples.latency_ns[:3] // 1_000_000) == [1000, 1800, 2600]


def test_sync_client_to_an_unmocked_host_stops_the_run_naming_it(network_calls: list[str]) -> None:
    with pytest.raises(
        HarnessError, match=r"host 'api\.openai\.com'.*vertex \(https://vertex\.test/\)"
    ):
        run(vertex("tests.services:sync_calls_the_internet"))
    assert network_calls == []  # refused before any lookup or connection: at once


def test_direct_engine_with_an_entry_point_is_a_located_load_error(tmp_path: Any) -> None:
    path = tmp_path / "direct.yaml"
    path.write_text("engine: direct\n" + VERTEX.format(entry="tests.services:plain_sync", slo="[]"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "upstreams.vertex.traffic.entry_point" in message
    assert f"{path}:10:" in message  # the entry point's line
    assert "engine: direct" in message


PHASED = """
name: phased
duration: 6s
upstreams:
  vertex:
    latency: 100ms
    traffic: {{rate: 5/s, entry_point: "tests.services:retry_then_fallback"}}
    timeline:
      - {{name: down, from: 2s, to: 4s, failure_rate: 100%}}
    slo: {slo}
"""


def test_objectives_per_phase_read_that_phase_only() -> None:
    slo = (
        '["upstream.amplification <= 1 during down", "upstream.amplification >= 2 during down",'
        ' "upstream.requests <= 25 during down", "upstream.amplification <= 1.1"]'
    )
    up = run(scenario(PHASED.format(slo=slo))).upstreams["vertex"]
    assert up.service is not None
    (down,) = up.service.phases
    tight, loose, requests, whole = up.verdicts
    assert tight.observed == loose.observed == down.attempts / down.calls
    assert not tight.passed
    assert loose.passed
    assert requests.observed == down.attempts > 25
    assert not requests.passed
    assert tight.objective.text == "upstream.amplification <= 1 during down"
    assert whole.observed is not None
    assert whole.observed < tight.observed


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        ("upstream.requests <= 3 during dwon", r"no phase 'dwon'.*did you mean 'down'\?"),
        ("amplification <= 3 during down", r"only upstream\.requests and upstream\.amplif"),
        ("upstream.p95 < 1s during down", r"only upstream\.requests"),
    ],
)
def test_objectives_per_phase_refused_at_load_with_location(
    objective: str, message: str, tmp_path: Any
) -> None:
    path = tmp_path / "phased.yaml"
    path.write_text(PHASED.format(slo=f'["{objective}"]'))
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(path)
    assert f"{path}:10:" in str(caught.value)
    assert "upstreams.vertex.slo" in str(caught.value)
