"""What the reports show of an upstream's error budget: read from the result's ``budget`` block.

The budget and its burn-rate alerts are computed with the verdicts
(:mod:`harness.verdicts.budget`); this module only reads their JSON form and names them the
same way in every report: an alert is its factor and its scaled windows, long first
(``14.4× (30s/2.5s)`` for the workbook's 1h/5m pair under ``slo_period: 6h``), and a span of
virtual time it fired in runs from the first to the last request start at which it fired.
An upstream without a ``budget`` block (no ``slo_period``, no ``budget_spent``) has nothing here,
so its reports are as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.format.phase_windows import span
from harness.format.units import NS_PER_MS, vtime
from harness.format.values import format_value

__all__ = [
    "MAX_SPANS",
    "AlertView",
    "BudgetView",
    "alert_text",
    "budget_text",
    "budget_view",
    "spans_text",
]


@dataclass(frozen=True)
class AlertView:
    """One burn-rate alert as the reports show it."""

    factor: float
    long_ms: float
    short_ms: float
    fired: tuple[tuple[float, float], ...]  # (from ms, to ms) of virtual time

    @property
    def label(self) -> str:
        """Return ``14.4× (30s/2.5s)``: the factor and its windows (long/short) as scaled."""
        return f"{self.factor:g}× ({_window(self.long_ms)}/{_window(self.short_ms)})"

    @property
    def key(self) -> str:
        """Return the factor as a label value or an id: ``14.4``."""
        return f"{self.factor:g}"


@dataclass(frozen=True)
class BudgetView:
    """An upstream's budget as the reports show it."""

    target: str
    requests: int
    bad: int
    spent: float | None
    period_ms: float | None
    alerts: tuple[AlertView, ...]

    @property
    def fired(self) -> tuple[AlertView, ...]:
        """Return the alerts that fired at least once."""
        return tuple(alert for alert in self.alerts if alert.fired)


def budget_view(upstream: Mapping[str, Any]) -> BudgetView | None:
    """Return an upstream's budget from its result JSON, or None when it has none."""
    budget = upstream.get("budget")
    if not budget:
        return None
    alerts = tuple(
        AlertView(
            float(alert["factor"]),
            float(alert["long_window_ms"]),
            float(alert["short_window_ms"]),
            tuple((float(s["from_ms"]), float(s["to_ms"])) for s in alert["fired"]),
        )
        for alert in budget.get("alerts") or ()
    )
    return BudgetView(
        str(budget["target"]),
        int(budget["requests"]),
        int(budget["bad"]),
        None if budget["spent"] is None else float(budget["spent"]),
        None if budget.get("period_ms") is None else float(budget["period_ms"]),
        alerts,
    )


def _window(ms: float) -> str:
    return span(round(ms * NS_PER_MS))


def _moment(ms: float) -> str:
    return vtime(round(ms * NS_PER_MS))


MAX_SPANS = 12
"""An alert that flapped is listed with its first this many spans and how many there were."""


def spans_text(alert: AlertView) -> str:
    """Return ``912.8s–931.2s, 1000s`` (a span of one request start is one time); past
    :data:`MAX_SPANS` spans, the first ones and ``… (40 spans in all)``."""
    shown = ", ".join(
        _moment(start) if start == stop else f"{_moment(start)}–{_moment(stop)}"
        for start, stop in alert.fired[:MAX_SPANS]
    )
    more = len(alert.fired) - MAX_SPANS
    return shown if more <= 0 else f"{shown}, … ({len(alert.fired)} spans in all)"


def alert_text(alert: AlertView) -> str:
    """Return ``alert 14.4× (30s/2.5s) fired 912.8s–931.2s``."""
    return f"alert {alert.label} fired {spans_text(alert)}"


def budget_text(budget: BudgetView) -> str:
    """Return ``error budget 60.741% spent: 164 bad of 9000 requests against TARGET``."""
    spent = format_value(budget.spent, "ratio", missing="–")
    return (
        f"error budget {spent} spent: {budget.bad} bad of {budget.requests} requests "
        f"against {budget.target}"
    )
