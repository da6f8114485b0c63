"""slo-report.html: self-contained, escaped, a chart per upstream; built without the extra too."""

from __future__ import annotations

import re
import sys
from html import escape
from pathlib import Path

import pytest

from harness import Result
from harness.report.bundle import EXTRA_HINT, write_reports
from tests.reporting import hostile, outage, pair, run_text

__all__ = ["hostile", "outage"]  # fixtures

html = pytest.importorskip("harness.report.html", reason="needs the report extra")


@pytest.fixture(scope="module")
def page(outage: Result, hostile: Result) -> str:
    return str(html.html_document([pair(outage), pair(hostile)]))


def test_strings_from_scenario_files_are_escaped(page: str) -> None:
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; &#34;quotes&#34; &#39;too&#39;" in page
    assert "&lt;/svg&gt;&lt;script&gt;alert(3)&lt;/script&gt; $x^2$" in page  # in a chart, too
    assert "onerror=" not in page.replace("&lt;img src=x onerror=alert(2)&gt;", "")


def test_the_page_fetches_nothing(page: str) -> None:
    assert re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page) is None
    assert "<link" not in page
    assert "@import" not in page
    assert re.search(r"url\((?!#)", page) is None  # only references within the page
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page


def test_summary_first_then_two_charts_per_upstream(page: str) -> None:
    head, *sections = page.split('<section class="card scenario"')
    assert 'id="summary"' in head
    upstreams = [section.count('<div class="upstream"') for section in sections]
    assert sorted(upstreams) == [1, 2]  # hostile: web; outage-demo: api, cache
    for section, count in zip(sections, upstreams, strict=True):
        assert section.count('<figure class="chart timeline">') == count
        assert section.count('<figure class="chart histogram">') == count
        assert section.count("<svg") == 2 * count
    assert page.count('data-verdict="fail"') == 1


def test_the_same_results_give_the_same_page(outage: Result, hostile: Result, page: str) -> None:
    again = html.html_document([pair(hostile), pair(outage)])
    assert again == page


def test_without_the_report_extra_the_other_reports_are_written_and_the_way_to_get_it_said(
    outage: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in [name for name in sys.modules if name.startswith("harness.report.")]:
        if module.endswith((".html", ".charts", ".openmetrics")):
            monkeypatch.delitem(sys.modules, module)
    for package in ("matplotlib", "prometheus_client"):  # as if never installed
        for module in [name for name in sys.modules if name.split(".")[0] == package]:
            monkeypatch.setitem(sys.modules, module, None)
        monkeypatch.setitem(sys.modules, package, None)
    written = write_reports(tmp_path, [pair(outage)])
    assert sorted(written.skipped) == ["slo-metrics.prom", "slo-metrics.txt", "slo-report.html"]
    assert all(EXTRA_HINT in why for why in written.skipped.values())
    assert (tmp_path / "junit.xml").exists()
    assert (tmp_path / "slo-results.json").exists()
    assert not (tmp_path / "slo-report.html").exists()


def test_failed_checks_lead_the_page(page: str, outage: Result) -> None:
    box = page[page.index('<section class="card" id="failed"') : page.index('id="summary"')]
    assert page.index('id="failed"') < page.index('id="summary"') < page.index("scenario-name")
    failing = [(up, v) for up, v in outage.verdicts if not v.passed]
    assert box.count('<tr class="fail">') == len(failing)
    for _upstream, verdict in failing:
        assert f"<code>{escape(verdict.objective.text, quote=False)}</code>" in box
        assert f'<td class="num value">{verdict.observed_text}</td>' in box
        assert f'<td class="num value">{verdict.objective.threshold_text}</td>' in box
    anchors = re.findall(r'href="#([\w-]+)"', box)
    assert anchors
    assert all(f'id="{anchor}"' in page for anchor in anchors)


def test_failing_scenarios_come_first_open_and_passing_ones_collapsed(page: str) -> None:
    sections = re.findall(
        r'data-verdict="(\w+)">\s*(?:\{#.*?#\}\s*)?<details class="scenario-body"( open)?', page
    )
    assert sections == [("fail", " open"), ("pass", "")]


def test_threshold_labels_say_and_show_their_verdict(page: str) -> None:
    # p95 < 120ms fails over the answered requests; cache's success rate holds
    assert "SLO p95 &lt; 120ms (FAIL)" in page
    assert "SLO upstream.success_rate == 100% (PASS)" in page
    assert re.search(r"SLO success_rate &gt;= 99% \(FAIL\)", page)


def test_every_check_passing_says_so(hostile: Result) -> None:
    document = str(html.html_document([pair(hostile)]))
    assert '<section class="card none" id="failed"><h2>Every check held</h2></section>' in document


def test_an_undecided_scenario_is_inconclusive_not_fail_in_its_badges() -> None:
    # 10 answers cannot bound a P95 at 95% confidence (that needs 59): undecided, not failed.
    result = run_text(
        "duration: 5s\nupstreams:\n  t1:\n    latency: 100ms\n    traffic: {rate: 2/s}\n"
        "    slo: ['p95 < 500ms @ 95%']\n",
        "scenarios/few.yaml",
    )
    assert result.to_dict()["outcome"] == "INCONCLUSIVE"
    page = str(html.html_document([pair(result)]))
    assert '<span class="badge big inconclusive">INCONCLUSIVE</span>' in page
    assert '<span class="badge big fail">' not in page
