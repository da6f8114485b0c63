"""junit.xml: valid against the common JUnit schema, a testcase per scenario and per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness import Result, parse_objective
from harness.report.junit import junit_document
from harness.verdicts import checks
from harness.verdicts.checks import failure_text, format_value
from harness.verdicts.objectives import Verdict
from tests.reporting import JUNIT_XSD, OUTAGE, hostile, outage, pair, run_text

__all__ = ["hostile", "outage"]  # fixtures


def _suites(*results: Result) -> ET.Element:
    return ET.fromstring(junit_document(pair(result)[0] for result in results).encode())


def test_junit_validates_against_the_common_schema(outage: Result, hostile: Result) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    errored = {"file": "scenarios/typo.yaml", "name": None, "stage": "collection", "error": "x"}
    document = junit_document((pair(result)[0] for result in (outage, hostile)), [errored])
    root = ET.fromstring(document.encode())
    located = 0
    for case in root.iter("testcase"):  # the two attributes pytest's xunit1 family adds
        located += case.attrib.pop("line", None) is not None
        case.attrib.pop("file", None)
    assert located == 7
    schema.validate(ET.tostring(root, "unicode"))  # raises, naming the element, if invalid


def test_a_testcase_per_scenario_and_per_objective_with_its_properties(outage: Result) -> None:
    [suite] = _suites(outage)
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == [
        "outage-demo",
        "api: p95",
        "api: success_rate",
        "api: opens",
        "api: final_state",
        "cache: p99",
        "cache: upstream.success_rate",
    ]
    failed = sum(not v.passed for _, v in outage.verdicts)
    assert failed >= 1
    # The scenario's own testcase does not fail again: failures count failed checks once.
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "7",
        str(failed),
        "0",
    )
    failing = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failing == [f"{up}: {v.objective.metric}" for up, v in outage.verdicts if not v.passed]
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["seed"] == "11"
    assert properties["replay"] == "python -m harness run scenarios/outage-demo.yaml --seed 11"
    p95 = outage.upstreams["api"].client.latency
    assert p95 is not None
    assert properties["api: p95 :: check"] == "p95 < 120ms"
    assert properties["api: p95 :: observed"] == repr(p95.p95_ms)
    assert properties["api: p95 :: threshold"] == "120.0"
    assert properties["api: p95 :: unit"] == "ms"
    assert properties["api: p95 :: samples"] == str(p95.samples)
    assert p95.samples < len(outage.upstreams["api"].samples)  # short-circuited ones have none
    assert properties["api: p95 :: line"] == "22"
    assert properties["api: success_rate :: verdict"] == "FAIL"
    assert properties["api: final_state :: observed"] == "CLOSED"


def test_test_names_stay_when_a_threshold_changes() -> None:
    base = OUTAGE
    tighter = base.replace("p95 < 120ms", "p95 < 1ms").replace("p99 < 5ms", "p99 <= 1s")
    names = []
    for text in (base, tighter):
        [suite] = _suites(run_text(text, "scenarios/outage-demo.yaml"))
        names.append([(c.get("classname"), c.get("name")) for c in suite.iter("testcase")])
    assert names[0] == names[1]
    assert len(set(names[0])) == len(names[0])


def test_checks_of_one_measure_are_numbered_not_merged() -> None:
    text = OUTAGE.replace("opens >= 1,", "opens >= 1, opens <= 9, time_open <= 1m,")
    [suite] = _suites(run_text(text, "scenarios/outage-demo.yaml"))
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names[3:6] == ["api: opens", "api: opens #2", "api: time_open"]


def test_junitparser_reads_file_line_and_messages(outage: Result, tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    errored = {"file": "scenarios/sub/typo.yaml", "name": None, "stage": "collection", "error": "x"}
    path = tmp_path / "junit.xml"
    path.write_text(junit_document([pair(outage)[0]], [errored]))
    xml = junitparser.JUnitXml.fromfile(str(path))
    cases = {case.name: case for suite in xml for case in suite}
    p95 = cases["api: p95"]
    assert (p95.classname, p95._elem.get("file"), p95._elem.get("line")) == (
        "outage-demo",
        "scenarios/outage-demo.yaml",
        "22",
    )
    lines = [int(cases[n]._elem.get("line")) for n in ("api: p95", "cache: p99")]
    assert lines == [OUTAGE.splitlines().index(line) + 1 for line in _slo_lines()]
    [failure] = cases["api: success_rate"].result
    assert failure.message.startswith("api: success_rate >= 99%  observed ")
    assert cases["api: final_state"].is_passed
    assert cases["outage-demo"].is_passed
    [error] = cases["scenarios/sub/typo.yaml"].result
    assert isinstance(error, junitparser.Error)
    assert cases["scenarios/sub/typo.yaml"].classname == "scenarios.sub.typo"
    failed = sum(not v.passed for _, v in outage.verdicts)
    assert (xml.tests, xml.failures, xml.errors) == (8, failed, 1)


def _slo_lines() -> list[str]:
    return [line for line in OUTAGE.splitlines() if line.strip().startswith("slo:")]


def test_failure_messages_read_like_the_terminal(outage: Result) -> None:
    [suite] = _suites(outage)
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["outage-demo"].find("failure") is None
    out = cases["outage-demo"].find("system-out")
    assert out is not None
    assert out.text is not None
    failed = [f"  FAIL  {up}: {v.objective.text}  observed " for up, v in outage.failures]
    assert out.text.startswith(f"seed 11; {6 - len(failed)} of 6 checks held\n")
    assert [
        line[: len(f)] for line, f in zip(out.text.splitlines()[1:], failed, strict=False)
    ] == failed
    check_failure = cases["api: success_rate"].find("failure")
    assert check_failure is not None
    [observed] = [
        v.observed_text for up, v in outage.failures if v.objective.metric == "success_rate"
    ]
    assert check_failure.get("message") == (
        f"api: success_rate >= 99%  observed {observed} over n=1204"
    )
    assert cases["api: final_state"].find("failure") is None


def test_strings_from_a_scenario_stay_text_and_valid_xml(hostile: Result) -> None:
    entry, _ = pair(hostile)
    entry["scenario"]["name"] = "bell\x07 <b>&amp;"
    root = ET.fromstring(junit_document([entry]).encode())
    assert root[0].get("name") == "bell\\x07 <b>&amp;"


def test_the_terminal_failure_text_is_rebuilt_from_json(outage: Result) -> None:
    assert failure_text(pair(outage)[0]) == outage.failure_text()


@pytest.mark.parametrize(
    ("objective", "observed"),
    [
        ("p95 < 20ms", 11.1071234),
        ("success_rate >= 99.9%", 0.968823),
        ("time_open <= 4m", 180854.0),
        ("opens >= 1", 6.0),
        ("final_state == CLOSED", "OPEN"),
        ("p99 < 1s", None),
    ],
)
def test_values_are_formatted_as_the_terminal_formats_them(objective: str, observed: Any) -> None:
    parsed = parse_objective(objective)
    verdict = Verdict(parsed, observed, 10, False)
    assert format_value(observed, parsed.kind.value) == verdict.observed_text


def test_breaker_expectations_are_reported_like_objectives(outage: Result) -> None:
    entry, _ = pair(outage)
    entry["upstreams"]["api"]["expectations"] = [
        {
            "expectation": "goes CLOSED → OPEN → HALF_OPEN",
            "check": "sequence",
            "observed": ["CLOSED", "OPEN", "CLOSED"],
            "threshold": ["CLOSED", "OPEN", "HALF_OPEN"],
            "unit": "states",
            "passed": False,
            "note": None,
        }
    ]
    [suite] = ET.fromstring(junit_document([entry]).encode())
    case = next(c for c in suite.iter("testcase") if c.get("name") == "api: expect sequence")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "api: goes CLOSED → OPEN → HALF_OPEN  observed CLOSED → OPEN → CLOSED"
    )
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["api: expect sequence :: unit"] == "states"


def test_a_new_verdict_list_is_reported_by_naming_it(
    outage: Result, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry, _ = pair(outage)
    entry["upstreams"]["api"]["probes"] = [
        {"probe": "health answers", "observed": 3, "threshold": None, "passed": True, "note": None}
    ]
    monkeypatch.setattr(checks, "CHECK_LISTS", (*checks.CHECK_LISTS, ("probes", "probe")))
    root = ET.fromstring(junit_document([entry]).encode())
    assert "api: health answers" in [case.get("name") for case in root.iter("testcase")]
