"""The HTML report in a real browser: Debian's headless Chromium, offline.

Skipped where chromium is not installed, except under CI (CI=true), where ``.ci/run``
installs it and a missing browser is a failure. The screenshot goes to the test's temporary
folder; to keep one for a person to look at, set ``SLO_BROWSER_SCREENSHOT=PATH`` (for
instance ``reports/slo-report-browser-test.png``), or run
``python -m tests.browser REPORT.html SCREENSHOT.png`` on any report.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import Result
from tests.browser import CHROMIUM, visit
from tests.reporting import hostile, outage, pair

__all__ = ["hostile", "outage"]  # fixtures

FACTS = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });  // measure every chart
  return {
  title: document.title,
  scripts: document.scripts.length,
  summaryScenarios: [...document.querySelectorAll('#summary a')].map(a => a.textContent),
  scenarios: [...document.querySelectorAll('section.scenario')].map(section => ({
    name: section.querySelector('.scenario-name').textContent,
    verdict: section.dataset.verdict,
    upstreams: section.querySelectorAll('.upstream').length,
    charts: [...section.querySelectorAll('figure.chart svg')].map(svg => {
      const box = svg.getBoundingClientRect();
      return [Math.round(box.width), Math.round(box.height)];
    }),
  })),
  };
}"""
LAYOUT = """() => {
  const failed = document.querySelector('#failed');
  const box = failed ? failed.getBoundingClientRect() : null;
  const sections = [...document.querySelectorAll('section.scenario')];
  return {
    documentWidth: document.documentElement.scrollWidth,
    viewportWidth: window.innerWidth,
    viewportHeight: window.innerHeight,
    failedTop: box && box.top,
    failedRows: failed ? failed.querySelectorAll('tbody tr').length : 0,
    order: sections.map(s => s.dataset.verdict),
    open: sections.map(s => (s.querySelector('details') || {open: null}).open),
  };
}"""


def _require_browser() -> None:
    missing = None
    if CHROMIUM is None:
        missing = "Debian's chromium is not installed (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (the test extra)"
    if missing and os.environ.get("CI"):
        pytest.fail(f"{missing}; CI must run the browser test")
    if missing:
        pytest.skip(missing)


def test_the_report_renders_offline_without_errors(
    outage: Result, hostile: Result, tmp_path: Path
) -> None:
    _require_browser()
    from harness.report.html import write_html

    report = write_html(tmp_path / "slo-report.html", [pair(outage), pair(hostile)])
    screenshot = Path(os.environ.get("SLO_BROWSER_SCREENSHOT") or tmp_path / "slo-report.png")
    seen = visit(report, screenshot, FACTS)
    assert seen.console_errors == []
    assert seen.page_errors == []
    assert seen.dialogs == []  # no injected script ran
    assert seen.requests == [report.resolve().as_uri()]  # nothing fetched but the page
    facts = seen.facts
    assert facts["scripts"] == 0
    assert facts["summaryScenarios"] == ["outage-demo", "<script>alert(1)</script>"]  # failed first
    shown = {s["name"]: s for s in facts["scenarios"]}
    assert set(shown) == {"<script>alert(1)</script>", "outage-demo"}  # shown as text
    assert shown["outage-demo"]["verdict"] == "fail"
    for scenario in facts["scenarios"]:
        assert len(scenario["charts"]) == 2 * scenario["upstreams"]
        for width, height in scenario["charts"]:
            assert width > 300
            assert height > 150
    assert screenshot.stat().st_size > 50_000


@pytest.mark.parametrize("width", [1366, 390])
def test_failures_lead_and_the_page_fits_the_screen(
    outage: Result, hostile: Result, tmp_path: Path, width: int
) -> None:
    _require_browser()
    from harness.report.html import write_html

    errored = {"file": "scenarios/typo.yaml", "name": None, "stage": "collection", "error": "x"}
    report = write_html(tmp_path / "slo-report.html", [pair(hostile), pair(outage)], [errored])
    folder = os.environ.get("SLO_BROWSER_SCREENSHOT_DIR")
    screenshot = Path(folder or tmp_path) / f"slo-report-{width}.png"
    seen = visit(report, screenshot, LAYOUT, width=width, height=800)
    facts = seen.facts
    assert seen.console_errors == []
    assert facts["viewportWidth"] == width
    assert facts["documentWidth"] <= facts["viewportWidth"]  # no horizontal overflow
    assert 0 <= facts["failedTop"] < facts["viewportHeight"] / 2  # above the fold
    failed = sum(not verdict.passed for _, verdict in outage.verdicts)
    assert facts["failedRows"] == failed + 1  # every failed check, and the error
    assert facts["order"] == ["error", "fail", "pass"]  # failing scenarios first
    assert facts["open"] == [None, True, False]  # the passing one collapsed
