"""The HTML report's latency histogram: every request on log bins, stacked by outcome."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from harness.report.charts import (
    GRID,
    P50,
    P95,
    THRESHOLD,
    VERDICT_COLOURS,
    duration_label,
    duration_ticks,
    is_number,
    legend,
    style,
    svg,
    view,
)
from harness.verdicts.checks import Check

__all__ = ["histogram_svg"]

GROUP_COLOURS = {"success": "#2e9e5b", "error": "#d64541", "rejected": "#9aa3ae"}


def histogram_svg(
    salt: str,
    histogram: Mapping[str, Any],
    latency: Mapping[str, Any] | None,
    checks: Sequence[Check],
) -> str:
    """Return the latency histogram (log bins) stacked by outcome, with P50/P95 marked and the
    client view's latency limits dashed and labelled, coloured by their verdict."""
    with style(salt):
        figure = Figure(figsize=(5.2, 2.9))
        figure.subplots_adjust(left=0.13, right=0.97, top=0.87, bottom=0.17)
        axes = figure.add_subplot()
        zero_x = _stacked_bars(axes, histogram)
        axes.set_xscale("log")
        edges = histogram["edges_ms"]
        duration_ticks(axes.xaxis, zero_x, edges[-1])
        # No latency tick under the ≈0 bar, which stands left of the scale.
        axes.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _: "" if value < edges[0] else duration_label(value))
        )
        _mark(axes, latency, checks)
        axes.set_xlabel("latency (client view)")
        axes.set_ylabel("requests")
        axes.grid(axis="y", color=GRID, linewidth=0.8)
        legend(axes)  # none without requests: nothing was drawn to name
        return svg(figure)


def _stacked_bars(axes: Axes, histogram: Mapping[str, Any]) -> float:
    """Draw one bar per bin, stacked by group; return where the ≈0 bar stands."""
    edges = histogram["edges_ms"]
    widths = [right - left for left, right in itertools.pairwise(edges)]
    ratio = edges[1] / edges[0]
    # Near-zero latencies (short-circuits, refusals) get their own bar, left of the scale.
    zero_x: float = edges[0] / ratio**6
    bottom = [0] * len(widths)
    zero_bottom = 0
    for group, counts in histogram["counts"].items():
        zero = histogram["zero"][group]
        if not any(counts) and not zero:
            continue
        colour = GROUP_COLOURS.get(group, "#666")
        top = [b + c for b, c in zip(bottom, counts, strict=True)]
        # One filled outline per group (not a patch per bin): far cheaper to draw and to ship.
        axes.stairs(top, edges, baseline=bottom, fill=True, color=colour, label=group)
        if zero:
            axes.bar(
                [zero_x],
                [zero],
                width=[edges[1] - edges[0]],
                bottom=[zero_bottom],
                align="edge",
                color=colour,
                linewidth=0,
            )
        bottom, zero_bottom = top, zero_bottom + zero
    if zero_bottom:
        axes.annotate(
            "≈0",
            xy=(zero_x * ratio**0.5, zero_bottom),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            color="#555",
        )
    return zero_x


def _mark(axes: Axes, latency: Mapping[str, Any] | None, checks: Sequence[Check]) -> None:
    if latency is not None:
        for key, colour in (("p50_ms", P50), ("p95_ms", P95)):
            value = latency[key]
            if value > 0:
                axes.axvline(value, color=colour, linewidth=1.2)
                axes.annotate(
                    key[:3].upper(),
                    xy=(value, 1),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, -10),
                    textcoords="offset points",
                    color=colour,
                    fontsize=8,
                )
    limits = [
        check
        for check in checks
        # The histogram is the client view's: only its latency limits belong on it.
        if check.unit == "ms" and view(check) == "client" and is_number(check.threshold)
    ]
    for row, check in enumerate(sorted(limits, key=lambda c: float(c.threshold))):
        colour = VERDICT_COLOURS.get(check.verdict, THRESHOLD)
        axes.axvline(float(check.threshold), color=colour, linestyle="--", linewidth=1)
        # Labels go down the line, one row each, so two limits close together stay readable.
        axes.annotate(
            f"SLO {check.text} ({check.verdict})",
            xy=(float(check.threshold), 1),
            xycoords=("data", "axes fraction"),
            xytext=(-2, -22 - 10 * row),
            textcoords="offset points",
            ha="right",
            color=colour,
            fontsize=7,
        )
