"""Chaos search: hypothesis finds the mildest breaking profile, and the scenario written for it
fails the same way when run again."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from harness.cli import main
from harness.engines.runner import run
from harness.explore.search import Search, Vary, parse_vary, search
from harness.explore.sweep import checks_of
from harness.format.loader import load_scenario

OUTAGE = """\
name: short-outage
duration: 5m
upstreams:
  api:
    latency: 100ms
    timeline:
      - {name: outage, from: 1m, to: 3m, failure_rate: 100%, errors: {503: 100%}}
    traffic: {rate: 5/s}
    breaker:
      sliding_window_size: 20
      minimum_number_of_calls: 10
      wait_duration_in_open_state: 30s
      permitted_number_of_calls_in_half_open_state: 3
    slo:
      - success_rate >= 90%
"""


@pytest.fixture
def outage(tmp_path: Path) -> Path:
    path = tmp_path / "outage.yaml"
    path.write_text(OUTAGE)
    return path


def test_vary_kinds() -> None:
    rate = parse_vary("upstreams.api.failure_rate=0%..100%")
    assert (rate.kind, rate.steps, rate.value(0), rate.value(1), rate.value(1000)) == (
        "rate",
        1000,
        "0%",
        "0.1%",
        "100%",
    )
    length = parse_vary("upstreams.api.timeline.0.to=1m..3m")
    assert (length.kind, length.value(0), length.value(500), length.value(1000)) == (
        "duration",
        "1m",
        "2m",
        "3m",
    )
    count = parse_vary("upstreams.api.breaker.sliding_window_size=50..10")  # mild end first
    assert (count.kind, count.steps, count.value(0), count.value(40)) == ("count", 40, 50, 10)
    for bad in ("failure_rate", "x=1..", "x=0%..150%", "x=1s..soon"):
        with pytest.raises(ValueError, match="--vary"):
            parse_vary(bad)


def test_the_search_finds_the_mildest_outage_and_writes_it(outage: Path, tmp_path: Path) -> None:
    """The issue's check: a breaker that cannot hold 90% through a 2-minute outage; the search
    finds a breaking outage length, the written file fails the same way, a shorter one holds."""
    assert not run(load_scenario(outage)).passed  # the 2-minute outage breaks it
    out = tmp_path / "reports"
    vary = "upstreams.api.timeline.0.to=1m1s..3m"
    assert main(["search", str(outage), "--vary", vary, "--out", str(out)]) == 1
    report = json.loads((out / "search-short-outage.json").read_text())
    found = report["found"]
    assert found["failed"] == ["api: success_rate >= 90%"]
    assert report["reproduced"] is True
    written = load_scenario(out / "search-short-outage.yaml")
    again = run(written)
    assert not again.passed
    checks = checks_of(again.to_dict(run_info=False))
    assert [f"{c['upstream']}: {c['check']}" for c in checks if not c["passed"]] == found["failed"]
    (milder,) = found["milder"]
    assert milder == {"profile": milder["profile"], "broke": False, "run": True}
    assert run(load_scenario(outage).override(milder["profile"]), engine="direct").passed


def test_the_search_is_the_same_for_the_same_seeds(outage: Path) -> None:
    scenario = load_scenario(outage)
    vary = (parse_vary("upstreams.api.timeline.0.to=1m1s..3m"),)
    first = search(Search(scenario, vary, seed=0, max_examples=20))
    second = search(Search(scenario, vary, seed=0, max_examples=20))
    assert first == second
    assert first["found"] is not None


def test_no_breaking_profile_exits_0_and_writes_no_scenario(outage: Path, tmp_path: Path) -> None:
    vary = "upstreams.api.timeline.0.to=1m100ms..1m1s"  # at most a second: too short to open it
    out = tmp_path / "reports"
    assert (
        main(["search", str(outage), "--vary", vary, "--out", str(out), "--max-examples", "10"])
        == 0
    )
    assert json.loads((out / "search-short-outage.json").read_text())["found"] is None
    assert not (out / "search-short-outage.yaml").exists()


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ("upstreams.api.failur_rate=0%..50%", "did you mean 'failure_rate'"),
        ("upstreams.apx.failure_rate=0%..50%", "no entry 'apx'"),
        ("upstreams.api.failure_rate=0%..150%", "between 0% and 100%"),
        ("upstreams.api.failure_rate=1s..2s", "failure_rate"),
        ("upstreams.api.timeline.0.to=1m1s..6m", "duration"),  # past the scenario's end
    ],
)
def test_bad_ranges_exit_2_before_any_run(
    outage: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], vary: str, message: str
) -> None:
    out = tmp_path / "reports"
    assert main(["search", str(outage), "--vary", vary, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not any(out.glob("search-*"))


def test_a_scenario_broken_at_the_mild_end_reports_the_mild_end(outage: Path) -> None:
    """From Python, for people's own searches: the 2-minute outage breaks the scenario even
    with no background failures, so the mildest profile is the range's first value."""
    rates = Vary("upstreams.api.failure_rate", "rate", Fraction(0), Fraction(1, 2))
    report = search(Search(load_scenario(outage), (rates,), seed=0, max_examples=5))
    assert report["found"]["profile"] == {"upstreams.api.failure_rate": "0%"}
    assert report["found"]["milder"] == []


def test_a_search_over_several_seeds_is_the_same_on_any_number_of_workers(
    outage: Path, tmp_path: Path
) -> None:
    vary = "upstreams.api.timeline.0.to=1m1s..3m"
    texts = []
    out = tmp_path / "reports"  # one folder: the report names the file it wrote
    for workers in ("1", "2"):
        arguments = ["--seeds", "3..5", "--workers", workers, "--out", str(out)]
        assert main(["search", str(outage), "--vary", vary, *arguments]) == 1
        texts.append((out / "search-short-outage.json").read_bytes())
    assert texts[0] == texts[1]
    report = json.loads(texts[0])
    assert report["seeds"] == [3, 4, 5]
    assert report["found"]["failing_seeds"][0] == report["found"]["seed"]
    assert load_scenario(out / "search-short-outage.yaml").seed == report["found"]["seed"]
    assert report["reproduced"] is True
