"""``junit.xml`` for CI dashboards: a testcase per scenario and per objective.

The file validates against the common JUnit schema (Jenkins xunit-plugin's ``junit-10.xsd``,
the one pytest's ``xunit2`` family targets). That schema allows ``<properties>`` only on a
``<testsuite>``, so each scenario is a testsuite whose properties carry the seed, the replay
command and, for every check, its observed value, threshold, unit, sample count and verdict,
named after the check's testcase (``vertex: p95 < 20ms :: observed``). Each testcase also
says the same in words in its ``<system-out>``, which CI systems show beside the test.

A scenario that produced no result (its file failed to load, or its run crashed) is a
testsuite with one testcase in ``<error>``, the error text as its body.

Built from results' JSON forms, so a run under pytest-xdist writes the same file.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import printable
from harness.report.files import atomic_write
from harness.report.json import error_order
from harness.verdicts.checks import Check, failure_text, replay_text, scenario_checks

__all__ = ["junit_document", "write_junit"]

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FAILURE_TYPE = "SLOViolation"
ERROR_TYPE = "ScenarioError"


def write_junit(
    path: str | Path,
    entries: Iterable[Mapping[str, Any]],
    errors: Iterable[Mapping[str, Any]] = (),
) -> Path:
    """Write ``junit.xml`` for results in their JSON form (any order; the file is sorted)."""
    return atomic_write(path, junit_document(entries, errors))


def junit_document(
    entries: Iterable[Mapping[str, Any]], errors: Iterable[Mapping[str, Any]] = ()
) -> str:
    """Return the JUnit XML text: results, then scenarios that errored (see harness.report.json)."""
    ordered = sorted(entries, key=lambda e: (str(e["scenario"]["file"]), e["scenario"]["name"]))
    suites = [_testsuite(entry) for entry in ordered]
    suites += [_error_suite(error) for error in sorted(errors, key=error_order)]
    root = ET.Element("testsuites", name="slo-harness")
    _set_counts(root, suites)
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _set_counts(element: ET.Element, suites: Sequence[ET.Element]) -> None:
    element.set("tests", str(sum(int(suite.get("tests", "0")) for suite in suites)))
    element.set("failures", str(sum(int(suite.get("failures", "0")) for suite in suites)))
    element.set("errors", str(sum(int(suite.get("errors", "0")) for suite in suites)))
    seconds = sum(float(suite.get("time", "0")) for suite in suites)
    element.set("time", _seconds(seconds))


def _testsuite(entry: Mapping[str, Any]) -> ET.Element:
    scenario = entry["scenario"]
    name = _text(scenario["name"])
    every = scenario_checks(entry)
    run_info = entry.get("run_info") or {}
    suite = ET.Element("testsuite", name=name)
    suite.set("tests", str(1 + len(every)))
    suite.set("failures", str((not entry["passed"]) + sum(not c.passed for c in every)))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", _seconds(run_info.get("wall_time_s", 0.0)))
    if "started_at" in run_info:
        suite.set("timestamp", str(run_info["started_at"]))
    if scenario.get("file"):
        suite.set("file", _text(scenario["file"]))
    suite.append(_properties(entry, every))
    suite.append(_scenario_case(entry, every))
    suite.extend(_check_case(entry, check) for check in every)
    return suite


def _properties(entry: Mapping[str, Any], every: Sequence[Check]) -> ET.Element:
    scenario = entry["scenario"]
    pairs: list[tuple[str, object]] = [
        ("seed", entry["seed"]),
        ("scenario.file", scenario.get("file")),
        ("scenario.sha256", scenario.get("sha256")),
        ("scenario.duration_ms", scenario.get("duration_ms")),
        ("percentile_method", scenario.get("percentile_method")),
        ("engine", entry.get("engine")),
        ("harness_version", entry.get("harness_version")),
        ("replay", replay_text(entry)),
    ]
    for check in every:
        pairs += [
            (f"{check.name} :: verdict", check.verdict),
            (f"{check.name} :: observed", check.observed),
            (f"{check.name} :: threshold", check.threshold),
            (f"{check.name} :: unit", check.unit),
            (f"{check.name} :: samples", check.samples),
        ]
        if check.note:
            pairs.append((f"{check.name} :: note", check.note))
    properties = ET.Element("properties")
    for key, value in pairs:
        ET.SubElement(properties, "property", name=_text(key), value=_value(value))
    return properties


def _scenario_case(entry: Mapping[str, Any], every: Sequence[Check]) -> ET.Element:
    name = _text(entry["scenario"]["name"])
    wall = (entry.get("run_info") or {}).get("wall_time_s", 0.0)
    case = ET.Element("testcase", classname=name, name=name, time=_seconds(wall))
    failed = [check for check in every if not check.passed]
    if not entry["passed"]:
        listed = "; ".join(f"{c.name} observed {c.observed_text}" for c in failed)
        message = f"{len(failed)} of {len(every)} checks failed: {listed}"
        failure = ET.SubElement(
            case, "failure", message=_text(printable(message)), type=FAILURE_TYPE
        )
        failure.text = _text(failure_text(entry))
    ET.SubElement(case, "system-out").text = _text(
        f"seed {entry['seed']}; {len(every) - len(failed)} of {len(every)} checks held\n"
        f"replay: {replay_text(entry)}"
    )
    return case


def _check_case(entry: Mapping[str, Any], check: Check) -> ET.Element:
    classname = _text(entry["scenario"]["name"])
    case = ET.Element("testcase", classname=classname, name=_text(check.name), time="0.000")
    line = f"{check.name}  observed {check.observed_text}"
    if check.samples is not None:
        line += f" over n={check.samples}"
    if check.note:
        line += f"  ({check.note})"
    if not check.passed:
        failure = ET.SubElement(case, "failure", message=_text(printable(line)), type=FAILURE_TYPE)
        failure.text = _text(f"FAIL  {line}\nreplay: {replay_text(entry)}")
    ET.SubElement(case, "system-out").text = _text(
        f"{check.verdict}  {line}\nthreshold {check.threshold_text}; "
        f"seed {entry['seed']}\nreplay: {replay_text(entry)}"
    )
    return case


def _error_suite(error: Mapping[str, Any]) -> ET.Element:
    """Return the testsuite of a scenario that produced no result: one testcase in error."""
    name = _text(error.get("name") or error.get("file") or "scenario")
    suite = ET.Element("testsuite", name=name, tests="1", failures="0", errors="1")
    suite.set("skipped", "0")
    suite.set("time", _seconds(0.0))
    if error.get("file"):
        suite.set("file", _text(error["file"]))
    case = ET.SubElement(suite, "testcase", classname=name, name=name, time=_seconds(0.0))
    text = str(error["error"])
    message = f"{error['stage']} error: {text.splitlines()[0] if text else ''}"
    failure = ET.SubElement(case, "error", message=_text(printable(message)), type=ERROR_TYPE)
    failure.text = _text(text)
    return suite


def _value(value: object) -> str:
    """Return a property value: strings as they are, numbers and null as JSON writes them."""
    return _text(value) if isinstance(value, str) else json.dumps(value)


def _text(value: object) -> str:
    """Return ``value`` as text XML 1.0 can hold (other characters written as ``\\xNN``)."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))


def _seconds(value: float) -> str:
    return f"{value:.3f}"
