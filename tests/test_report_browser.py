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

FACTS = """() => ({
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
})"""


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
    assert facts["summaryScenarios"] == ["<script>alert(1)</script>", "outage-demo"]
    shown = {s["name"]: s for s in facts["scenarios"]}
    assert set(shown) == {"<script>alert(1)</script>", "outage-demo"}  # shown as text
    assert shown["outage-demo"]["verdict"] == "fail"
    for scenario in facts["scenarios"]:
        assert len(scenario["charts"]) == 2 * scenario["upstreams"]
        for width, height in scenario["charts"]:
            assert width > 300
            assert height > 150
    assert screenshot.stat().st_size > 50_000
