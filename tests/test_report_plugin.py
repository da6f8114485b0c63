"""Reports from pytest: one folder of reports, the same with and without pytest-xdist; the
breaker-transition hook."""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.reporting import HOSTILE, OUTAGE, write_scenarios
from tests.shared_runs import ERROR_FILES, NAMES, OUTCOMES, SessionRun

STEADY = """\
duration: 20s
seed: 5
upstreams:
  t1:
    latency: 6ms
    traffic: {rate: 10/s}
    slo: [p95 < 50ms]
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
        text = path.read_text().replace(str(folder.parent), "<project>")  # where it ran
        if name == "slo-results.json":
            document = json.loads(text)
            for entry in document["results"]:
                entry.pop("run_info")
            files[name] = document
        elif name == "junit.xml":
            files[name] = re.sub(r' (time|timestamp)="[^"]*"', "", text)
        elif name == "slo-report.html":
            files[name] = _WALL.sub("", text)
        elif name == "slo-metrics.txt":  # each sample is stamped with its run's wall-clock start
            files[name] = re.sub(r"^([^#].* \S+) \S+$", r"\1", text, flags=re.MULTILINE)
        else:
            files[name] = text
    return files


def test_reports_folder_holds_every_report(project: pytest.Pytester) -> None:
    result = project.runpytest("scenarios/", "--slo-reports=out")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*reports written to out/: junit.xml, slo-metrics.prom, slo-metrics.txt, *"]
    )
    out = project.path / "out"
    assert {path.name for path in out.iterdir()} == {
        "junit.xml",
        "slo-metrics.prom",
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
            "status-series.jsonl",
        }
    suites = ET.parse(out / "junit.xml").getroot()
    assert [suite.get("name") for suite in suites] == [
        "<script>alert(1)</script>",
        "outage-demo",
        "steady",
    ]


def test_xdist_writes_the_same_reports_as_one_process(
    alone_run: SessionRun, xdist_run: SessionRun
) -> None:
    pytest.importorskip("harness.report.html", reason="needs the report extra")
    alone_run.result.assert_outcomes(**OUTCOMES)
    xdist_run.result.assert_outcomes(**OUTCOMES)
    one, two = _comparable(alone_run.reports), _comparable(xdist_run.reports)
    assert sorted(one) == sorted(two)
    for name in one:
        assert one[name] == two[name], name
    assert len(one) == 5 + 4 * len(NAMES)  # five session files, four files per scenario


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


CRASHING_HOOK = """
def pytest_slo_breaker_transition(item, upstream, at_ns, source, target):
    if item.name == "outage-demo":
        raise RuntimeError("the transition hook broke")
"""
INVALID = "duration: 1m\nupstreams: {v: {traffic: {rate: 1/s}, timeline: [{from: 30s, to: 61s}]}}\n"


def _results(folder: Path, name: str = "slo-results.json") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / name).read_text())
    return document


def test_crashed_and_invalid_scenarios_fail_every_report(project: pytest.Pytester) -> None:
    project.makeconftest(CRASHING_HOOK)
    (project.path / "scenarios" / "phase_past.yaml").write_text(INVALID)
    result = project.runpytest("scenarios/", "--slo-reports=out", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    out = project.path / "out"
    document = _results(out)
    assert document["passed"] is False
    errors = document["errors"]
    assert isinstance(errors, list)
    assert "RuntimeError: the transition hook broke" in errors[0].pop("error")
    assert errors == [
        {"file": "scenarios/outage.yaml", "name": "outage-demo", "stage": "call"},
        {
            "file": "scenarios/phase_past.yaml",
            "name": None,
            "stage": "collection",
            "error": f"{project.path / 'scenarios' / 'phase_past.yaml'}:2:66: "
            "upstreams.v.timeline[0].to: the phase ends at 61s, after the scenario's "
            "duration of 1m",
        },
    ]
    suites = ET.parse(out / "junit.xml").getroot()
    assert suites.get("errors") == "2"
    errored = [suite for suite in suites if suite.get("errors") == "1"]
    assert [suite.get("file") for suite in errored] == [
        "scenarios/outage.yaml",
        "scenarios/phase_past.yaml",
    ]
    result.stdout.fnmatch_lines(["ERROR*outage-demo*-*", "ERROR*scenarios/phas*-*"])
    if (out / "slo-report.html").exists():
        page = (out / "slo-report.html").read_text()
        assert "<title>SLO report — 4 scenarios, 2 failed</title>" in page
        assert "2 of 4 scenarios held every check; 2 produced no result" in page
        assert page.count('data-verdict="error"') == 2
        metrics = (out / "slo-metrics.prom").read_text()
        assert 'slo_scenario_error{file="scenarios/phase_past.yaml",scenario=""} 1.0\n' in metrics


def test_every_run_rewrites_the_reports_even_with_nothing_to_show(
    project: pytest.Pytester,
) -> None:
    project.runpytest("scenarios/steady.yaml", "--slo-reports=out").assert_outcomes(passed=1)
    out = project.path / "out"
    assert (out / "steady").is_dir()
    (out / "steady" / "notes.txt").write_text("mine")  # stays, and so does its folder
    (out / "hostile").mkdir()
    (out / "hostile" / "status.json").write_text("{}")  # not a whole scenario folder: stays
    (project.path / "scenarios" / "steady.yaml").write_text(INVALID)
    result = project.runpytest("scenarios/steady.yaml", "--slo-reports=out", "--slo-json=r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for document in (_results(out), _results(project.path, "r.json")):
        assert document["passed"] is False
        assert document["results"] == []
        assert [error["stage"] for error in document["errors"]] == ["collection"]
    assert sorted(p.name for p in (out / "steady").iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in (out / "hostile").iterdir()) == ["status.json"]
    empty = project.runpytest("scenarios/outage.yaml", "-k", "nothing_matches", "--slo-reports=out")
    assert empty.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert _results(out) | {"harness_version": None} == {
        "schema_version": _results(out)["schema_version"],
        "harness_version": None,
        "passed": False,
        "results": [],
        "errors": [],
    }


def test_a_report_that_fails_writes_nothing_and_says_so_in_one_line(
    project: pytest.Pytester,
) -> None:
    pytest.importorskip("harness.report.html", reason="needs the report extra")
    out = project.path / "out"
    out.mkdir()
    (out / "slo-results.json").write_text("from the last run")
    project.makeconftest(
        """
        import harness.report.html

        ORIGINAL = harness.report.html.html_document

        def broken(*args, **kwargs):
            raise RuntimeError("the chart broke")

        def pytest_configure(config):
            harness.report.html.html_document = broken

        def pytest_unconfigure(config):  # this session runs in the test's own process
            harness.report.html.html_document = ORIGINAL
        """
    )
    result = project.runpytest("scenarios/steady.yaml", "--slo-reports=out")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(["*SLO reports not written: RuntimeError: the chart broke"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert (out / "slo-results.json").read_text() == "from the last run"
    assert sorted(p.name for p in out.rglob("*")) == ["slo-results.json"]  # nothing new


def test_an_upstream_without_requests_is_reported_under_warnings_as_errors(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("harness.report.html", reason="needs the report extra")
    pytester.makeini(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
    )
    write_scenarios(
        pytester.path / "scenarios",
        idle="duration: 1s\nupstreams:\n  v:\n    traffic: {rate: 1/h}\n",
    )
    # In a subprocess: in this one, harness is imported already, which is itself a warning.
    result = pytester.runpytest_subprocess("scenarios/", "--slo-reports=out")
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str()
    assert (pytester.path / "out" / "slo-report.html").exists()


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("--slo-reports=afile", "--slo-reports=afile: afile is a file; expected a folder"),
        ("--slo-json=adir", "--slo-json=adir: adir is a folder; expected a file path"),
        ("--slo-json=afile/x.json", "--slo-json=afile/x.json: cannot create afile: *"),
        (
            "--slo-json=out/slo-results.json --slo-reports=out",
            "--slo-reports=out: --slo-reports out/slo-results.json is the same file as "
            "--slo-json out/slo-results.json",
        ),
    ],
)
def test_unwritable_report_paths_are_usage_errors_before_anything_runs(
    project: pytest.Pytester, option: str, expected: str
) -> None:
    (project.path / "afile").write_text("")
    (project.path / "adir").mkdir()
    result = project.runpytest("scenarios/", *option.split())
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{expected}"])
    assert "passed" not in result.stdout.str()


def test_a_run_drops_each_result_once_its_report_is_made(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        SEEN = []

        def pytest_runtest_teardown(item):
            SEEN.append(("item", item.result is None and item.report_digest is None))

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_logreport(report):
            if report.when == "call":
                SEEN.append(("report", not hasattr(report, "harness_report_digest")))

        def pytest_sessionfinish(session):
            assert SEEN and all(kept for _, kept in SEEN), SEEN
            open("seen.txt", "w").write(str(len(SEEN)))
        """
    )
    project.runpytest("scenarios/", "--slo-reports=out").assert_outcomes(passed=2, failed=1)
    assert (project.path / "seen.txt").read_text() == "6"


def test_nox_slo_installs_what_its_documented_parallel_run_needs() -> None:
    from tests.support import noxfile as load_noxfile

    noxfile = load_noxfile()

    class Session:
        def __init__(self) -> None:
            self.posargs = ["-n", "2"]
            self.installed: list[str] = []
            self.ran: list[str] = []

        def install(self, *arguments: str, env: object = None) -> None:
            self.installed += arguments

        def run(self, *arguments: str) -> None:
            self.ran += arguments

    session = Session()
    noxfile.slo(session)
    assert any(name.startswith("pytest-xdist") for name in session.installed)
    assert session.ran[-2:] == ["-n", "2"]


def test_reports_of_scenarios_no_longer_run_are_removed(project: pytest.Pytester) -> None:
    project.runpytest("scenarios/", "--slo-reports=out").assert_outcomes(passed=2, failed=1)
    out = project.path / "out"
    (out / "steady" / "notes.txt").write_text("mine")
    project.runpytest("scenarios/outage.yaml", "--slo-reports=out").assert_outcomes(failed=1)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["outage-demo", "steady"]
    assert [p.name for p in (out / "steady").iterdir()] == ["notes.txt"]  # only ours went


def test_broken_files_leave_every_other_result_in_every_report(either_run: SessionRun) -> None:
    result = either_run.result
    result.assert_outcomes(**OUTCOMES)
    out = either_run.reports
    document = _results(out)
    assert {entry["scenario"]["name"] for entry in document["results"]} == NAMES
    assert [error["file"] for error in document["errors"]] == ERROR_FILES
    suites = ET.parse(out / "junit.xml").getroot()
    assert {suite.get("name") for suite in suites} == NAMES | set(ERROR_FILES)
    for folder in ("steady", "outage-demo", "script-alert-1-script", "flaky"):
        assert (out / folder / "timeseries.csv").is_file()
    metrics = (out / "slo-metrics.prom").read_text()
    for name in ("steady", "outage-demo", "flaky"):
        assert f'scenario="{name}"' in metrics
    if (out / "slo-report.html").exists():
        page = (out / "slo-report.html").read_text()
        verdicts = re.findall(r'<section class="card scenario[^"]*"[^>]*data-verdict="(\w+)"', page)
        assert sorted(verdicts) == ["error", "error", "fail", "fail", "pass", "pass"]
    result.stdout.fnmatch_lines(["*SLO summary*"])
    summary = result.stdout.str().split("SLO summary", 1)[1]
    for name in ("steady", "outage-demo", "flaky", *ERROR_FILES):
        assert name in summary
