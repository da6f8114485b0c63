"""Scenarios and helpers shared by the report tests (tests/test_report*.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import Result, Scenario, run
from harness.format.loader import check_lines_in
from harness.format.yamlsource import read_yaml
from harness.report.digest import digest, digest_from_json, digest_to_json
from harness.verdicts.result import ScenarioSource
from tests.support import ROOT, scenario

JUNIT_XSD = ROOT / "tests" / "data" / "junit-10.xsd"

OUTAGE = """\
name: outage-demo
description: An API down for 30 s; its breaker opens, probes and closes again.
seed: 11
duration: 2m
upstreams:
  api:
    latency: {dist: lognormal, p50: 40ms, p95: 120ms}
    failure_rate: 2%
    timeline:
      - name: outage
        from: 40s
        to: 70s
        failure_rate: 100%
        latency: 5ms
        errors: {connect_error: 50%, 503: 50%}
    traffic: {rate: 10/s, arrivals: poisson, timeout: 2s}
    breaker:
      sliding_window_size: 20
      minimum_number_of_calls: 10
      wait_duration_in_open_state: 10s
      permitted_number_of_calls_in_half_open_state: 3
    slo: [p95 < 120ms, success_rate >= 99%, opens >= 1, final_state == CLOSED]
  cache:
    latency: 2ms
    traffic: {rate: 5/s}
    slo: [p99 < 5ms, upstream.success_rate == 100%]
"""
HOSTILE = """\
name: <script>alert(1)</script>
description: <img src=x onerror=alert(2)> & "quotes" 'too'
seed: 2
duration: 30s
upstreams:
  web:
    latency: 10ms
    timeline:
      - {name: "</svg><script>alert(3)</script> $x^2$", from: 10s, to: 20s, latency: 50ms}
    traffic: {rate: 10/s}
    breaker: {sliding_window_size: 10, minimum_number_of_calls: 10}
    slo: [p95 < 100ms]
"""


def run_text(text: str, file: str) -> Result:
    """Run scenario YAML as if loaded from ``file`` (recorded as the result's source)."""
    loaded: Scenario = scenario(text, file)
    lines = check_lines_in(read_yaml(text, file).source_map)
    return run(loaded, source=ScenarioSource(file, "0" * 64, lines))


def pair(result: Result) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (result JSON, digest) as a pytest-xdist worker would send them: through JSON."""
    entry = json.loads(json.dumps(result.to_dict()))
    return entry, digest_from_json(json.loads(json.dumps(digest_to_json(digest(result)))))


def write_scenarios(folder: Path, **texts: str) -> None:
    """Write scenario files ``NAME.yaml`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text)


@pytest.fixture(scope="module")
def outage() -> Result:
    """A two-upstream run with an outage phase, breaker transitions and one failing objective."""
    return run_text(OUTAGE, "scenarios/outage-demo.yaml")


@pytest.fixture(scope="module")
def hostile() -> Result:
    """A run whose names and description are HTML and TeX meant to break a report."""
    return run_text(HOSTILE, "scenarios/hostile.yaml")
