"""Comparing a run with a baseline: only differences the intervals can tell from chance count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.explore.baseline import compare

SCENARIO = """\
name: tiny
duration: {duration}
upstreams:
  api:
    latency: 50ms
    failure_rate: {failure_rate}
    traffic: {{rate: 10/s}}
    slo:
      - success_rate >= 60%
      - p95 < 1s
"""


def _results(tmp_path: Path, name: str, failure_rate: str, duration: str = "1m") -> Path:
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(SCENARIO.format(failure_rate=failure_rate, duration=duration))
    out = tmp_path / f"{name}.json"
    assert main(["run", str(scenario), "--engine", "direct", "--json", str(out)]) in (0, 1)
    return out


def _verdicts(report: dict) -> dict[str, str]:
    return {row["check"]: row["verdict"] for row in report["checks"]}


def test_a_real_drop_in_a_rate_is_a_regression(tmp_path: Path) -> None:
    base, worse = _results(tmp_path, "base", "10%"), _results(tmp_path, "worse", "35%")
    verdicts = _verdicts(compare(base, worse))
    assert verdicts["success_rate >= 60%"] == "REGRESSION"
    assert verdicts["p95 < 1s"] == "~"  # the latency is a constant 50 ms on both sides
    assert _verdicts(compare(worse, base))["success_rate >= 60%"] == "improved"


def test_a_small_difference_over_few_requests_is_no_regression(tmp_path: Path) -> None:
    """benchstat's habit: 20 requests a side cannot tell 10% from 20% failures."""
    base = _results(tmp_path, "base", "10%", duration="2s")
    worse = _results(tmp_path, "worse", "20%", duration="2s")
    report = compare(base, worse)
    row = next(r for r in report["checks"] if r["check"] == "success_rate >= 60%")
    assert row["current"]["samples"] == 20
    assert row["verdict"] == "~"
    assert report["regressions"] == 0


def test_fail_on_regression_sets_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, worse = _results(tmp_path, "base", "10%"), _results(tmp_path, "worse", "35%")
    capsys.readouterr()
    assert main(["compare", str(worse), str(base)]) == 0
    assert main(["compare", str(worse), str(base), "--fail-on-regression"]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert main(["compare", str(base), str(base), "--fail-on-regression"]) == 0


def test_sweeps_compare_pass_counts(tmp_path: Path) -> None:
    outputs = []
    for name, rate in (("base", "10%"), ("worse", "45%")):
        scenario = tmp_path / f"{name}.yaml"
        scenario.write_text(SCENARIO.format(failure_rate=rate, duration="20s"))
        out = tmp_path / f"{name}-sweep.json"
        main(["sweep", str(scenario), "--seeds", "1..15", "--json", str(out)])
        outputs.append(out)
    verdicts = _verdicts(compare(*outputs))
    assert verdicts["every check"] == "REGRESSION"  # 15/15 runs held before, none after


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _results(tmp_path, "base", "10%")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    sweep = tmp_path / "sweep.json"
    sweep.write_text(
        json.dumps(
            {
                "kind": "sweep",
                "scenario": {"name": "x"},
                "scenario_passes": {"pass_probability": 1, "runs": 1},
                "checks": [],
            }
        )
    )
    for current, baseline, message in (
        (junk, results, "cannot read it as JSON"),
        (tmp_path / "missing.json", results, "cannot read"),
        (sweep, results, "compare results with results"),
    ):
        assert main(["compare", str(current), str(baseline)]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err
