"""slo-metrics.txt: OpenMetrics text that Prometheus' own parser reads back."""

from __future__ import annotations

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
    closed = frozenset({*api, ("slo_breaker_state", "CLOSED")})
    assert samples["slo_breaker_state", closed] == 1
    failed = {*api, ("kind", "objective"), ("check", "success_rate >= 99%")}
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
