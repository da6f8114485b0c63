"""slo-metrics.txt (OpenMetrics, stamped for backfill) and slo-metrics.prom (Prometheus text
0.0.4 for node_exporter's textfile collector): checked with promtool where it is installed
(Debian's ``prometheus`` package; CI installs it, and there a missing promtool fails), and
always with prometheus_client's parsers and the naming rules promtool lints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from harness import Result
from tests.reporting import outage, pair

__all__ = ["outage"]  # fixtures

parser = pytest.importorskip("prometheus_client.openmetrics.parser")
openmetrics = pytest.importorskip("harness.report.openmetrics")


def _samples(result: Result) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = openmetrics.openmetrics_text([pair(result)[0]])
    assert text.endswith("# EOF\n")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_final_metrics_parse_back_with_their_values(outage: Result) -> None:
    samples = _samples(outage)
    scenario = {("scenario", "outage-demo"), ("file", "scenarios/outage-demo.yaml")}
    api = {*scenario, ("upstream", "api")}
    for outcome, count in outage.upstreams["api"].samples.outcome_counts().items():
        assert samples["slo_requests_total", frozenset({*api, ("outcome", outcome)})] == count
    latency = outage.upstreams["api"].client.latency
    assert latency is not None
    client = {*api, ("view", "client")}
    p95 = samples["slo_latency_seconds", frozenset({*client, ("quantile", "0.95")})]
    assert p95 == pytest.approx(latency.p95_ms / 1000)
    assert samples["slo_latency_seconds_count", frozenset(client)] == latency.samples
    assert samples["slo_breaker_opens_total", frozenset(api)] == 3
    closed = frozenset({*api, ("state", "CLOSED")})
    assert samples["slo_breaker_state", closed] == 1
    assert samples["slo_breaker_state", frozenset({*api, ("state", "OPEN")})] == 0
    failed = {*api, ("kind", "objective"), ("check", "success_rate")}
    assert samples["slo_check_passed", frozenset(failed)] == 0
    assert samples["slo_scenario_passed", frozenset(scenario)] == 0
    assert samples["slo_scenario_error", frozenset(scenario)] == 0


def test_label_values_from_a_scenario_are_escaped(outage: Result) -> None:
    entry, _ = pair(outage)
    entry["scenario"]["name"] = 'quote " backslash \\ newline \n end'
    text = openmetrics.openmetrics_text([entry])
    families = list(parser.text_string_to_metric_families(text))
    names = {s.labels.get("scenario") for family in families for s in family.samples}
    assert 'quote " backslash \\ newline \n end' in names


def test_scenarios_sharing_a_name_stay_distinct_series(outage: Result) -> None:
    entry, _ = pair(outage)
    same = {**entry, "scenario": {**entry["scenario"], "name": "same", "file": "a/x.yaml"}}
    other = {**same, "scenario": {**same["scenario"], "file": "b/x.yaml"}}
    errored = {"file": "c/x.yaml", "name": None, "stage": "collection", "error": "bad"}
    text = openmetrics.openmetrics_text([same, other, same], [errored])
    families = list(parser.text_string_to_metric_families(text))  # raises on a repeated series
    passed = {
        (s.labels["scenario"], s.labels["file"]): s.value
        for family in families
        for s in family.samples
        if s.name == "slo_scenario_passed"
    }
    assert passed == {
        ("same", "a/x.yaml"): 0,
        ("same #2", "a/x.yaml"): 0,  # the same file run twice
        ("same", "b/x.yaml"): 0,
        ("", "c/x.yaml"): 0,  # and the file that failed to load
    }


def _promtool() -> str | None:
    found = shutil.which("promtool")
    if found is None and os.environ.get("CI"):
        pytest.fail("promtool is missing; CI must check the metrics with it")
    return found


def test_prometheus_text_passes_promtool_check_metrics(outage: Result, tmp_path: Path) -> None:
    errored = {"file": "c/x.yaml", "name": None, "stage": "collection", "error": "bad"}
    text = openmetrics.prometheus_text([pair(outage)[0]], [errored])
    promtool = _promtool()
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_openmetrics_backfills_at_the_runs_start(outage: Result, tmp_path: Path) -> None:
    entry = pair(outage)[0]
    text = openmetrics.openmetrics_text([entry])
    started = datetime.fromisoformat(entry["run_info"]["started_at"]).timestamp()
    stamps = {float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[0] != "#"}
    assert stamps == {started}
    promtool = _promtool()
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    (tmp_path / "m.txt").write_text(text)
    command = [promtool, "tsdb", "create-blocks-from", "openmetrics", "m.txt", "tsdb"]
    made = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    samples = sum(1 for line in text.splitlines() if line[0] != "#")
    assert re.search(rf"\s{samples}\s+{samples}\s+{samples}\s", made.stdout), made.stdout


def test_without_run_info_nothing_is_stamped(outage: Result) -> None:
    entry = pair(outage)[0]
    del entry["run_info"]
    errored = {"file": "c/x.yaml", "name": None, "stage": "collection", "error": "bad"}
    text = openmetrics.openmetrics_text([entry], [errored])
    assert all(len(line.split("} ")[-1].split()) == 1 for line in text.splitlines() if "{" in line)


_UNITS = ("seconds", "ratio", "bytes")
_NOT_BASE = re.compile(r"_(ms|milliseconds|minutes|hours|percent|sec|secs|s)(_|$)")


def test_both_texts_keep_promtools_naming_rules(outage: Result) -> None:
    text_parser = pytest.importorskip("prometheus_client.parser")
    entry = pair(outage)[0]
    flat = openmetrics.prometheus_text([entry])
    assert "# EOF" not in flat
    assert not re.search(r"\} \S+ \S+$", flat, re.MULTILINE)  # no timestamps for textfiles
    families = list(text_parser.text_string_to_metric_families(flat))
    assert {family.type for family in families} <= {"gauge", "counter", "summary"}
    for family in families:
        assert family.documentation, family.name
        assert not _NOT_BASE.search(family.name), family.name
        names = {sample.name for sample in family.samples}
        if family.type == "counter":
            assert names == {f"{family.name}_total"}
        units = {sample.labels.get("unit") for sample in family.samples}
        assert units == {None}, family.name  # one unit per name, in the name
    stamped = {
        family.name: family
        for family in parser.text_string_to_metric_families(openmetrics.openmetrics_text([entry]))
    }
    assert set(stamped) == {family.name for family in families}  # the same series in both


def test_check_values_are_in_base_units_and_keep_their_series(outage: Result) -> None:
    samples = _samples(outage)
    api = {("scenario", "outage-demo"), ("file", "scenarios/outage-demo.yaml"), ("upstream", "api")}
    p95 = frozenset({*api, ("kind", "objective"), ("check", "p95")})
    assert samples["slo_check_threshold_seconds", p95] == 0.12
    rate = frozenset({*api, ("kind", "objective"), ("check", "success_rate")})
    assert samples["slo_check_threshold_ratio", rate] == 0.99
    opens = frozenset({*api, ("kind", "objective"), ("check", "opens")})
    assert samples["slo_check_observed", opens] == 3
