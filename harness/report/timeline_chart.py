"""The HTML report's timeline: latency, success rate and breaker state on one virtual-time axis.

It draws the digest's display series (:mod:`harness.report.digest`): at most 360 buckets, 5 s
wide up to 30 minutes of virtual time and wider beyond, each with exact statistics. An SLO line
is drawn only over the series it is about: client-view latency limits on the latency panel,
success-rate limits over the client's line or the upstream view's (drawn when it differs).
:func:`timeline_plan` says which checks are drawn and which have no series here (the
upstream view's latency, a series from before these lines existed…), so the caption can name
them. Each other percentile an objective uses (P99, P99.9) and the average get a line of their
own, labelled in the legend. Where buckets hold fewer than 20 answers, the bold P95 is over
buckets widened to 20 answers and each bucket's own P95 is drawn faint. Breaker transitions
are dotted vertical lines across the latency and success panels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from harness.report.burn import AlertView
from harness.report.charts import (
    GRID,
    INK,
    P50,
    P95,
    PHASE,
    STATE_COLOURS,
    THRESHOLD,
    duration_label,
    duration_ticks,
    is_number,
    legend,
    metric,
    style,
    svg,
    thresholds,
    view,
)
from harness.report.display_lines import MIN_ANSWERS
from harness.verdicts.checks import Check

__all__ = [
    "FEW_SAMPLES",
    "TimelinePlan",
    "bucket_label",
    "extra_lines",
    "timeline_plan",
    "timeline_svg",
]

FEW_SAMPLES = 20
"""Below this many requests in a bucket, its P95 is its slowest request."""
UPSTREAM = "#8e6c8a"


@dataclass(frozen=True)
class TimelinePlan:
    """Which checks the timeline draws, and which it cannot."""

    latency: list[Check]
    success: list[Check]
    upstream_line: bool
    not_drawn: list[Check]
    budget: list[Check] = field(default_factory=list)  # budget_spent limits, on the burn-down


def timeline_plan(checks: Sequence[Check], series: Mapping[str, Any]) -> TimelinePlan:
    """Return what the timeline of ``series`` (a display series) draws of ``checks``."""
    drawable = {"p50", "p95", *extra_lines(series)}
    latency = [
        c for c in checks if c.unit == "ms" and view(c) == "client" and metric(c) in drawable
    ]
    rates = [c for c in checks if c.unit == "ratio" and metric(c) == "success_rate"]
    upstream_line = bool(series["unsent"]) or any(view(c) == "upstream" for c in rates)
    success = [c for c in rates if view(c) == "client" or upstream_line]
    budget = [c for c in checks if metric(c) == "budget_spent" and "budget_spent" in series]
    drawn = [c for c in latency + success + budget if is_number(c.threshold)]
    not_drawn = [c for c in checks if c.unit in ("ms", "ratio") and c not in drawn]
    return TimelinePlan(
        [c for c in latency if c in drawn], [c for c in success if c in drawn], upstream_line,
        not_drawn, [c for c in budget if c in drawn],
    )  # fmt: skip


EXTRA_COLOURS = ("#b8860b", "#2a8c82", "#8e44ad", "#5d6d7e")
"""Colours of the lines for the other percentiles and the average an objective uses."""


def extra_lines(series: Mapping[str, Any]) -> dict[str, list[float | None]]:
    """Return the series' latency lines besides P50/P95 that objectives use: ``p99``, ``avg``…"""
    lines = dict(series.get("percentiles_ms") or {})
    if series.get("avg_ms") is not None:
        lines["avg"] = series["avg_ms"]
    return lines


def bucket_label(ms: float) -> str:
    """Return a bucket width as the chart names it: ``5 s``, ``1 min``."""
    seconds = ms / 1000
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"


def timeline_svg(
    salt: str,
    series: Mapping[str, Any],
    transitions: Sequence[Mapping[str, Any]] | None,
    final_state: str | None,
    phases: Sequence[Mapping[str, Any]],
    checks: Sequence[Check],
    end_ms: float,
    alerts: Sequence[AlertView] = (),
) -> str:
    """Return latency (P50/P95 per bucket), success rate and breaker state on one time axis;
    with ``alerts`` (an upstream's burn-rate alerts), a lane per alert below them holding a
    bar for each span of time it fired in."""
    plan = timeline_plan(checks, series)
    with style(salt):
        ratios: list[float] = [3, 1.5, 0.42]
        hspace, top, bottom = 0.12, 0.93, 0.1
        height = 4.6
        burn_down = series.get("budget_spent")
        # Rows under the breaker band, in inches: the budget's burn-down, a lane per alert.
        extras = [BUDGET_PANEL_INCHES] if burn_down is not None else []
        extras += [ALERT_LANE_INCHES * len(alerts)] if alerts else []
        if extras:
            # The other panels keep their size, the gaps between them and the margins (in
            # inches) as they are without these rows.
            unit = 4.6 * (top - bottom) / (1 + hspace * 2 / 3) / sum(ratios)  # inches per ratio
            gap = hspace * unit * sum(ratios) / 3
            height += sum(extras) + gap * len(extras)
            ratios += [inches / unit for inches in extras]
            hspace = gap / (unit * sum(ratios) / len(ratios))
            top, bottom = 1 - 4.6 * (1 - top) / height, 4.6 * bottom / height
        figure = Figure(figsize=(10.5, height))
        grid = figure.add_gridspec(
            len(ratios),
            1,
            height_ratios=ratios,
            hspace=hspace,
            left=0.075,
            right=0.78 if plan.latency or plan.success or plan.budget else 0.97,  # SLO labels
            top=top,
            bottom=bottom,
        )
        latency = figure.add_subplot(grid[0])
        panels = [
            latency,
            *(figure.add_subplot(grid[row], sharex=latency) for row in range(1, len(ratios))),
        ]
        success, band = panels[1], panels[2]
        scale = _time_scale(end_ms)
        times = [t / scale.ms for t in series["t_ms"]] + [end_ms / scale.ms]
        _latency_panel(latency, times, series, plan.latency)
        _success_panel(success, times, series, plan)
        _state_band(band, scale, transitions, final_state, end_ms)
        if burn_down is not None:
            _budget_panel(panels[3], times, burn_down, plan.budget)
        if alerts:
            _alert_lanes(panels[-1], salt, alerts, scale, end_ms)
        for axes in panels:
            _shade_phases(axes, phases, scale, label=axes is latency)
            axes.set_xlim(0, end_ms / scale.ms)
        for axes in (latency, success):
            _mark_transitions(axes, salt, transitions or (), scale, label=axes is latency)
        for axes in panels[:-1]:
            axes.tick_params(labelbottom=False)
        panels[-1].set_xlabel(f"virtual time ({scale.unit})")
        return svg(figure)


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
    axes: Axes, times: list[float], series: Mapping[str, Any], limits: Sequence[Check]
) -> None:
    p95, p50 = _steps(series["p95_ms"]), _steps(series["p50_ms"])
    widened = series.get("widened_p95_ms")
    drawn = p95 + p50
    if widened is not None and widened != series["p95_ms"]:
        # Few answers per bucket: a bucket's P95 is its slowest request and jumps about, so
        # the line to read is over ≥ 20 answers, with each bucket's own value faint behind it.
        axes.plot(times, p95, drawstyle="steps-post", color=P95, linewidth=0.9, alpha=0.45,
                  label="P95 per bucket")  # fmt: skip
        bold = _steps(widened)
        axes.plot(times, bold, drawstyle="steps-post", color=P95, linewidth=1.8,
                  label=f"P95 over ≥{MIN_ANSWERS} answers", zorder=3)  # fmt: skip
        drawn += bold
    else:
        # P95 on top: where the two are equal, the line the SLO is about stays visible.
        axes.plot(times, p95, drawstyle="steps-post", color=P95, linewidth=1.3, label="P95",
                  zorder=3)  # fmt: skip
    axes.plot(times, p50, drawstyle="steps-post", color=P50, linewidth=1.0, label="P50")
    used = {metric(check) for check in limits}
    extra = [(name, line) for name, line in extra_lines(series).items() if name in used]
    for (name, line), colour in zip(extra, EXTRA_COLOURS * 4, strict=False):
        values = _steps(line)
        # Only the lines an objective is about: a P99 nobody checks would only add noise.
        axes.plot(times, values, drawstyle="steps-post", color=colour, linewidth=1.0,
                  label=name if name == "avg" else name.upper())  # fmt: skip
        drawn += values
    known = [value for value in drawn if not math.isnan(value) and value > 0]
    known += [float(check.threshold) for check in limits if float(check.threshold) > 0]
    if known and max(known) / min(known) > 30:
        axes.set_yscale("log")
        duration_ticks(axes.yaxis, min(known), max(known))
    else:
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: duration_label(value)))
        axes.set_ylim(0, max(known, default=1.0) * 1.15)
    thresholds(axes, [(float(check.threshold), check.text, check.verdict) for check in limits])
    axes.set_ylabel(f"latency per {bucket_label(series['bucket_ms'])}")
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    handles, _ = axes.get_legend_handles_labels()
    if limits:
        handles.append(Line2D([], [], color=THRESHOLD, linestyle="--", linewidth=1, label="SLO"))
    legend(axes, handles)


def _success_panel(
    axes: Axes, times: list[float], series: Mapping[str, Any], plan: TimelinePlan
) -> None:
    client = [None if rate is None else rate * 100 for rate in series["success_rate"]]
    axes.plot(times, _steps(client), drawstyle="steps-post", color=P95, linewidth=1.1)
    if plan.upstream_line:
        reached = [None if r is None else r * 100 for r in series["upstream_success_rate"]]
        axes.plot(times, _steps(reached), drawstyle="steps-post", color=UPSTREAM, linewidth=1.0)
        _view_labels(axes)
    axes.set_ylim(-3, 105)
    levels = [(float(c.threshold) * 100, c.text, c.verdict) for c in plan.success]
    thresholds(axes, levels)
    axes.set_yticks([0, 50, 100], ["0%", "50%", "100%"])
    axes.set_ylabel("success" if plan.upstream_line else "success (client)")
    axes.grid(axis="y", color=GRID, linewidth=0.8)


def _view_labels(axes: Axes) -> None:
    """Name the two success lines inside the panel (a legend would cover the latency's)."""
    for position, (text, colour) in enumerate((("client", P95), ("upstream view", UPSTREAM))):
        axes.annotate(
            text,
            xy=(0.005 + 0.09 * position, 0.04),
            xycoords="axes fraction",
            color=colour,
            fontsize=8,
            fontweight="bold",
        )


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


BUDGET_PANEL_INCHES = 0.6
"""The height of the error budget's burn-down panel under the breaker band."""


def _budget_panel(
    axes: Axes, times: list[float], spent: Sequence[float | None], limits: Sequence[Check]
) -> None:
    """Draw the budget spent by the end of each bucket (0 at the start), in % of the whole
    scenario's allowance, with the ``budget_spent`` limits dashed in their verdict's colour."""
    values = [0.0, *(math.nan if value is None else value * 100 for value in spent)]
    axes.plot(times, values, color=ALERT, linewidth=1.2)
    known = [value for value in values if not math.isnan(value)]
    known += [float(check.threshold) * 100 for check in limits]
    axes.set_ylim(0, max(100.0, *known) * 1.1)
    axes.axhline(100, color=GRID, linewidth=0.8)
    thresholds(axes, [(float(c.threshold) * 100, c.text, c.verdict) for c in limits])
    axes.set_yticks([0, 100], ["0%", "100%"])
    axes.set_ylabel("budget")


ALERT_LANE_INCHES = 0.24
"""The height of one burn-rate alert's lane under the breaker band."""
ALERT = "#b03a2e"


def _alert_lanes(
    axes: Axes, salt: str, alerts: Sequence[AlertView], scale: _Scale, end_ms: float
) -> None:
    """Draw one lane per alert, first alert on top: a bar over each span it fired in (at least
    a sliver wide, as a HALF_OPEN probe is), its SVG id ``SALT-alert-FACTOR-span-N``, and its
    name (``14.4× (30s/2.5s)``) at the lane's left, saying so when it never fired."""
    axes.set_yticks([])
    axes.spines["left"].set_visible(False)
    axes.set_ylabel("alerts", rotation=0, ha="right", va="center")
    visible = end_ms / 400
    lanes = len(alerts)
    for number, alert in enumerate(alerts):
        bottom = lanes - 1 - number
        for index, (start, stop) in enumerate(alert.fired):
            width = max(stop - start, visible)
            bar = Rectangle(
                (start / scale.ms, bottom + 0.12), width / scale.ms, 0.76,
                facecolor=ALERT, edgecolor="none",
            )  # fmt: skip
            bar.set_gid(f"{salt}-alert-{alert.key}-span-{index}")
            axes.add_patch(bar)
        axes.annotate(
            alert.label if alert.fired else f"{alert.label} never fired",
            xy=(0.004, bottom + 0.5),
            xycoords=("axes fraction", "data"),
            va="center",
            color=INK if alert.fired else "#777",
            fontsize=7,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 0.8},
        )
    axes.set_ylim(0, lanes)


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


MAX_TRANSITION_LABELS = 12
"""Above this many transitions the markers stay unlabelled: the state band names them."""


def _mark_transitions(
    axes: Axes,
    salt: str,
    transitions: Sequence[Mapping[str, Any]],
    scale: _Scale,
    *,
    label: bool,
) -> None:
    """Draw each breaker transition as a dotted vertical line in the new state's colour (the
    state band alone is far from the latency line a reader is looking at)."""
    named = label and len(transitions) <= MAX_TRANSITION_LABELS
    for number, move in enumerate(transitions):
        at, state = float(move["at_ms"]) / scale.ms, str(move["to"])
        colour = STATE_COLOURS.get(state, "#666")
        line = axes.axvline(at, color=colour, linestyle=":", linewidth=1.1, zorder=2)
        line.set_gid(f"{salt}-transition-{number}-{'latency' if label else 'success'}")
        if named:
            axes.annotate(
                f"→{state}",
                xy=(at, 0),
                xycoords=("data", "axes fraction"),
                xytext=(2, 2),
                textcoords="offset points",
                rotation=90,
                color=colour,
                fontsize=7,
            )
