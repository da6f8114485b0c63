"""Check burn-rate alert expectations against a run's error budget: when its alerts fired.

An alert's firings are spans of virtual time (the first and last start of a run of requests at
which it fired, see :mod:`harness.verdicts.budget`); the checks compare them with the named
phase's window. They need no breaker.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.format.alert_expectations import AlertFires, NoAlertDuring, factor_text
from harness.format.phase_windows import PhaseLike, span
from harness.format.units import vtime
from harness.verdicts.budget import Alert, Budget

__all__ = ["AlertOutcome", "check_alert"]

AlertOutcome = tuple[float | None, float, str, bool, str]
"""(observed, threshold, unit, passed, note): the parts of an expectation's verdict."""


def check_alert(
    item: AlertFires | NoAlertDuring, budget: Budget | None, phases: dict[str, PhaseLike]
) -> AlertOutcome:
    """Return the verdict's parts for one alert expectation."""
    if isinstance(item, AlertFires):
        return _fires(item, _alerts(budget, item.factor), phases)
    return _quiet(item, _alerts(budget, item.factor), phases)


def _alerts(budget: Budget | None, factor: float | None) -> list[Alert]:
    alerts = () if budget is None else budget.alerts
    return [alert for alert in alerts if factor is None or alert.factor == factor]


def _fires(item: AlertFires, alerts: Sequence[Alert], phases: dict[str, PhaseLike]) -> AlertOutcome:
    window = item.alert_fires
    anchor = window.anchor_ns(phases[window.phase])
    where = f"{window.phase!r} {window.edge} at {vtime(anchor)}"
    within_ms = window.within / 1e6
    first: tuple[int, int, Alert] | None = None  # (delay, fired at, alert)
    for alert in alerts:
        found = _first_firing(alert, anchor)
        if found is not None and (first is None or found - anchor < first[0]):
            first = (found - anchor, found, alert)
    if first is None:
        note = f"{factor_text(item.factor)} never fired after {where}; {_needs(alerts)}"
        return None, within_ms, "duration_ms", False, note
    delay, at, alert = first
    if at < anchor:
        note = f"the {alert.factor_text} alert was already firing when {where} (since {vtime(at)})"
        delay = 0
    else:
        note = f"the {alert.factor_text} alert fired at {vtime(at)}, {span(delay)} after {where}"
    return delay / 1e6, within_ms, "duration_ms", delay <= window.within, note


def _first_firing(alert: Alert, anchor: int) -> int | None:
    """Return when the alert first fired at or after ``anchor`` (the start of a span under way
    at ``anchor`` if it was firing then), or None."""
    for start, end in alert.fired:
        if end >= anchor:
            return start
    return None


def _quiet(
    item: NoAlertDuring, alerts: Sequence[Alert], phases: dict[str, PhaseLike]
) -> AlertOutcome:
    name = item.no_alert_during.phase
    phase = phases[name]
    windows: Sequence[tuple[int, int]] = getattr(phase, "windows", None) or [
        (phase.start, phase.end)
    ]
    seen = []
    for alert in alerts:
        overlaps = [
            (max(a, start), min(b, end))
            for a, b in alert.fired
            for start, end in windows
            if a < end and b >= start
        ]
        if overlaps:
            at, until = min(overlaps)
            seen.append(f"the {alert.factor_text} alert fired at {vtime(at)} (to {vtime(until)})")
    during = ", ".join(f"{vtime(start)} to {vtime(end)}" for start, end in windows)
    if seen:
        note = f"during {name!r} ({during}): " + "; ".join(seen)
    else:
        which = "no alert" if item.factor is None else f"the {item.factor:g}× alert never"
        note = f"{which} fired during {name!r} ({during})"
    return float(len(seen)), 0.0, "count", not seen, note


def _needs(alerts: Sequence[Alert]) -> str:
    """Return what the alerts needed to fire: their windows and least requests."""
    return (
        "; ".join(
            f"the {alert.factor_text} alert needs both its {span(alert.long_ns)} and "
            f"{span(alert.short_ns)} windows above {alert.factor:g}× with at least "
            f"{alert.min_requests} request(s) in each"
            + (
                f" (its {span(alert.short_ns)} window held at most {alert.fullest})"
                if alert.fullest < alert.min_requests
                else ""
            )
            for alert in alerts
        )
        or "no alert of that factor was evaluated (no requests)"
    )
