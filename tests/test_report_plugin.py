"""Reports from pytest: one folder of reports, the same with and without pytest-xdist; the
breaker-transition hook."""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.reporting import HOSTILE, OUTAGE, write_scenarios

STEADY = """\
duration: 20s
seed: 5
upstreams:
  t1:
    latency: 6ms
    traffic: {rate: 10/s}
    slo: [p95 < 50ms]
"""
FLAKY = """\
duration: 20s
upstreams:
  vertex:
    latency: 500ms
    failure_rate: 30%
    traffic: {rate: 10/s}
    slo: [success_rate >= 90%]
"""
_WALL = re.compile(r'<span class="[^"]*\bwall\b[^"]*">.*?</span>', re.DOTALL)


@pytest.fixture(autouse=True)
def quiet_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_scenarios(pytester.path / "scenarios", steady=STEADY, outage=OUTAGE, hostile=HOSTILE)
    return pytester


def _comparable(folder: Path) -> dict[str, object]:
    """Return every report file's content, leaving out the wall-clock facts of the run."""
    files: dict[str, object] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        text = path.read_text()
        if name == "slo-results.json":
            document = json.loads(text)
            for entry in document["results"]:
                entry.pop("run_info")
            files[name] = document
        elif name == "junit.xml":
            files[name] = re.sub(r' (time|timestamp)="[^"]*"', "", text)
        elif name == "slo-report.html":
            files[name] = _WALL.sub("", text)
        else:
            files[name] = text
    return files


def test_reports_folder_holds_every_report(project: pytest.Pytester) -> None:
    result = project.runpytest("scenarios/", "--slo-reports=out")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*reports written to out/: junit.xml, slo-metrics.txt, *"])
    out = project.path / "out"
    assert {path.name for path in out.iterdir()} == {
        "junit.xml",
        "slo-metrics.txt",
        "slo-report.html",
        "slo-results.json",
        "outage-demo",
        "steady",
        "script-alert-1-script",
    }
    for folder in ("outage-demo", "steady", "script-alert-1-script"):
        assert {p.name for p in (out / folder).iterdir()} == {
            "timeseries.csv",
            "p95-results.json",
            "status.json",
        }
    suites = ET.parse(out / "junit.xml").getroot()
    assert [suite.get("name") for suite in suites] == [
        "<script>alert(1)</script>",
        "outage-demo",
        "steady",
    ]


def test_xdist_writes_the_same_reports_as_one_process(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytest.importorskip("harness.report.html", reason="needs the report extra")
    write_scenarios(pytester.path / "scenarios", steady=STEADY, flaky=FLAKY, hostile=HOSTILE)
    alone = pytester.runpytest_subprocess("scenarios/", "--slo-reports=alone")
    alone.assert_outcomes(passed=2, failed=1)
    spread = pytester.runpytest_subprocess("scenarios/", "-n", "2", "--slo-reports=spread")
    spread.assert_outcomes(passed=2, failed=1)
    one, two = _comparable(pytester.path / "alone"), _comparable(pytester.path / "spread")
    assert sorted(one) == sorted(two)
    for name in one:
        assert one[name] == two[name], name
    assert len(one) == 4 + 3 * 3  # four session files, three files per scenario


def test_junitxml_and_reports_cannot_write_the_same_file(project: pytest.Pytester) -> None:
    result = project.runpytest("scenarios/", "--slo-reports=out", "--junitxml=out/junit.xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*would both write out/junit.xml*"])


def test_the_transition_hook_is_told_of_every_transition(project: pytest.Pytester) -> None:
    project.makeconftest(
        textwrap.dedent(
            """
            import json

            def pytest_slo_breaker_transition(item, upstream, at_ns, source, target):
                with open("transitions.jsonl", "a") as log:
                    line = [item.name, upstream, at_ns / 1e6, source.name, target.name]
                    log.write(json.dumps(line) + "\\n")
            """
        )
    )
    project.runpytest("scenarios/outage.yaml", "--slo-json=results.json")
    lines = (project.path / "transitions.jsonl").read_text().splitlines()
    logged = [json.loads(line) for line in lines]
    [entry] = json.loads((project.path / "results.json").read_text())["results"]
    recorded = [
        ["outage-demo", "api", move["at_ms"], move["from"], move["to"]]
        for move in entry["upstreams"]["api"]["breaker"]["transitions"]
    ]
    assert logged == recorded
    assert [move[4] for move in logged][:2] == ["OPEN", "HALF_OPEN"]
