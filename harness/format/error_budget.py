"""Error-budget settings in the scenario format: which objective a budget derives from, the
burn-rate alert table, and the shortest ``slo_period`` the alerts allow (see
:mod:`harness.verdicts.budget` for the semantics)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.format.objectives import Objective, View
from harness.format.units import NS_PER_MS, NS_PER_S, format_duration

__all__ = [
    "ALERT_PAIRS",
    "BASE_PERIOD_NS",
    "BUDGET_METRICS",
    "MIN_PERIOD_NS",
    "budget_problem",
    "target_objective",
]

_MINUTE = 60 * NS_PER_S
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
BASE_PERIOD_NS = 30 * _DAY
ALERT_PAIRS: tuple[tuple[int, int, float], ...] = (
    (1 * _HOUR, 5 * _MINUTE, 14.4),
    (6 * _HOUR, 30 * _MINUTE, 6.0),
    (1 * _DAY, 2 * _HOUR, 3.0),
    (3 * _DAY, 6 * _HOUR, 1.0),
)
"""(long window, short window, burn-rate factor) for a 30-day period (SRE workbook, ch. 5)."""
SHORTEST_WINDOW_NS = 100 * NS_PER_MS
"""The scaled 5-minute window may not be shorter than this: a shorter one holds a request or two
at typical rates, and its check is noise. Hence ``slo_period`` must be at least 14m24s."""
MIN_PERIOD_NS = BASE_PERIOD_NS * SHORTEST_WINDOW_NS // ALERT_PAIRS[0][1]
BUDGET_METRICS = {"budget_spent"}


def target_objective(objectives: Sequence[Objective]) -> Objective | None:
    """Return the objective a budget derives from: the first client-view ``success_rate`` or
    ``good_rate(BOUND)`` objective with ``>=`` or ``>`` and a threshold below 100%."""
    for objective in objectives:
        if (
            objective.metric in ("success_rate", "good_rate")
            and objective.view is View.CLIENT
            and objective.op in (">=", ">")
            and isinstance(objective.threshold, float)
            and objective.threshold < 1
        ):
            return objective
    return None


def budget_problem(objectives: Sequence[Objective], period_ns: int | None) -> str | None:
    """Return what is wrong with an upstream's budget settings, or None."""
    if period_ns is not None and period_ns < MIN_PERIOD_NS:
        return (
            f"slo_period {format_duration(period_ns)} is too short: its shortest alert window "
            f"(5m scaled by period/30d) would be under {SHORTEST_WINDOW_NS // NS_PER_MS}ms; "
            f"use at least {format_duration(MIN_PERIOD_NS)}"
        )
    wanted = period_ns is not None or any(o.metric in BUDGET_METRICS for o in objectives)
    if wanted and target_objective(objectives) is None:
        return (
            "an error budget (budget_spent or slo_period) needs a target objective to derive it "
            "from, like 'success_rate >= 99.9%' or 'good_rate(800ms) >= 99%' in slo"
        )
    return None
