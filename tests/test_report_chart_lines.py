"""The HTML report's charts draw every line an objective is about: one per percentile it uses
(P99, P99.9, the average), labelled thresholds on the histogram coloured by verdict, and the
breaker's transitions across the upstream's time panels."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest

from harness import Result
from harness.report.digest import digest
from harness.verdicts.checks import checks
from harness.verdicts.metrics import answered
from tests.reporting import outage, pair, run_text
from tests.support import nearest_rank

__all__ = ["outage"]  # fixtures

html = pytest.importorskip("harness.report.html", reason="needs the report extra")
timeline = pytest.importorskip("harness.report.timeline_chart", reason="needs the report extra")
histogram = pytest.importorskip("harness.report.histogram_chart", reason="needs the report extra")
charts = pytest.importorskip("harness.report.charts", reason="needs the report extra")

PERCENTILES = """\
duration: 30s
upstreams:
  v:
    latency: {dist: lognormal, p50: 6ms, p95: 11ms}
    traffic: {rate: 40/s, arrivals: poisson}
    slo: [p99 < 1s, p99.9 < 2ms, avg < 1s, p95 < 1s, upstream.p90 < 1s]
"""


@pytest.fixture(scope="module")
def spread() -> Result:
    """A run whose objectives use four client-view latency statistics, one of them failing."""
    return run_text(PERCENTILES, "scenarios/spread.yaml")


def _labels(svg: str) -> list[str]:
    """Return the text of every label in an SVG (matplotlib writes text as text)."""
    return [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_each_percentile_an_objective_uses_is_computed_per_bucket(spread: Result) -> None:
    display = digest(spread)["upstreams"]["v"]["display"]
    assert sorted(display["percentiles_ms"]) == ["p99", "p99.9"]  # p50/p95 have their own
    samples = spread.upstreams["v"].samples
    start_ms, latency_ms = samples.start_ns / 1e6, samples.latency_ns / 1e6
    for index, begin in enumerate(display["t_ms"]):
        inside = (start_ms >= begin) & (start_ms < begin + display["bucket_ms"])
        window = latency_ms[inside & answered(samples.outcome)]
        if not window.size:  # no answer in the bucket: no latency, never 0 ms
            assert display["percentiles_ms"]["p99"][index] is None
            continue
        assert display["percentiles_ms"]["p99"][index] == nearest_rank(window, 99)
        assert display["percentiles_ms"]["p99.9"][index] == nearest_rank(window, 99.9)
        assert display["avg_ms"][index] == pytest.approx(float(np.mean(window)))


def test_one_labelled_line_and_one_verdict_coloured_limit_per_objective_percentile(
    spread: Result,
) -> None:
    entry, data = pair(spread)
    upstream_checks = list(checks("v", entry["upstreams"]["v"]))
    display = data["upstreams"]["v"]["display"]
    svg = timeline.timeline_svg("t", display, None, None, [], upstream_checks, 30_000)
    labels = _labels(svg)
    for name in ("P50", "P95", "P99", "P99.9", "avg"):
        assert labels.count(name) == 1, name  # each line named once in the legend
    verdicts = {check.text: check.verdict for check in upstream_checks}
    assert verdicts["p99.9 < 2ms"] == "FAIL"
    for text in ("p99 < 1s", "p99.9 < 2ms", "avg < 1s", "p95 < 1s"):
        label = f"SLO {text} ({verdicts[text]})".replace("<", "&lt;")
        assert labels.count(label) == 1, label
        colour = charts.VERDICT_COLOURS[verdicts[text]]
        assert re.search(rf"fill: {colour}[^>]*>\s*{re.escape(label)}", svg), label
    # The upstream view's latency has no line on the client's panel, so no limit either.
    assert not any("upstream.p90" in label for label in labels)
    assert timeline.timeline_plan(upstream_checks, display).not_drawn == [
        c for c in upstream_checks if c.text == "upstream.p90 < 1s"
    ]


def test_a_line_is_drawn_only_for_a_percentile_an_objective_uses(spread: Result) -> None:
    _, data = pair(spread)
    display = data["upstreams"]["v"]["display"]
    only_p95 = [c for c in checks("v", pair(spread)[0]["upstreams"]["v"]) if c.text == "p95 < 1s"]
    labels = _labels(timeline.timeline_svg("t", display, None, None, [], only_p95, 30_000))
    assert "P95" in labels
    assert "P99" not in labels
    assert "avg" not in labels


def test_the_histogram_labels_each_latency_limit_with_its_verdict(spread: Result) -> None:
    entry, data = pair(spread)
    upstream_checks = list(checks("v", entry["upstreams"]["v"]))
    svg = histogram.histogram_svg("h", data["upstreams"]["v"]["histogram"], None, upstream_checks)
    labels = [label for label in _labels(svg) if label.startswith("SLO ")]
    assert sorted(labels) == sorted(
        f"SLO {c.text} ({c.verdict})".replace("<", "&lt;")
        for c in upstream_checks
        if c.unit == "ms" and not c.text.startswith("upstream.")
    )
    assert "SLO p99.9 &lt; 2ms (FAIL)" in labels
    # An INCONCLUSIVE limit is drawn in its own colour, keyed by the verdict's name.
    odd = next(c for c in upstream_checks if c.text == "p95 < 1s")
    inconclusive = dataclasses.replace(odd, inconclusive=True)
    svg = histogram.histogram_svg("h", data["upstreams"]["v"]["histogram"], None, [inconclusive])
    colour = charts.VERDICT_COLOURS["INCONCLUSIVE"]
    assert re.search(rf"fill: {colour}[^>]*>\s*SLO p95 &lt; 1s \(INCONCLUSIVE\)", svg)


def test_each_breaker_transition_is_marked_on_the_latency_and_success_panels(
    outage: Result,
) -> None:
    entry, data = pair(outage)
    breaker = entry["upstreams"]["api"]["breaker"]
    moves = breaker["transitions"]
    assert len(moves) >= 2  # opened and came back: something to mark
    page = html.html_document([(entry, data)])
    for number in range(len(moves)):
        for panel in ("latency", "success"):
            assert re.search(rf'id="[^"]*-timeline-transition-{number}-{panel}"', page), (
                number,
                panel,
            )
    assert not re.search(rf"-timeline-transition-{len(moves)}-", page)
    labels = _labels(page)
    for move in moves:
        assert f"→{move['to']}" in labels


def _widened_reference(result: Result, name: str, display: dict[str, Any]) -> list[float | None]:
    """The widened P95 by its definition: the bucket and those before it until 20 answers."""
    samples = result.upstreams[name].samples
    start_ms, latency_ms = samples.start_ns / 1e6, samples.latency_ns / 1e6
    heard = answered(samples.outcome)
    width, expected = display["bucket_ms"], []
    for begin in display["t_ms"]:
        inside = heard & (start_ms >= begin) & (start_ms < begin + width)
        if not inside.any():
            expected.append(None)
            continue
        low = begin
        while np.count_nonzero(heard & (start_ms >= low) & (start_ms < begin + width)) < 20:
            if low <= 0:
                break
            low -= width
        window = latency_ms[heard & (start_ms >= low) & (start_ms < begin + width)]
        expected.append(nearest_rank(window, 95))
    return expected


@pytest.mark.parametrize("rate", ["1/s", "3/s", "40/s"])
def test_the_bold_p95_is_over_buckets_widened_to_20_answers(rate: str) -> None:
    result = run_text(PERCENTILES.replace("40/s", rate), "scenarios/rate.yaml")
    display = digest(result)["upstreams"]["v"]["display"]
    assert display["widened_p95_ms"] == _widened_reference(result, "v", display)
    if rate == "40/s":  # every bucket already holds 20 answers: the same line
        assert display["widened_p95_ms"] == display["p95_ms"]
    else:  # 5 or 15 answers a bucket: each bucket's P95 is its slowest, the bold one is not
        assert display["widened_p95_ms"] != display["p95_ms"]


def test_a_shed_window_is_a_gap_in_every_latency_line_never_0ms(outage: Result) -> None:
    display = digest(outage)["upstreams"]["api"]["display"]
    shed = [index for index, p95 in enumerate(display["p95_ms"]) if p95 is None]
    requested = [index for index in shed if display["requests"][index]]
    assert requested  # the breaker was OPEN over at least one whole bucket with traffic
    for index in shed:
        assert display["widened_p95_ms"][index] is None
        assert display["avg_ms"][index] is None
    assert display["widened_p95_ms"] == _widened_reference(outage, "api", display)
