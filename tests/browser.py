"""Open a report in headless Chromium (Debian's ``chromium``) and look at it as a person would.

Driven with Playwright's Python API against the system browser (``executable_path``): its
events give every console message, page error, dialog and network request, which is what the
browser test asserts on. Playwright's own browser download is never used.

``python -m tests.browser REPORT.html SCREENSHOT.png`` saves a full-page screenshot.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageVisit:
    """What happened while a page was open: console errors, page errors, dialogs, requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def visit(
    report: Path, screenshot: Path, script: str = "() => null", width: int = 1280, height: int = 900
) -> PageVisit:
    """Open ``report`` offline in a ``width`` × ``height`` viewport, run ``script`` in the
    page, save a full-page ``screenshot``."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "Debian's chromium is not installed"
    seen = PageVisit()
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,  # a fresh --user-data-dir for every visit
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            offline=True,
            viewport={"width": width, "height": height},
            device_scale_factor=1,
        )
        try:
            page = context.new_page()
            _listen(page, seen)
            page.goto(report.resolve().as_uri(), wait_until="load")
            seen.facts = page.evaluate(script) or {}
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    return seen


def _listen(page: Any, seen: PageVisit) -> None:
    """Record every console error, page error, dialog (dismissed) and request of ``page``."""

    def console(message: Any) -> None:
        if message.type == "error":
            seen.console_errors.append(message.text)

    def dialog(opened: Any) -> None:
        seen.dialogs.append(opened.message)
        opened.dismiss()

    page.on("console", console)
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.on("dialog", dialog)
    page.on("request", lambda request: seen.requests.append(request.url))


if __name__ == "__main__":
    visit(Path(sys.argv[1]), Path(sys.argv[2]))
