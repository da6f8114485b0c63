"""What resilience code changes, measured: retry amplification, fallbacks, good answers within a
bound, and drops — the numbers a service's own retries, timeouts and fallbacks move.

- ``amplification`` (client view): attempts that reached any upstream per request of this
  upstream's traffic; with an entry point, every attempt its calls made, to any upstream.
  ``upstream.amplification``: attempts that reached *this* upstream per entry-point call
  (of every lane).
- ``fallback_rate``: requests an entry point answered with a ``Fallback``, per request.
- ``good_rate(BOUND)``: requests that succeeded within ``BOUND`` (latency ≤ bound), per request
  — dropped, shed, failed and fallback answers are never good.
- ``dropped_rate``: requests refused over the concurrency cap, per request.

Every rate is over the client view's requests; over zero requests an objective fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from harness.events import Outcome
from harness.format.objectives import OPERATORS, SERVICE_METRICS, Objective, View
from harness.format.units import NS_PER_MS
from harness.verdicts.metrics import IntArray, Samples, ViewStats
from harness.verdicts.objectives import Verdict

__all__ = ["SERVICE_METRICS", "ServiceStats", "evaluate_service"]


@dataclass(frozen=True)
class ServiceStats:
    """Attempts per request, for one upstream: as a caller and as a callee."""

    requests: int
    """Requests of this upstream's traffic (entry-point calls, or bare client requests)."""
    attempts: Mapping[str, int]
    """Attempts those requests made, per upstream reached."""
    reached_by_calls: int = 0
    """Attempts that reached this upstream from entry-point calls (any lane)."""
    calls: int = 0
    """Entry-point calls of every lane."""
    entry_point: str | None = None
    exceptions: Mapping[str, int] = field(default_factory=dict)
    """How many of this lane's calls raised each exception type (by name)."""
    phases: tuple[PhaseAmplification, ...] = ()
    """Per timeline phase of this upstream: entry-point calls and attempts here within it."""

    @property
    def amplification(self) -> float | None:
        """Return attempts (to any upstream) per request, or None over zero requests."""
        return sum(self.attempts.values()) / self.requests if self.requests else None

    @property
    def upstream_amplification(self) -> float | None:
        """Return attempts that reached this upstream per entry-point call, or None."""
        return self.reached_by_calls / self.calls if self.calls else None

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        requests = self.requests
        return {
            "entry_point": self.entry_point,
            "requests": requests,
            "attempts": dict(self.attempts),
            "amplification": self.amplification,
            "amplification_by_upstream": {
                name: count / requests if requests else None
                for name, count in self.attempts.items()
            },
            "reached_by_entry_points": self.reached_by_calls,
            "upstream_amplification": self.upstream_amplification,
            "exceptions": dict(sorted(self.exceptions.items())),
            "phases": [phase.to_dict() for phase in self.phases],
        }


@dataclass(frozen=True)
class PhaseAmplification:
    """Attempts that reached one upstream during one of its phases, per entry-point call
    arriving in that window (an attempt counts in the window it started in)."""

    name: str
    calls: int
    attempts: int

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            "name": self.name,
            "calls": self.calls,
            "attempts": self.attempts,
            "amplification": self.attempts / self.calls if self.calls else None,
        }


def phase_amplification(
    windows: Iterable[tuple[str, int, int]], call_starts: IntArray, attempt_starts: IntArray
) -> tuple[PhaseAmplification, ...]:
    """Return, per ``(name, from_ns, to_ns)`` window, calls and attempts starting within it."""

    def within(starts: IntArray, start: int, end: int) -> int:
        return int(np.count_nonzero((starts >= start) & (starts < end)))

    return tuple(
        PhaseAmplification(
            name, within(call_starts, start, end), within(attempt_starts, start, end)
        )
        for name, start, end in windows
    )


def evaluate_service(
    objective: Objective,
    samples: Samples,
    views: Mapping[View, ViewStats],
    service: ServiceStats | None,
) -> Verdict:
    """Check a service objective (``SERVICE_METRICS``) against one upstream's samples."""
    if objective.metric == "amplification":
        return _amplification(objective, service)
    requests = views[View.CLIENT].requests
    if not requests:
        return Verdict(objective, None, 0, False, "no requests in the client view")
    outcomes = samples.outcome
    if objective.metric == "fallback_rate":
        count = int(np.count_nonzero(outcomes == Outcome.FALLBACK))
    elif objective.metric == "dropped_rate":
        count = int(np.count_nonzero(outcomes == Outcome.DROPPED))
    else:
        assert objective.bound_ms is not None
        bound_ns = round(objective.bound_ms * NS_PER_MS)
        good = (outcomes == Outcome.SUCCESS) & (samples.latency_ns <= bound_ns)
        count = int(np.count_nonzero(good))
    observed = count / requests
    return Verdict(
        objective, observed, requests, OPERATORS[objective.op](observed, objective.threshold)
    )


def evaluate_phase(objective: Objective, service: ServiceStats | None) -> Verdict:
    """Check ``upstream.requests`` / ``upstream.amplification`` ``during`` one phase."""
    phase = next(
        (p for p in (service.phases if service else ()) if p.name == objective.phase), None
    )
    if phase is None:
        note = "per-phase numbers are measured for entry-point traffic only"
        return Verdict(objective, None, 0, False, note)
    if objective.metric == "requests":
        observed: float = phase.attempts
    elif phase.calls:
        observed = phase.attempts / phase.calls
    else:
        return Verdict(objective, None, 0, False, "no entry-point calls in this phase")
    return Verdict(
        objective, observed, phase.calls, OPERATORS[objective.op](observed, objective.threshold)
    )


def _amplification(objective: Objective, service: ServiceStats | None) -> Verdict:
    if service is None:
        return Verdict(objective, None, 0, False, "no traffic measured for this upstream")
    if objective.view is View.UPSTREAM:
        observed, samples = service.upstream_amplification, service.calls
        note = "no entry-point calls in this run"
    else:
        observed, samples = service.amplification, service.requests
        note = "no requests in the client view"
    if observed is None:
        return Verdict(objective, None, 0, False, note)
    return Verdict(
        objective, observed, samples, OPERATORS[objective.op](observed, objective.threshold)
    )
