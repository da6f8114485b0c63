"""The HTML report's charts: SLO lines only over the series they are about, honest notes,
long runs drawn at a readable resolution, and no warning escaping into a user's session."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from harness import Result
from harness.report.digest import DISPLAY_POINTS, digest
from harness.verdicts.checks import Check, checks
from harness.verdicts.metrics import answered
from tests.reporting import outage, pair, run_text
from tests.support import nearest_rank

__all__ = ["outage"]  # fixtures

html = pytest.importorskip("harness.report.html", reason="needs the report extra")
timeline = pytest.importorskip("harness.report.timeline_chart", reason="needs the report extra")


def _check(text: str, unit: str, threshold: float) -> Check:
    return Check("v", "objective", text, True, threshold, threshold, unit, 100, None)


def _series(unsent: int = 0, client: float = 1.0, upstream: float = 1.0) -> dict[str, Any]:
    return {
        "bucket_ms": 5000.0,
        "t_ms": [0.0, 5000.0],
        "requests": [50, 50],
        "p50_ms": [5.0, 6.0],
        "p95_ms": [9.0, 11.0],
        "success_rate": [client, client],
        "upstream_success_rate": [upstream, upstream],
        "unsent": unsent,
    }


P95 = _check("p95 < 20ms", "ms", 20.0)
P99 = _check("p99 < 30ms", "ms", 30.0)
UPSTREAM_P95 = _check("upstream.p95 < 20ms", "ms", 20.0)
SUCCESS = _check("success_rate >= 90%", "ratio", 0.9)
UPSTREAM_SUCCESS = _check("upstream.success_rate >= 65%", "ratio", 0.65)


def test_each_slo_line_is_drawn_only_over_its_own_series() -> None:
    plan = timeline.timeline_plan([P95, P99, UPSTREAM_P95, SUCCESS], _series())
    assert (plan.latency, plan.success, plan.upstream_line) == ([P95], [SUCCESS], False)
    assert plan.not_drawn == [P99, UPSTREAM_P95]
    svg = timeline.timeline_svg(
        "t", _series(), None, None, [], [P95, P99, UPSTREAM_P95, SUCCESS], 10_000
    )
    assert "SLO p95 &lt; 20ms" in svg
    assert "SLO success_rate &gt;= 90%" in svg
    assert "p99" not in svg
    assert "upstream" not in svg


def test_an_upstream_view_objective_is_drawn_over_the_upstream_views_line() -> None:
    # The review's case: the breaker sheds every call, so the client line sits at 0% while
    # the upstream's own success rate, which the objective is about, holds at 70%.
    series = _series(unsent=40, client=0.0, upstream=0.7)
    plan = timeline.timeline_plan([UPSTREAM_SUCCESS], series)
    assert (plan.success, plan.upstream_line, plan.not_drawn) == ([UPSTREAM_SUCCESS], True, [])
    svg = timeline.timeline_svg("t", series, None, None, [], [UPSTREAM_SUCCESS], 10_000)
    assert "SLO upstream.success_rate &gt;= 65%" in svg
    assert "upstream view" in svg  # the line it belongs to is drawn and named


def test_the_page_says_which_checks_are_not_drawn_and_where_p95_is_the_maximum() -> None:
    sparse = run_text(
        "duration: 20s\nupstreams:\n  v:\n    latency: {dist: lognormal, p50: 6ms, p95: 11ms}\n"
        "    traffic: {rate: 2/s}\n    slo: [p99 < 1s, upstream.p95 < 1s, avg < 1s, p95 < 1s]\n",
        "scenarios/sparse.yaml",
    )
    page = html.html_document([pair(sparse)])
    assert "Not drawn (no such series on this chart): upstream.p95 &lt; 1s." in page
    assert "4 of 4 buckets hold fewer than 20 requests: there P95 is simply the slowest" in page
    assert "P95 over ≥20 answers" in page
    assert "P95 per bucket" in page


def test_an_hour_is_drawn_at_most_360_points_with_exact_statistics_per_point() -> None:
    result = run_text(
        "duration: 1h\nengine: direct\nupstreams:\n  v:\n"
        "    latency: {dist: lognormal, p50: 6ms, p95: 11ms}\n    failure_rate: 5%\n"
        "    traffic: {rate: 2/s, arrivals: poisson}\n    breaker: {}\n",
        "scenarios/hour.yaml",
    )
    display = digest(result)["upstreams"]["v"]["display"]
    assert len(result.to_dict()["upstreams"]["v"]["timeseries"]["t_ms"]) == 720  # files keep 5 s
    assert len(display["t_ms"]) <= DISPLAY_POINTS
    assert display["bucket_ms"] == 10_000
    samples = result.upstreams["v"].samples
    start_ms, latency_ms = samples.start_ns / 1e6, samples.latency_ns / 1e6
    for index in (0, 123, len(display["t_ms"]) - 1):
        begin = display["t_ms"][index]
        inside = (start_ms >= begin) & (start_ms < begin + 10_000)
        window = latency_ms[inside & answered(samples.outcome)]
        assert display["requests"][index] == np.count_nonzero(inside)
        assert display["p95_ms"][index] == nearest_rank(window, 95)


def test_a_chart_never_warns_even_for_an_upstream_without_requests() -> None:
    idle = run_text(
        "duration: 1s\nupstreams:\n  v:\n    traffic: {rate: 1/h}\n    slo: [p95 < 1s]\n",
        "scenarios/idle.yaml",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under this project's filterwarnings = error
        page = html.html_document([pair(idle)])
    assert page.count("<svg") == 2


def test_the_histogram_marks_only_the_client_views_latency_limits(outage: Result) -> None:
    from harness.report.histogram_chart import histogram_svg

    entry, data = pair(outage)
    upstream = entry["upstreams"]["api"]
    limits = [*checks("api", upstream), UPSTREAM_P95]
    plain = histogram_svg("h", data["upstreams"]["api"]["histogram"], None, [])
    marked = histogram_svg("h", data["upstreams"]["api"]["histogram"], None, limits)
    # One dashed line more: p95 < 120ms; not the upstream view's limit, not the rates.
    assert marked.count("stroke-dasharray") == plain.count("stroke-dasharray") + 1
