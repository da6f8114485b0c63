from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from tests.shared_runs import ERROR_FILES, NAMES, OUTCOMES, SHARED, SessionRun

PASSING = """\
duration: 30s
seed: 5
upstreams:
  t1:
    latency: 6ms
    traffic: {rate: 10/s}
    breaker: {sliding_window_size: 10, minimum_number_of_calls: 10}
    slo: [p95 < 50ms, success_rate >= 99%, final_state == CLOSED]
"""
FAILING = """\
duration: 30s
upstreams:
  vertex:
    latency: 500ms
    failure_rate: 30%
    traffic: {rate: 10/s}
    slo: [success_rate >= 90%, p95 <= 500ms]
"""


@pytest.fixture(autouse=True)
def quiet_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # Under CI (CI or BUILD_NUMBER set) pytest prints each short-summary message whole, not cut
    # to one line: the inner sessions here must read the same on a laptop and in CI.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "steady.yaml").write_text(PASSING)
    (scenarios / "flaky.yaml").write_text(FAILING)
    return pytester


def test_scenarios_are_collected_as_tests_and_failures_list_every_objective(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the summary line is cut to the terminal's width
    result = project.runpytest("scenarios/", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    result.stdout.fnmatch_lines(  # the short summary says what failed
        [
            "FAILED scenarios/flaky.yaml::flaky - 1 of 2 checks failed: "
            "vertex: success_rate >= 90% observed 69%"
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "1 of 2 checks failed: vertex: success_rate >= 90% observed 69%",
            "*scenario 'flaky' (seed 0) broke its objectives:",
            "*FAIL  vertex: success_rate >= 90%  observed *% over n=300",
            "*PASS  vertex: p95 <= 500ms * observed 500ms over n=300",
            "*replay: python -m harness run scenarios/flaky.yaml --seed 0",
        ]
    )
    assert "Traceback" not in output
    assert "runtest" not in output  # no Python frames in a failure report
    result.stdout.fnmatch_lines(
        ["*SLO summary*", "verdict*scenario*upstream*", "FAIL*flaky*vertex*", "PASS*steady*t1*"]
    )


@pytest.mark.xdist_group(SHARED)
def test_an_invalid_scenario_is_a_located_error_and_the_others_still_run(
    either_run: SessionRun,
) -> None:
    result = either_run.result
    result.assert_outcomes(**OUTCOMES)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["ERROR scenarios/broken.yaml::broken - invalid scenario: 4:5: upstreams.t1.l*"]
    )
    assert "Traceback" not in output
    for problem in ("4:5: upstreams.t1.latncy: unknown key", "5:26: upstreams.t1.traffic.burst"):
        located = [line for line in output.splitlines() if f"broken.yaml:{problem}" in line]
        assert len(located) == 1, (problem, located)  # printed once, even under xdist


def test_yaml_outside_scenario_folders_is_left_alone_unless_named(project: pytest.Pytester) -> None:
    project.makefile(".yml", ci="jobs: [build]\n")
    elsewhere = project.mkdir("other")
    (elsewhere / "steady.yaml").write_text(PASSING)
    project.runpytest().assert_outcomes(passed=1, failed=1)
    project.runpytest("other/steady.yaml").assert_outcomes(passed=1)


def test_seed_override_json_results_and_junit_properties(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "scenarios/steady.yaml",
        "--slo-seed=77",
        "--slo-json=out/results.json",
        "--junitxml=junit.xml",
    )
    result.assert_outcomes(passed=1)
    document = json.loads((project.path / "out" / "results.json").read_text())
    [entry] = document["results"]
    assert (entry["scenario"]["name"], entry["seed"], entry["passed"]) == ("steady", 77, True)
    assert entry["scenario"]["file"] == "scenarios/steady.yaml"
    testcase = ET.parse(project.path / "junit.xml").getroot().find(".//testcase")
    assert testcase is not None
    properties = {p.get("name"): p.get("value") for p in testcase.iter("property")}
    assert properties["seed"] == "77"
    assert properties["t1: p95"].startswith("PASS p95 < 50ms observed=6ms n=300")


@pytest.mark.xdist_group(SHARED)
def test_json_results_under_xdist_hold_every_scenario(xdist_run: SessionRun) -> None:
    xdist_run.result.assert_outcomes(**OUTCOMES)
    document = xdist_run.results()
    assert {entry["scenario"]["name"] for entry in document["results"]} == NAMES
    assert [error["file"] for error in document["errors"]] == ERROR_FILES
    assert document["passed"] is False


def test_virtual_time_marker_gives_a_test_a_virtual_loop(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio, datetime, time
            import pytest
            import harness

            @pytest.mark.asyncio
            @pytest.mark.virtual_time
            async def test_sleep_an_hour():
                loop = asyncio.get_running_loop()
                await asyncio.sleep(3600)
                assert loop.time() == 3600.0
                assert harness.running_clock().now_ns == 3600 * 10**9

            @pytest.mark.asyncio
            @pytest.mark.virtual_time(wall_clock=True)
            async def test_wall_clock_follows():
                before = time.time()
                await asyncio.sleep(60)
                assert time.time() - before == 60.0

            @pytest.mark.asyncio
            async def test_other_async_tests_keep_a_real_loop():
                assert not isinstance(asyncio.get_running_loop(), harness.VirtualEventLoop)
            """
        )
    )
    pytester.runpytest("-p", "asyncio").assert_outcomes(passed=3)


def test_mock_upstreams_serve_a_users_own_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio
            import httpx
            import pytest
            import harness

            SCENARIO = harness.parse_scenario('''
            duration: 1m
            seed: 3
            upstreams:
              vertex:
                url: https://vertex.example/
                latency: 500ms
                failure_rate: 50%
                errors: {503: 100%}
            ''')

            async def statuses(mock_upstreams):
                mocks = mock_upstreams(SCENARIO)
                async with httpx.AsyncClient(transport=mocks.transport) as client:
                    loop = asyncio.get_running_loop()
                    start = loop.time()
                    responses = [await client.get("https://vertex.example/v1") for _ in range(20)]
                    assert loop.time() - start == 10.0  # 20 × 500 ms, virtually
                assert mocks.reached["vertex"] == 20
                return [r.status_code for r in responses]

            @pytest.mark.asyncio
            @pytest.mark.virtual_time
            async def test_faults_are_seeded(mock_upstreams):
                first = await statuses(mock_upstreams)
                assert set(first) == {200, 503}
                assert first == await statuses(mock_upstreams)

            @pytest.mark.asyncio
            @pytest.mark.virtual_time
            async def test_global_patching(mock_upstreams):
                mocks = mock_upstreams(SCENARIO)
                with mocks.router:
                    async with httpx.AsyncClient() as client:
                        response = await client.get("https://vertex.example/health")
                assert response.status_code in (200, 503)
            """
        )
    )
    pytester.runpytest("-p", "asyncio").assert_outcomes(passed=2)


def test_slo_run_fixture_runs_and_overrides(pytester: pytest.Pytester) -> None:
    pytester.mkdir("data")
    (pytester.path / "data" / "steady.yaml").write_text(PASSING)
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_run(slo_run):
                result = slo_run("data/steady.yaml")
                assert result.passed
                assert result.upstreams["t1"].client.latency.p95_ms == 6.0

            def test_override(slo_run):
                result = slo_run("data/steady.yaml", seed=2, **{"upstreams.t1.latency": "80ms"})
                assert result.seed == 2
                assert not result.passed
                assert [v.objective.text for _, v in result.failures] == ["p95 < 50ms"]
            """
        )
    )
    pytester.runpytest().assert_outcomes(passed=2)


@pytest.mark.xdist_group(SHARED)
def test_the_short_summary_names_an_invalid_files_first_problem(either_run: SessionRun) -> None:
    result = either_run.result
    result.stdout.fnmatch_lines(
        [
            "ERROR scenarios/broken.yaml::broken - invalid scenario: "
            "4:5: upstreams.t1.latncy: unknown key 'latncy'*(+1 more)"
        ]
    )
    assert result.stdout.str().count("ERROR at setup of invalid scenario: broken") == 1


def test_only_scenario_folders_inside_the_rootdir_count(pytester: pytest.Pytester) -> None:
    # A project checked out at .../scenarios/proj/: its own YAML files are not scenarios.
    project = pytester.mkdir("scenarios") / "proj"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (project / "docker-compose.yml").write_text("services:\n  db: {image: postgres}\n")
    (project / "tests" / "test_a.py").write_text("def test_x():\n    assert True\n")
    result = pytester.runpytest(project)
    result.assert_outcomes(passed=1)
    assert "docker-compose" not in result.stdout.str()
    (project / "scenarios").mkdir()
    (project / "scenarios" / "steady.yaml").write_text(PASSING)
    pytester.runpytest(project).assert_outcomes(passed=2)  # its own scenarios/ still counts


@pytest.mark.parametrize(
    "arguments",
    [["--slo-seed", "-5"], ["--slo-seed", str(2**63)], ["-o", "slo_seed=-1"]],
)
def test_seeds_are_checked_as_the_command_line_checks_them(
    project: pytest.Pytester, arguments: list[str]
) -> None:
    result = project.runpytest("scenarios/", *arguments)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected a seed between 0 and 2**63-1, got *"])
    assert "passed" not in result.stdout.str()


def test_the_replay_command_is_quoted_for_the_shell(pytester: pytest.Pytester) -> None:
    folder = pytester.mkdir("scenarios") / "my flaky ones"
    folder.mkdir()
    (folder / "it's.yaml").write_text(FAILING)
    result = pytester.runpytest("scenarios/")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*replay: python -m harness run 'scenarios/my flaky ones/it'\"'\"'s.yaml' --seed 0"]
    )
