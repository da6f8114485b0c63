"""Error budget and the SRE workbook's multi-window, multi-burn-rate alerts, for one upstream.

The budget comes from the upstream's *target objective*: its first ``success_rate >= X`` or
``good_rate(BOUND) >= X`` objective (client view). The allowed bad fraction is ``1 - X``; a bad
event is a request that objective does not count as good (the same population: every client
request; for ``success_rate`` anything but a success, for ``good_rate`` anything but a success
within the bound). ``budget_spent = bad / (allowed × requests)`` over the whole scenario.

Alerts (only when the upstream names ``slo_period``): each pair of the workbook's table, written
for a 30-day period, is scaled by ``slo_period / 30d``. The burn rate over a window is
``bad / requests`` among requests *starting* in ``(t - window, t]``, divided by the allowed
fraction. It is evaluated at each request's start time ``t``; an alert fires at ``t`` when the burn
rate over both its long and its short window exceeds the factor and each window holds at least
the alert's minimum number of requests. The run is all the history there is: a window reaching
back before ``t = 0`` holds what arrived since (as Prometheus's ``rate()`` over a range does for a
series younger than the range), so an alert whose long window is longer than the run can fire.
The minimum (``alert_min_requests``; by default :func:`default_min_requests`, the fewest requests
in which one bad request alone does not burn above the factor) keeps the first few requests,
or a trickle of traffic, from firing an alert on one or two failures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.events import Outcome
from harness.format.error_budget import (
    ALERT_PAIRS,
    BASE_PERIOD_NS,
    BUDGET_METRICS,
    target_objective,
)
from harness.format.objectives import OPERATORS, Objective
from harness.format.units import NS_PER_MS
from harness.verdicts.metrics import IntArray, Samples
from harness.verdicts.objectives import Verdict

__all__ = [
    "Alert",
    "Budget",
    "allowed_fraction",
    "bad_events",
    "budget_of",
    "burn_rate",
    "default_min_requests",
    "evaluate_budget",
    "scaled",
    "upstream_budget",
]


def allowed_fraction(target: Objective) -> float:
    """Return ``1 - target``, rounded to 12 decimals so that 99.9% allows exactly 0.001 (as
    written) rather than 0.0010000000000000009 (the float subtraction's artefact)."""
    assert isinstance(target.threshold, float)
    return round(1 - target.threshold, 12)


def bad_events(target: Objective, samples: Samples) -> npt.NDArray[np.bool_]:
    """Return which requests count against the budget (aligned with ``samples``): those the
    target objective does not count as good."""
    good = samples.outcome == Outcome.SUCCESS
    if target.metric == "good_rate":
        assert target.bound_ms is not None
        good &= samples.latency_ns <= round(target.bound_ms * NS_PER_MS)
    bad: npt.NDArray[np.bool_] = ~good
    return bad


@dataclass(frozen=True)
class Alert:
    """One scaled alert pair and the spans of virtual time it fired in."""

    long_ns: int
    short_ns: int
    factor: float
    fired: tuple[tuple[int, int], ...]  # (first, last) request start in ns of each firing span
    min_requests: int = 1  # the fewest requests each window must hold before it may fire
    fullest: int = 0  # the most requests the short window held at any request's start

    @property
    def factor_text(self) -> str:
        """Return the factor as a person writes it: ``14.4×``, ``6×``."""
        return f"{self.factor:g}×"

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form (times in ms of virtual time)."""
        return {
            "long_window_ms": self.long_ns / NS_PER_MS,
            "short_window_ms": self.short_ns / NS_PER_MS,
            "factor": self.factor,
            "min_requests": self.min_requests,
            "fired": [{"from_ms": a / NS_PER_MS, "to_ms": b / NS_PER_MS} for a, b in self.fired],
        }


@dataclass(frozen=True)
class Budget:
    """An upstream's error budget over the scenario, and its burn-rate alerts."""

    target: Objective
    requests: int
    bad: int
    period_ns: int | None
    alerts: tuple[Alert, ...] = ()

    @property
    def allowed(self) -> float:
        """Return the allowed bad fraction, ``1 - target``."""
        return allowed_fraction(self.target)

    @property
    def spent(self) -> float | None:
        """Return bad / (allowed × requests), or None over zero requests."""
        return self.bad / (self.allowed * self.requests) if self.requests else None

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            "target": self.target.text,
            "allowed_bad_fraction": self.allowed,
            "requests": self.requests,
            "bad": self.bad,
            "spent": self.spent,
            "period_ms": None if self.period_ns is None else self.period_ns / NS_PER_MS,
            "alerts": [alert.to_dict() for alert in self.alerts],
        }


def budget_of(
    target: Objective, samples: Samples, period_ns: int | None, min_requests: int | None = None
) -> Budget:
    """Return the budget spent by ``samples`` and, with a period, the alerts that fired: each
    window must hold ``min_requests`` requests (None: :func:`default_min_requests`)."""
    bad = bad_events(target, samples)
    budget = Budget(target, len(samples), int(np.count_nonzero(bad)), period_ns)
    if period_ns is None or not len(samples):
        return budget
    cumulative = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
    alerts = []
    for long_ns, short_ns, factor in ALERT_PAIRS:
        long_ns, short_ns = scaled(long_ns, period_ns), scaled(short_ns, period_ns)
        least = (
            default_min_requests(factor, budget.allowed) if min_requests is None else min_requests
        )
        firing, _ = _burning(samples.start_ns, cumulative, budget.allowed, factor, long_ns, least)
        short, fullest = _burning(
            samples.start_ns, cumulative, budget.allowed, factor, short_ns, least
        )
        fired = _spans(samples.start_ns, firing & short)
        alerts.append(Alert(long_ns, short_ns, factor, fired, least, fullest))
    return Budget(target, budget.requests, budget.bad, period_ns, tuple(alerts))


def default_min_requests(factor: float, allowed: float) -> int:
    """Return the fewest requests in which one bad request does not burn above ``factor``:
    ``ceil(1 / (factor × allowed))`` (70 for 14.4× at 99.9%), in the burn check's own arithmetic."""
    least = max(1, math.ceil(1 / (factor * allowed)))
    while factor * allowed * least < 1:  # float rounding left one bad request still above
        least += 1
    while least > 1 and factor * allowed * (least - 1) >= 1:
        least -= 1
    return least


def _burning(
    starts: IntArray,
    cumulative: IntArray,
    allowed: float,
    factor: float,
    window_ns: int,
    least: int,
) -> tuple[npt.NDArray[np.bool_], int]:
    """Return, at each request's start t, whether the window (t - window, t] holds at least
    ``least`` requests and burns above ``factor``; and the most requests it ever held."""
    first = np.searchsorted(starts, starts - window_ns, side="right")
    last = np.searchsorted(starts, starts, side="right")  # ties at t all count
    requests = last - first
    bad = cumulative[last] - cumulative[first]
    # bad / requests / allowed > factor, multiplied out: no division by an empty window.
    burning: npt.NDArray[np.bool_] = (bad > factor * allowed * requests) & (requests >= least)
    return burning, int(requests.max())


def scaled(window_ns: int, period_ns: int) -> int:
    """Return a 30-day-period window scaled to ``period_ns`` (whole ns, rounded down)."""
    return window_ns * period_ns // BASE_PERIOD_NS


def _spans(starts: IntArray, firing: npt.NDArray[np.bool_]) -> tuple[tuple[int, int], ...]:
    """Return (first, last) start time of each run of consecutive firing requests."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], firing.astype(np.int8), [0]))))
    return tuple(
        (int(starts[begin]), int(starts[end - 1]))
        for begin, end in zip(edges[::2], edges[1::2], strict=True)
    )


def evaluate_budget(objective: Objective, budget: Budget | None) -> Verdict:
    """Check ``budget_spent OP X`` against the upstream's budget."""
    if budget is None or budget.spent is None:
        return Verdict(objective, None, 0, False, "no requests in the client view")
    spent = budget.spent
    passed = bool(OPERATORS[objective.op](spent, objective.threshold))
    note = f"{budget.bad} bad of {budget.requests} against {budget.target.text}"
    return Verdict(objective, spent, budget.requests, passed, note)


def upstream_budget(
    objectives: Sequence[Objective],
    samples: Samples,
    period_ns: int | None,
    min_requests: int | None = None,
) -> Budget | None:
    """Return the upstream's budget when it asks for one (``slo_period`` or ``budget_spent``)."""
    target = target_objective(objectives)
    asked = period_ns is not None or any(o.metric in BUDGET_METRICS for o in objectives)
    if not asked or target is None:
        return None
    return budget_of(target, samples, period_ns, min_requests)


def burn_rate(target: Objective, samples: Samples, window_ns: int, at_ns: int) -> float | None:
    """Return the burn rate over ``(at - window, at]``: its bad fraction / the allowed one."""
    starts = samples.start_ns
    inside = (starts > at_ns - window_ns) & (starts <= at_ns)
    requests = int(np.count_nonzero(inside))
    if not requests:
        return None
    bad = int(np.count_nonzero(bad_events(target, samples) & inside))
    return bad / requests / allowed_fraction(target)
