"""What the HTML report's charts share: colours, style, SVG output, duration axes, SLO lines.

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot, no global backend), so
drawing a report changes nothing in the process. The SVG is deterministic (fixed id salt per
chart, no date) and its text stays text; matplotlib escapes every label it writes.

Charts are drawn with warnings silenced: a plotting warning (an empty legend, a degenerate
axis) says nothing about the scenario, and under ``filterwarnings = error`` it would stop a
user's session after the scenarios ran. The charts themselves are in
:mod:`harness.report.timeline_chart` and :mod:`harness.report.histogram_chart`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from io import StringIO
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from harness.verdicts.checks import Check

__all__ = [
    "GRID",
    "INK",
    "P50",
    "P95",
    "PHASE",
    "STATE_COLOURS",
    "THRESHOLD",
    "VERDICT_COLOURS",
    "duration_label",
    "duration_ticks",
    "is_number",
    "legend",
    "metric",
    "style",
    "svg",
    "thresholds",
    "view",
]

STATE_COLOURS = {
    "CLOSED": "#2e9e5b",
    "HALF_OPEN": "#e8a317",
    "OPEN": "#d64541",
    "FORCED_OPEN": "#8e44ad",
    "DISABLED": "#95a5a6",
    "NONE": "#d0d5dc",
}
P95, P50, THRESHOLD, PHASE, GRID, INK = (
    "#1f4e99",
    "#7fa7d9",
    "#c0392b",
    "#d64541",
    "#e6e9ee",
    "#333",
)
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,  # a '$' in a phase name is text, not TeX
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: same layout on every machine
    "font.size": 9,
    "axes.edgecolor": "#aab1bb",
    "axes.labelcolor": INK,
    "xtick.color": "#555",
    "ytick.color": "#555",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@contextmanager
def style(salt: str) -> Iterator[None]:
    """Draw one chart inside: the report's style, its SVG id salt, warnings silenced."""
    # A salt per chart keeps SVG ids unique within the page and equal between runs.
    settings: Any = {**_RC, "svg.hashsalt": salt}  # matplotlib types keys as literal names
    with mpl.rc_context(settings), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def svg(figure: Figure) -> str:
    """Return the figure as SVG text (no XML declaration, no date)."""
    buffer = StringIO()
    # Margins are fixed (room for the SLO labels on the right) rather than "tight", which
    # would draw every figure twice.
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def legend(axes: Axes, handles: Sequence[Any] | None = None) -> None:
    """Put a one-line legend above the axes, if there is anything to name."""
    if handles is None:
        handles, _ = axes.get_legend_handles_labels()
    if not handles:
        return
    axes.legend(
        handles=list(handles),
        loc="lower left",
        bbox_to_anchor=(0, 1),
        ncols=3,
        frameon=False,
        fontsize=8,
        borderaxespad=0.2,
    )


def duration_ticks(axis: Any, low: float, high: float) -> None:
    """Label a log axis in ms or s (never in TeX): at 1, 2 and 5 of each decade over a short
    range, at each decade over a long one."""
    decades = math.log10(max(high, 1e-9) / max(low, 1e-9))
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0, 3.0) if decades <= 4 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: duration_label(value)))
    axis.set_minor_locator(NullLocator())  # unlabelled minor ticks cost more than they show


VERDICT_COLOURS = {"PASS": "#1e7e45", "FAIL": "#c0392b", "INCONCLUSIVE": "#8a5a00"}
"""The colour of a threshold's line and label by its check's verdict (one entry per verdict;
an unlisted verdict is drawn in THRESHOLD's red)."""


def thresholds(axes: Axes, levels: Sequence[tuple[float, str, str]]) -> None:
    """Draw each SLO level (level, text, verdict) dashed in its verdict's colour, labelled at
    the right margin without labels overlapping."""
    for level, _, verdict in levels:
        colour = VERDICT_COLOURS.get(verdict, THRESHOLD)
        axes.axhline(level, color=colour, linestyle="--", linewidth=1)
    axes.get_ylim()  # settle autoscaling before data is mapped to axes fractions
    to_axes = axes.transScale + axes.transLimits
    placed = sorted(
        (to_axes.transform((0, level))[1], f"{text} ({verdict})", verdict)
        for level, text, verdict in levels
    )
    height_pt = axes.get_window_extent().height * 72 / axes.figure.dpi
    gap, previous = 10.5 / height_pt, -1.0  # one 8 pt label line apart
    for position, text, verdict in placed:
        position = max(position, previous + gap)
        previous = position
        axes.annotate(
            f"SLO {text}",
            xy=(1.005, position),
            xycoords="axes fraction",
            va="center",
            ha="left",
            color=VERDICT_COLOURS.get(verdict, THRESHOLD),
            fontsize=8,
        )


def view(check: Check) -> str:
    """Return the view a check counts (``client`` or ``upstream``; ``ttfb`` for a time to
    first byte, which no latency chart draws)."""
    if check.text.startswith("ttfb."):
        return "ttfb"
    return "upstream" if check.text.startswith("upstream.") else "client"


def metric(check: Check) -> str:
    """Return a check's metric without its view: ``p95``, ``success_rate``…"""
    return check.text.split()[0].removeprefix("upstream.").removeprefix("client.")


def is_number(value: object) -> bool:
    """Return whether ``value`` is a number (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def duration_label(ms: float) -> str:
    """Return a tick label for a latency in ms: ``500ms``, ``1.5s``, ``200µs``."""
    if ms >= 1000:
        return f"{ms / 1000:g}s"
    if ms >= 1:
        return f"{ms:g}ms"
    return f"{ms * 1000:g}µs" if ms > 0 else "0"
