"""``junit.xml`` for CI dashboards: a testcase per scenario and per check.

Test names are stable so dashboards keep a check's history when its threshold changes: a
check's testcase is named ``upstream: measure`` (``vertex: p95``, ``vertex: expect opens``;
``#2`` from the second check of the same measure on), and its threshold is in the failure
message and the properties. Its classname is the scenario's name, and it carries ``file`` and
``line`` of the check in the scenario YAML (the attributes pytest's ``xunit1`` family writes,
which GitHub annotation actions and GitLab read).

The file validates against the common JUnit schema (Jenkins xunit-plugin's ``junit-10.xsd``,
the one pytest's ``xunit2`` family targets) but for those two testcase attributes, which that
schema does not list and its readers ignore. The schema allows ``<properties>`` only on a
``<testsuite>``, so each scenario is a testsuite whose properties carry the seed, the replay
command and, for every check, its text, observed value, threshold, unit, sample count, verdict
and line, named after the check's testcase (``vertex: p95 :: threshold``); for an upstream with
an error budget, the budget spent (``api: budget :: spent``, a ratio) and when each burn-rate
alert fired (``api: alert 14.4× (30s/2.5s) :: fired``: ``912.8s–931.2s`` or ``never``). Each
testcase also says the same in words in its ``<system-out>``, which CI systems show beside the test.

The scenario's own testcase records the run (its time, seed, replay command, how many checks
held); it fails only through its checks' testcases, so a suite's ``failures`` counts failed
checks once. A scenario that produced no result (its file failed to load, or its run crashed)
is a testsuite with one testcase in ``<error>``, the error text as its body, its classname the
file's path with dots for separators (``scenarios.typo``).

Built from results' JSON forms, so a run under pytest-xdist writes the same file.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from harness.errors import printable
from harness.report.burn import budget_view, spans_text
from harness.report.files import atomic_write
from harness.report.json import error_order
from harness.verdicts.checks import Check, replay_text, scenario_checks, stable_names

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
    named = list(zip(stable_names(every), every, strict=True))
    run_info = entry.get("run_info") or {}
    suite = ET.Element("testsuite", name=name)
    suite.set("tests", str(1 + len(every)))
    suite.set("failures", str(sum(not c.passed for c in every)))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", _seconds(run_info.get("wall_time_s", 0.0)))
    if "started_at" in run_info:
        suite.set("timestamp", str(run_info["started_at"]))
    if scenario.get("file"):
        suite.set("file", _text(scenario["file"]))
    suite.append(_properties(entry, named))
    suite.append(_scenario_case(entry, every))
    suite.extend(_check_case(entry, name, check) for name, check in named)
    return suite


def _properties(entry: Mapping[str, Any], named: Sequence[tuple[str, Check]]) -> ET.Element:
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
    for name, check in named:
        pairs += [
            (f"{name} :: check", check.text),
            (f"{name} :: verdict", check.verdict),
            (f"{name} :: observed", check.observed),
            (f"{name} :: threshold", check.threshold),
            (f"{name} :: unit", check.unit),
            (f"{name} :: samples", check.samples),
        ]
        if check.line is not None:
            pairs.append((f"{name} :: line", check.line))
        if check.note:
            pairs.append((f"{name} :: note", check.note))
    for upstream, data in entry["upstreams"].items():
        budget = budget_view(data)
        if budget is None:
            continue
        pairs.append((f"{upstream}: budget :: spent", budget.spent))
        pairs += [
            (f"{upstream}: alert {alert.label} :: fired", spans_text(alert) or "never")
            for alert in budget.alerts
        ]
    properties = ET.Element("properties")
    for key, value in pairs:
        ET.SubElement(properties, "property", name=_text(key), value=_value(value))
    return properties


def _scenario_case(entry: Mapping[str, Any], every: Sequence[Check]) -> ET.Element:
    name = _text(entry["scenario"]["name"])
    wall = (entry.get("run_info") or {}).get("wall_time_s", 0.0)
    case = ET.Element("testcase", classname=_classname(name), name=name, time=_seconds(wall))
    failed = [check for check in every if not check.passed]
    held = f"{len(every) - len(failed)} of {len(every)} checks held"
    listed = "".join(f"\n  FAIL  {_check_line(check)}" for check in failed)
    ET.SubElement(case, "system-out").text = _text(
        f"seed {entry['seed']}; {held}{listed}\nreplay: {replay_text(entry)}"
    )
    return case


def _check_case(entry: Mapping[str, Any], name: str, check: Check) -> ET.Element:
    classname = _classname(str(entry["scenario"]["name"]))
    case = ET.Element("testcase", classname=classname, name=_text(name), time="0.000")
    if entry["scenario"].get("file"):
        case.set("file", _text(entry["scenario"]["file"]))
        if check.line is not None:
            case.set("line", str(check.line))
    line = _check_line(check)
    if not check.passed:
        failure = ET.SubElement(case, "failure", message=_text(printable(line)), type=FAILURE_TYPE)
        failure.text = _text(f"FAIL  {line}\nreplay: {replay_text(entry)}")
    ET.SubElement(case, "system-out").text = _text(
        f"{check.verdict}  {line}\nthreshold {check.threshold_text}; "
        f"seed {entry['seed']}\nreplay: {replay_text(entry)}"
    )
    return case


def _check_line(check: Check) -> str:
    """Return ``vertex: p95 < 500ms  observed 1.12s over n=300  (note)``."""
    line = f"{check.name}  observed {check.observed_text}"
    if check.samples is not None:
        line += f" over n={check.samples}"
    if check.note:
        line += f"  ({check.note})"
    return line


def _error_suite(error: Mapping[str, Any]) -> ET.Element:
    """Return the testsuite of a scenario that produced no result: one testcase in error."""
    name = _text(error.get("name") or error.get("file") or "scenario")
    suite = ET.Element("testsuite", name=name, tests="1", failures="0", errors="1")
    suite.set("skipped", "0")
    suite.set("time", _seconds(0.0))
    classname = _classname(error.get("name") or _dotted_file(error.get("file")) or "scenario")
    if error.get("file"):
        suite.set("file", _text(error["file"]))
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=_seconds(0.0))
    if error.get("file"):
        case.set("file", _text(error["file"]))
    text = str(error["error"])
    message = f"{error['stage']} error: {text.splitlines()[0] if text else ''}"
    failure = ET.SubElement(case, "error", message=_text(printable(message)), type=ERROR_TYPE)
    failure.text = _text(text)
    return suite


def _dotted_file(file: object) -> str | None:
    """Return a file's path as a classname: no suffix, dots for separators."""
    if not file:
        return None
    path = PurePath(str(file).replace("\\", "/"))
    return ".".join(part for part in path.with_suffix("").parts if part not in ("/", ".", ".."))


def _classname(name: str) -> str:
    """Return ``name`` as a classname: dashboards split classnames on dots and path
    separators into packages, so separators become dots."""
    return _text(name.replace("/", ".").replace("\\", "."))


def _value(value: object) -> str:
    """Return a property value: strings as they are, numbers and null as JSON writes them."""
    return _text(value) if isinstance(value, str) else json.dumps(value)


def _text(value: object) -> str:
    """Return ``value`` as text XML 1.0 can hold (other characters written as ``\\xNN``)."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))


def _seconds(value: float) -> str:
    return f"{value:.3f}"
