"""A one-line progress bar for long command-line runs, measured in virtual time.

Drawn on stderr only when stderr is a terminal, so logs, pipes and CI output stay clean, and
cut to one character less than the terminal's width (a running scenario's name ends in ``…``):
a line that wraps cannot be redrawn in place, so every redraw would leave one line behind.
Progress is the virtual time covered: whole scenarios done, plus how far the running one has
got (the run reports every 1% of its duration), both written as a clock (``1:06/10:00``, or
``0:01:06/1:00:00`` when the total passes an hour) so the two always read alike.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from harness.report.layout import shorten

__all__ = ["Progress"]


class Progress:
    """Show ``[#####-----]  42%  2/4 scenarios  25:00/1:00:00 virtual  running NAME`` on one
    line."""

    def __init__(
        self, total_ns: int, scenarios: int, stream: TextIO | None = None, width: int | None = None
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = self.stream.isatty()
        self.width = width  # None: the terminal's, read at each redraw (it may be resized)
        self.total_ns = max(total_ns, 1)
        self.scenarios = scenarios
        self.done = 0
        self.done_ns = 0
        self.current_ns = 0
        self.label = ""

    def start(self, label: str) -> None:
        """Say that the scenario ``label`` is running."""
        # A name from a scenario file must not move the cursor or colour the terminal.
        self.label = "".join(c if c.isprintable() else "?" for c in label)
        self.current_ns = 0
        self._draw()

    def reached(self, at_ns: int) -> None:
        """Say that the running scenario has reached virtual time ``at_ns``."""
        self.current_ns = max(self.current_ns, at_ns)
        self._draw()

    def finish(self, duration_ns: int) -> None:
        """Say that the running scenario, ``duration_ns`` of virtual time long, is done."""
        self.done += 1
        self.done_ns += duration_ns
        self.current_ns = 0
        self._draw()

    def close(self) -> None:
        """Erase the bar, so what is printed next starts on a clean line."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def line(self, width: int = 24) -> str:
        """Return the bar's text."""
        covered = min(self.done_ns + self.current_ns, self.total_ns)
        filled = round(width * covered / self.total_ns)
        running = f"  running {self.label}" if self.done < self.scenarios and self.label else ""
        return (
            f"[{'#' * filled}{'-' * (width - filled)}] {100 * covered // self.total_ns:3d}%  "
            f"{self.done}/{self.scenarios} scenarios  "
            f"{_clock(covered, self.total_ns)}/{_clock(self.total_ns, self.total_ns)} virtual"
            f"{running}"
        )

    def _draw(self) -> None:
        if self.enabled:
            width = self.width or shutil.get_terminal_size().columns
            # The last column is left empty: some terminals wrap as soon as it is written.
            self.stream.write("\r\033[K" + shorten(self.line(), max(width - 1, 1)))
            self.stream.flush()


def _clock(ns: int, total_ns: int) -> str:
    """Return ``ns`` as ``m:ss``, or ``h:mm:ss`` if ``total_ns`` reaches an hour (whole seconds,
    rounded down: the bar never claims time not yet covered)."""
    seconds = ns // 1_000_000_000
    minutes, second = divmod(seconds, 60)
    if total_ns < 3600 * 1_000_000_000:
        return f"{minutes}:{second:02d}"
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"
