"""The pytest plugin's sweeps (``--slo-seeds``), its search helper (``slo_search``) and the last
green run it keeps as the baseline (``reports/baseline/slo-results.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.engines.runner import run
from harness.explore.baseline import BASELINE_FILE
from harness.format.loader import load_scenario
from tests.support import only_deep

# 20 s at 5/s with 30% failures: success_rate >= 70% holds in roughly half the seeds.
FLAKY = """\
name: tiny-flaky
duration: 20s
engine: direct
upstreams:
  api:
    latency: 50ms
    failure_rate: 30%
    traffic: {rate: 5/s, arrivals: poisson}
    slo: [success_rate >= 70%]
"""
STEADY = """\
name: steady
duration: 10s
engine: direct
upstreams:
  api:
    latency: 5ms
    traffic: {rate: 5/s}
    slo: [success_rate >= 99%]
"""
SEEDS = range(1, 9)


@pytest.fixture(autouse=True)
def quiet_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "flaky.yaml").write_text(FLAKY)
    (scenarios / "steady.yaml").write_text(STEADY)
    return pytester


def failing_seeds(path: Path) -> list[int]:
    """The seeds of SEEDS whose single run fails, counted one run at a time."""
    scenario = load_scenario(path)
    return [seed for seed in SEEDS if not run(scenario, seed=seed, engine="direct").passed]


@pytest.mark.parametrize(
    "workers", [[], pytest.param(["-n", "2"], marks=only_deep)], ids=["alone", "xdist"]
)
def test_a_sweep_fails_on_any_failing_seed_and_lists_their_replays(
    project: pytest.Pytester, workers: list[str]
) -> None:
    failing = failing_seeds(project.path / "scenarios" / "flaky.yaml")
    assert 0 < len(failing) < len(SEEDS)  # the scenario is a real mix, or the test says nothing
    result = project.runpytest_subprocess(
        "scenarios/", "-p", "no:randomly", "--slo-seeds=1..8", "--slo-reports=reports", *workers
    )
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "def runtest" not in output
    passed = len(SEEDS) - len(failing)
    result.stdout.fnmatch_lines(
        [
            "sweep tiny-flaky  FAIL  (seeds 1..8, 8 runs, direct engine, *",
            f"*every check*{passed}/8*",
            f"failing seeds ({len(failing)}):",
        ]
    )
    for seed in failing:
        assert f"--seed {seed}" in output
    sweeps = json.loads((project.path / "reports" / "slo-sweeps.json").read_text())["sweeps"]
    by_name = {s["scenario"]["name"]: s for s in sweeps}
    assert [r["seed"] for r in by_name["tiny-flaky"]["failing_runs"]] == failing
    assert by_name["steady"]["verdict"] == "PASS"
    # The usual reports hold one representative run: the first failing seed.
    results = json.loads((project.path / "reports" / "slo-results.json").read_text())
    seeds = {r["scenario"]["name"]: r["seed"] for r in results["results"]}
    assert seeds == {"tiny-flaky": failing[0], "steady": 1}
    assert not (project.path / "reports" / BASELINE_FILE).exists()  # not a green run
    # A later session without sweeps replaces the set: no stale sweeps are left in it.
    project.runpytest("scenarios/steady.yaml", "--slo-reports=reports").assert_outcomes(passed=1)
    assert not (project.path / "reports" / "slo-sweeps.json").exists()


def test_requirements_judge_the_sweep_instead_of_every_seed(project: pytest.Pytester) -> None:
    project.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\nslo_seeds = 1..8\n"
        "slo_require =\n    api: success_rate >= 70% in 1%\n"
    )
    result = project.runpytest("scenarios/flaky.yaml", "-p", "no:randomly")
    # A share of 1% is reached when the lower end of the interval is above it: 8 runs with
    # several passes do reach it; the seeds that failed no longer fail the test.
    result.assert_outcomes(passed=1)
    strict = project.runpytest(
        "scenarios/flaky.yaml", "-p", "no:randomly", "--slo-require=api: success_rate >= 70% in 99%"
    )
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*api*success_rate >= 70%*FAIL*"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--slo-seeds=5..1"], "--slo-seeds: seed range '5..1' is reversed or empty*"),
        (["--slo-seeds=1..3", "--slo-require=half"], "--slo-require: requirement 'half'*"),
        (["--slo-require=50%"], "--slo-require needs --slo-seeds*"),
        (["--slo-seeds=1..3", "--slo-workers=0"], "--slo-workers: expected a whole number*"),
    ],
)
def test_bad_sweep_options_are_usage_errors(
    project: pytest.Pytester, arguments: list[str], message: str
) -> None:
    result = project.runpytest("scenarios/", *arguments)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}"])


def test_a_green_run_is_kept_as_the_baseline_and_compare_picks_it(
    project: pytest.Pytester,
) -> None:
    from harness.cli import main

    (project.path / "scenarios" / "flaky.yaml").unlink()
    (project.path / "reports").mkdir()
    (project.path / "reports" / "notes.txt").write_text("mine")
    green = project.runpytest("scenarios/", "--slo-reports=reports")
    green.assert_outcomes(passed=1)
    # The kept baseline is named as a file, not listed as a scenario's folder.
    green.stdout.fnmatch_lines(
        [f"reports written to reports/: *{BASELINE_FILE}", "  and per scenario (steady): *"]
    )
    kept = project.path / "reports" / BASELINE_FILE
    assert kept.read_bytes() == (project.path / "reports" / "slo-results.json").read_bytes()
    # A red run afterwards: the folder is swapped for the new set, the baseline stays green.
    broken = STEADY.replace("latency: 5ms", "latency: 5ms\n    failure_rate: 50%")
    (project.path / "scenarios" / "steady.yaml").write_text(broken)
    project.runpytest("scenarios/", "--slo-reports=reports").assert_outcomes(failed=1)
    assert json.loads(kept.read_text())["results"][0]["passed"] is True
    assert (project.path / "reports" / "notes.txt").read_text() == "mine"
    current = str(project.path / "reports" / "slo-results.json")
    reports = str(project.path / "reports")
    assert main(["compare", current, "--reports", reports, "--fail-on-regression"]) == 1
    assert main(["compare", current, "--baseline", "last-green", "--reports", reports]) == 0
    assert main(["compare", current, str(kept), "--fail-on-regression"]) == 1


def test_compare_without_a_kept_green_run_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    (tmp_path / "r.json").write_text("{}")
    code = main(["compare", str(tmp_path / "r.json"), "--reports", str(tmp_path)])
    assert code == 2
    assert "no last green run in" in capsys.readouterr().err


SEARCH_TESTS = """
from hypothesis import strategies as st

from harness import strategies
from harness.engines.runner import run

STEADY = "scenarios/steady.yaml"


def test_a_range_finds_the_mildest_breaking_rate(slo_search):
    found = slo_search(STEADY, vary={"upstreams.api.failure_rate": "0%..50%"}, max_examples=30)
    assert found is not None
    rate = found.upstreams["api"].failure_rate
    assert not run(found).passed  # the scenario returned fails as returned (seed fixed in it)
    milder = found.override({"upstreams.api.failure_rate": f"{rate * 100 - 0.05:.2f}%"})
    assert run(milder).passed  # one step milder holds: it is the mildest
    print("RATE", rate)


def test_strategies_are_drawn_and_shrunk(slo_search):
    percent = st.integers(0, 60).map(lambda p: f"{p}%")
    found = slo_search(STEADY, vary={"upstreams.api.failure_rate": percent}, max_examples=40)
    assert found is not None
    assert not run(found).passed
    rate = round(found.upstreams["api"].failure_rate * 100)
    assert run(found.override({"upstreams.api.failure_rate": f"{rate - 1}%"})).passed


def test_public_strategies_as_a_whole_profile(slo_search):
    found = slo_search(
        STEADY, vary={"upstreams.api": strategies.fault_profiles(max_latency_ms=50)},
        max_examples=40,
    )
    assert found is not None and not run(found).passed


def test_nothing_breaks_in_a_mild_range(slo_search):
    assert slo_search(STEADY, vary={"upstreams.api.failure_rate": "0%..0.5%"}) is None
"""


def test_slo_search_returns_the_mildest_breaking_scenario_or_none(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_search=SEARCH_TESTS)
    result = project.runpytest("test_search.py", "-p", "no:randomly", "-s")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*RATE 0.0*"])  # a mild rate: 50 calls, success_rate >= 99%


def test_slo_search_refuses_a_path_the_format_lacks(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bad="""
def test_bad(slo_search):
    slo_search("scenarios/steady.yaml", vary={"upstreams.api.failure_rat": "0%..50%"})
"""
    )
    result = project.runpytest("test_bad.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*failure_rat*", "*failure_rate*"])
