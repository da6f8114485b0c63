"""junit.xml: valid against the common JUnit schema, a testcase per scenario and per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from harness import Result, parse_objective
from harness.report.junit import junit_document
from harness.verdicts import checks
from harness.verdicts.checks import failure_text, format_value
from harness.verdicts.objectives import Verdict
from tests.reporting import JUNIT_XSD, hostile, outage, pair

__all__ = ["hostile", "outage"]  # fixtures


def _suites(*results: Result) -> ET.Element:
    return ET.fromstring(junit_document(pair(result)[0] for result in results).encode())


def test_junit_validates_against_the_common_schema(outage: Result, hostile: Result) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    document = junit_document(pair(result)[0] for result in (outage, hostile))
    schema.validate(document)  # raises, naming the element, if invalid


def test_a_testcase_per_scenario_and_per_objective_with_its_properties(outage: Result) -> None:
    [suite] = _suites(outage)
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == ["outage-demo"] + [f"{up}: {v.objective.text}" for up, v in outage.verdicts]
    # p95 < 120ms fails over the answered requests (it passed while shed ones counted as 0 ms)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("7", "3", "0")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["seed"] == "11"
    assert properties["replay"] == "python -m harness run scenarios/outage-demo.yaml --seed 11"
    p95 = outage.upstreams["api"].client.latency
    assert p95 is not None
    assert properties["api: p95 < 120ms :: observed"] == repr(p95.p95_ms)
    assert properties["api: p95 < 120ms :: threshold"] == "120.0"
    assert properties["api: p95 < 120ms :: unit"] == "ms"
    assert properties["api: p95 < 120ms :: samples"] == str(p95.samples)
    assert p95.samples < len(outage.upstreams["api"].samples)  # short-circuited ones have none
    assert properties["api: success_rate >= 99% :: verdict"] == "FAIL"
    assert properties["api: final_state == CLOSED :: observed"] == "CLOSED"


def test_failure_messages_read_like_the_terminal(outage: Result) -> None:
    [suite] = _suites(outage)
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    scenario_failure = cases["outage-demo"].find("failure")
    assert scenario_failure is not None
    assert scenario_failure.text == outage.failure_text()
    check_failure = cases["api: success_rate >= 99%"].find("failure")
    assert check_failure is not None
    observed = outage.failures[1][1].observed_text
    assert check_failure.get("message") == (
        f"api: success_rate >= 99%  observed {observed} over n=1204"
    )
    assert cases["api: final_state == CLOSED"].find("failure") is None


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
    case = next(c for c in suite.iter("testcase") if c.get("name", "").startswith("api: goes"))
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "api: goes CLOSED → OPEN → HALF_OPEN  observed CLOSED → OPEN → CLOSED"
    )
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["api: goes CLOSED → OPEN → HALF_OPEN :: unit"] == "states"


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
