"""Charts for the HTML report, drawn with matplotlib into inline SVG text.

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot, no global backend), so
drawing a report changes nothing in the process. The SVG is deterministic (fixed id salt per
chart, no date) and its text stays text; matplotlib escapes every label it writes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from io import StringIO
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from harness.report.checks import Check

__all__ = ["STATE_COLOURS", "histogram_svg", "timeline_svg"]

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
GROUP_COLOURS = {"success": "#2e9e5b", "error": "#d64541", "rejected": "#9aa3ae"}
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
def _style(salt: str) -> Iterator[None]:
    # A salt per chart keeps SVG ids unique within the page and equal between runs.
    settings: Any = {**_RC, "svg.hashsalt": salt}  # matplotlib types keys as literal names
    with mpl.rc_context(settings):
        yield


def _svg(figure: Figure) -> str:
    buffer = StringIO()
    # Margins are fixed (room for the SLO labels on the right) rather than "tight", which
    # would draw every figure twice.
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def timeline_svg(
    salt: str,
    series: Mapping[str, Any],
    transitions: Sequence[Mapping[str, Any]] | None,
    final_state: str | None,
    phases: Sequence[Mapping[str, Any]],
    checks: Sequence[Check],
    end_ms: float,
) -> str:
    """Return latency (P50/P95 per bucket), success rate and breaker state on one time axis."""
    with _style(salt):
        figure = Figure(figsize=(10.5, 4.6))
        grid = figure.add_gridspec(
            3,
            1,
            height_ratios=[3, 1.5, 0.42],
            hspace=0.12,
            left=0.075,
            right=0.78 if any(map(_is_labelled, checks)) else 0.97,  # room for SLO labels
            top=0.93,
            bottom=0.1,
        )
        latency = figure.add_subplot(grid[0])
        success = figure.add_subplot(grid[1], sharex=latency)
        band = figure.add_subplot(grid[2], sharex=latency)
        scale = _time_scale(end_ms)
        times = [t / scale.ms for t in series["t_ms"]] + [end_ms / scale.ms]
        _latency_panel(latency, times, series, checks)
        _success_panel(success, times, series, checks)
        _state_band(band, scale, transitions, final_state, end_ms)
        for axes in (latency, success, band):
            _shade_phases(axes, phases, scale, label=axes is latency)
            axes.set_xlim(0, end_ms / scale.ms)
        for axes in (latency, success):
            axes.tick_params(labelbottom=False)
        band.set_xlabel(f"virtual time ({scale.unit})")
        return _svg(figure)


class _Scale:
    def __init__(self, ms: float, unit: str) -> None:
        self.ms, self.unit = ms, unit


def _time_scale(end_ms: float) -> _Scale:
    if end_ms <= 5 * 60_000:
        return _Scale(1000.0, "s")
    if end_ms <= 3 * 3_600_000:
        return _Scale(60_000.0, "min")
    return _Scale(3_600_000.0, "h")


def _steps(values: Sequence[float | None]) -> list[float]:
    """Return values for a steps-post line over bucket edges (the last value repeated)."""
    numbers = [math.nan if value is None else float(value) for value in values]
    return [*numbers, numbers[-1]] if numbers else []


def _latency_panel(
    axes: Axes, times: list[float], series: Mapping[str, Any], checks: Sequence[Check]
) -> None:
    p95, p50 = _steps(series["p95_ms"]), _steps(series["p50_ms"])
    # P95 on top: where the two are equal, the line the SLO is about stays visible.
    axes.plot(times, p95, drawstyle="steps-post", color=P95, linewidth=1.3, label="P95", zorder=3)
    axes.plot(times, p50, drawstyle="steps-post", color=P50, linewidth=1.0, label="P50")
    known = [value for value in p95 + p50 if not math.isnan(value) and value > 0]
    limits = [check for check in checks if _is_latency_limit(check)]
    known += [float(check.threshold) for check in limits]
    if known and max(known) / min(known) > 30:
        axes.set_yscale("log")
        _duration_ticks(axes.yaxis, min(known), max(known))
    else:
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _duration_label(value)))
        axes.set_ylim(0, max(known, default=1.0) * 1.15)
    _thresholds(axes, [(float(check.threshold), check.text) for check in limits])
    axes.set_ylabel("latency per 5 s")
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    handles, _ = axes.get_legend_handles_labels()
    if limits:
        handles.append(Line2D([], [], color=THRESHOLD, linestyle="--", linewidth=1, label="SLO"))
    axes.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0, 1),
        ncols=3,
        frameon=False,
        fontsize=8,
        borderaxespad=0.2,
    )


def _duration_ticks(axis: Any, low: float, high: float) -> None:
    """Label a log axis in ms or s (never in TeX): at 1, 2 and 5 of each decade over a short
    range, at each decade over a long one."""
    decades = math.log10(max(high, 1e-9) / max(low, 1e-9))
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0, 3.0) if decades <= 4 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: _duration_label(value)))
    axis.set_minor_locator(NullLocator())  # unlabelled minor ticks cost more than they show


def _thresholds(axes: Axes, levels: Sequence[tuple[float, str]]) -> None:
    """Draw each SLO level dashed, labelled at the right margin without labels overlapping."""
    for level, _ in levels:
        axes.axhline(level, color=THRESHOLD, linestyle="--", linewidth=1)
    axes.get_ylim()  # settle autoscaling before data is mapped to axes fractions
    to_axes = axes.transScale + axes.transLimits
    placed = sorted((to_axes.transform((0, level))[1], text) for level, text in levels)
    height_pt = axes.get_window_extent().height * 72 / axes.figure.dpi
    gap, previous = 10.5 / height_pt, -1.0  # one 8 pt label line apart
    for position, text in placed:
        position = max(position, previous + gap)
        previous = position
        axes.annotate(
            f"SLO {text}",
            xy=(1.005, position),
            xycoords="axes fraction",
            va="center",
            ha="left",
            color=THRESHOLD,
            fontsize=8,
        )


def _is_latency_limit(check: Check) -> bool:
    return check.unit == "ms" and _metric(check) in ("p50", "p95") and _is_number(check.threshold)


def _success_panel(
    axes: Axes, times: list[float], series: Mapping[str, Any], checks: Sequence[Check]
) -> None:
    rates = [None if rate is None else rate * 100 for rate in series["success_rate"]]
    axes.plot(times, _steps(rates), drawstyle="steps-post", color=P95, linewidth=1.1)
    axes.set_ylim(-3, 105)
    levels = [
        (float(check.threshold) * 100, check.text)
        for check in checks
        if check.unit == "ratio"
        and _metric(check) == "success_rate"
        and _is_number(check.threshold)
    ]
    _thresholds(axes, levels)
    axes.set_yticks([0, 50, 100], ["0%", "50%", "100%"])
    axes.set_ylabel("success (client)")
    axes.grid(axis="y", color=GRID, linewidth=0.8)


def _is_labelled(check: Check) -> bool:
    """Return whether a check is drawn as a labelled SLO line on the timeline."""
    rate = check.unit == "ratio" and _metric(check) == "success_rate"
    return _is_latency_limit(check) or (rate and _is_number(check.threshold))


def _metric(check: Check) -> str:
    return check.text.split()[0].removeprefix("upstream.").removeprefix("client.")


def _state_band(
    axes: Axes,
    scale: _Scale,
    transitions: Sequence[Mapping[str, Any]] | None,
    final_state: str | None,
    end_ms: float,
) -> None:
    axes.set_yticks([])
    axes.spines["left"].set_visible(False)
    axes.set_ylabel("breaker", rotation=0, ha="right", va="center")
    visible = end_ms / 400  # a 1 s HALF_OPEN probe in an hour still shows as a sliver
    spans: dict[str, list[tuple[float, float]]] = {}
    for start, stop, state in _state_spans(transitions, final_state, end_ms):
        width = max(stop - start, visible)
        spans.setdefault(state, []).append((start / scale.ms, width / scale.ms))
    # One collection per state; short states drawn last so their slivers stay on top.
    for state in sorted(spans, key=lambda name: name == "HALF_OPEN"):
        colour = STATE_COLOURS.get(state, "#666")
        axes.broken_barh(spans[state], (0, 1), facecolors=colour, edgecolor="none")
    if final_state is None:
        axes.text(
            0.5,
            0.5,
            "no breaker",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color="#555",
            fontsize=8,
        )
    axes.set_ylim(0, 1)


def _state_spans(
    transitions: Sequence[Mapping[str, Any]] | None, final_state: str | None, end_ms: float
) -> list[tuple[float, float, str]]:
    """Return (from ms, to ms, state) for each stretch of time in one breaker state."""
    if final_state is None:
        return [(0.0, end_ms, "NONE")]
    moves = list(transitions or ())
    state, since = (moves[0]["from"] if moves else final_state), 0.0
    spans = []
    for move in moves:
        spans.append((since, float(move["at_ms"]), state))
        state, since = move["to"], float(move["at_ms"])
    spans.append((since, end_ms, state))
    return [span for span in spans if span[1] > span[0]]


def _shade_phases(
    axes: Axes, phases: Sequence[Mapping[str, Any]], scale: _Scale, *, label: bool
) -> None:
    for phase in phases:
        start, stop = phase["from_ms"] / scale.ms, phase["to_ms"] / scale.ms
        axes.axvspan(start, stop, color=PHASE, alpha=0.10, linewidth=0)
        if label:
            axes.annotate(
                str(phase["label"]),
                xy=(start, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -11),
                textcoords="offset points",
                color=PHASE,
                fontsize=8,
                fontweight="bold",
            )


def histogram_svg(
    salt: str,
    histogram: Mapping[str, Any],
    latency: Mapping[str, Any] | None,
    checks: Sequence[Check],
) -> str:
    """Return the latency histogram (log bins) stacked by outcome, with P50/P95 marked."""
    with _style(salt):
        figure = Figure(figsize=(5.2, 2.9))
        figure.subplots_adjust(left=0.13, right=0.97, top=0.87, bottom=0.17)
        axes = figure.add_subplot()
        zero_x = _stacked_bars(axes, histogram)
        axes.set_xscale("log")
        edges = histogram["edges_ms"]
        _duration_ticks(axes.xaxis, zero_x, edges[-1])
        # No latency tick under the ≈0 bar, which stands left of the scale.
        axes.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _: "" if value < edges[0] else _duration_label(value))
        )
        _mark(axes, latency, checks)
        axes.set_xlabel("latency (client view)")
        axes.set_ylabel("requests")
        axes.grid(axis="y", color=GRID, linewidth=0.8)
        axes.legend(
            loc="lower left",
            bbox_to_anchor=(0, 1),
            ncols=3,
            frameon=False,
            fontsize=8,
            borderaxespad=0.2,
        )
        return _svg(figure)


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
    for check in checks:
        if _is_latency_limit(check) and not check.text.startswith("upstream."):
            axes.axvline(float(check.threshold), color=THRESHOLD, linestyle="--", linewidth=1)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration_label(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:g}s"
    if ms >= 1:
        return f"{ms:g}ms"
    return f"{ms * 1000:g}µs" if ms > 0 else "0"
