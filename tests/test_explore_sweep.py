"""Seed sweeps: pass probabilities, spreads, failing seeds, exit codes, and equal bytes
whatever runs them (this process, a process pool, a Dask cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.engines.runner import run
from harness.explore import executors
from harness.explore.executors import InlineExecutor
from harness.explore.sweep import (
    Requirement,
    SweepPlan,
    parse_requirement,
    parse_seed_range,
    sweep,
    verdict_of,
)
from harness.format.loader import load_scenario
from harness.verdicts.result import ScenarioSource

FLAKY = """\
name: tiny-flaky
duration: 20s
upstreams:
  api:
    latency: 50ms
    failure_rate: 30%
    traffic: {rate: 5/s, arrivals: poisson}
    slo:
      - success_rate >= 70%
      - p95 < 1s
"""


@pytest.fixture
def flaky(tmp_path: Path) -> Path:
    path = tmp_path / "flaky.yaml"
    path.write_text(FLAKY)
    return path


def test_seed_ranges() -> None:
    assert parse_seed_range("1..500") == range(1, 501)
    assert parse_seed_range("7") == range(7, 8)
    assert parse_seed_range(" 3 .. 3 ") == range(3, 4)


@pytest.mark.parametrize(
    "text", ["5..1", "1..", "..4", "a..b", "-1..3", "1..2**70", "1...3", "0..1000000"]
)
def test_bad_seed_ranges_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="seed range"):
        parse_seed_range(text)


def test_requirements() -> None:
    assert parse_requirement("vertex: p95 < 500ms in 99%") == Requirement(
        "vertex", "p95 < 500ms", 0.99
    )
    assert parse_requirement("p95 < 500ms in 99% of runs") == Requirement(None, "p95 < 500ms", 0.99)
    assert parse_requirement("95%") == Requirement(None, None, 0.95)
    for bad in ("p95 < 500ms in lots", "0%", "vertex: 90%", ""):
        with pytest.raises(ValueError, match="requirement"):
            parse_requirement(bad)


def test_verdict_needs_the_whole_interval_on_one_side() -> None:
    assert verdict_of(0.991, 1.0, 0.99) == "PASS"
    assert verdict_of(0.9, 0.98, 0.99) == "FAIL"
    assert verdict_of(0.98, 1.0, 0.99) == "INCONCLUSIVE"


def test_pass_probability_is_the_frequency_of_single_runs(flaky: Path) -> None:
    """The issue's check, smaller: the sweep's count is what single runs give one by one, and
    its interval covers that frequency."""
    scenario = load_scenario(flaky)
    seeds = range(1, 41)
    by_hand = sum(run(scenario, seed=s, engine="direct").passed for s in seeds)
    plan = SweepPlan(scenario, seeds, "direct", ScenarioSource(str(flaky), None))
    report = sweep(plan, InlineExecutor())
    whole = report["scenario_passes"]
    assert (whole["passes"], whole["runs"]) == (by_hand, 40)
    assert 0 < by_hand < 40, "the scenario should fail for some seeds and hold for others"
    assert whole["interval"]["low"] <= by_hand / 40 <= whole["interval"]["high"]
    failing = [entry["seed"] for entry in report["failing_runs"]]
    assert len(failing) == 40 - by_hand
    assert f"--seed {failing[0]} --engine direct" in report["failing_runs"][0]["replay"]
    rate = report["checks"][0]
    assert rate["check"] == "success_rate >= 70%"
    assert rate["failing_seeds"] == failing
    assert rate["observed"]["p0"] <= rate["observed"]["p50"] <= rate["observed"]["p100"]


def _sweep(flaky: Path, tmp_path: Path, *extra: str, name: str = "out.json") -> tuple[int, dict]:
    out = tmp_path / name
    code = main(["sweep", str(flaky), "--seeds", "1..12", "--json", str(out), *extra])
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_workers_give_the_same_bytes(flaky: Path, tmp_path: Path) -> None:
    one, _ = _sweep(flaky, tmp_path, "--workers", "1", name="one.json")
    two, _ = _sweep(flaky, tmp_path, "--workers", "2", name="two.json")
    assert one == two
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_exit_codes_follow_the_requirements(flaky: Path, tmp_path: Path) -> None:
    code, report = _sweep(flaky, tmp_path)  # no requirement: every seed must pass
    assert code == 1
    assert report["verdict"] == "FAIL"
    code, report = _sweep(flaky, tmp_path, "--require", "p95 < 1s in 50%")
    assert code == 0
    assert report["verdict"] == "PASS"
    code, report = _sweep(flaky, tmp_path, "--require", "p95 < 1s in 99%")  # 12/12 is too few
    assert code == 3
    assert report["verdict"] == "INCONCLUSIVE"
    code, report = _sweep(flaky, tmp_path, "--require", "api: success_rate >= 99% in 90%")
    assert code == 1
    added = report["checks"][-1]
    assert (added["check"], added["required"], added["verdict"]) == (
        "success_rate >= 99%",
        0.9,
        "FAIL",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seeds", "9..2"], "reversed"),
        (["--seeds", "1..3", "--require", "nope: p95 < 1s in 90%"], "no upstream 'nope'"),
        (["--seeds", "1..3", "--require", "p95 < soon in 90%"], "slo"),
        (["--seeds", "1..3", "--workers", "0"], "at least 1"),
    ],
)
def test_bad_input_exits_2_before_any_run(
    flaky: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "never.json"
    assert main(["sweep", str(flaky), *extra, "--json", str(out)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert "seeds in" not in captured.out
    assert not out.exists()


def test_unreachable_scheduler_exits_2(
    flaky: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT_S", 1)
    assert main(["sweep", str(flaky), "--seeds", "1..3", "--dask", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_a_dask_cluster_gives_the_same_bytes(flaky: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    _sweep(flaky, tmp_path, "--workers", "1", name="one.json")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        code = main(
            [
                "sweep",
                str(flaky),
                "--seeds",
                "1..12",
                "--dask",
                cluster.scheduler_address,
                "--json",
                str(tmp_path / "dask.json"),
            ]
        )
    assert code == 1
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "dask.json").read_bytes()


def test_a_huge_seed_is_refused_in_a_short_message() -> None:
    with pytest.raises(ValueError, match="seed range") as caught:
        parse_seed_range("1.." + "9" * 5000)
    assert len(str(caught.value)) < 200
