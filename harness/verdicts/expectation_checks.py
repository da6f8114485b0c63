"""Check breaker expectations against a finished run, from its samples and transitions.

Every check reads only what the run recorded: the breaker's transitions (with virtual times)
and, per request, its start, outcome and the breaker state when it was admitted. A verdict
carries the observed value, the threshold and a note saying what happened, with times.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.events import BreakerState, Outcome
from harness.format.expectations import (
    EXPECTATION_MODELS,
    AlertFires,
    Closes,
    Expectation,
    HalfOpenTrials,
    NoAlertDuring,
    NoUpstreamCallsWhileOpen,
    OpenEpisodes,
    Opens,
    TimeOpen,
    Transitions,
)
from harness.format.phase_windows import PhaseLike, Window
from harness.format.units import vtime
from harness.verdicts.alert_checks import check_alert
from harness.verdicts.budget import Budget
from harness.verdicts.episodes import (
    entries_into,
    first_in_state,
    glob_match,
    path_text,
    state_before,
)
from harness.verdicts.metrics import BreakerSummary, Samples

__all__ = ["BreakerRun", "ExpectationVerdict", "check_expectations"]

Observed = float | str | list[str] | None
OPEN, HALF_OPEN, CLOSED = BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED


@dataclass(frozen=True)
class ExpectationVerdict:
    """An expectation checked against a run: what was seen, the bound, and the call."""

    expectation: Expectation
    observed: Observed
    threshold: float | str | list[str] | dict[str, int | None]
    unit: str  # "duration_ms", "count" or "states"
    passed: bool
    note: str | None = None

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return self.expectation.text

    @property
    def check(self) -> str:
        """Return the expectation's key, e.g. ``half_open_trials``."""
        kind = type(self.expectation)
        return next(key for key, model in EXPECTATION_MODELS.items() if model is kind)

    @property
    def observed_text(self) -> str:
        """Return the observed value as a person reads it."""
        if self.observed is None:
            return "never"
        if isinstance(self.observed, list):
            return " → ".join(self.observed)
        if self.unit == "duration_ms" and isinstance(self.observed, float):
            return vtime(round(self.observed * 1e6))
        return str(int(self.observed)) if isinstance(self.observed, float) else self.observed

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: times in ms, counts as numbers, states by name."""
        return {
            "expectation": self.text,
            "check": self.check,
            "observed": self.observed,
            "threshold": self.threshold,
            "unit": self.unit,
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(frozen=True, eq=False)
class BreakerRun:
    """What the checks read: one upstream's samples and breaker summary, and its phases."""

    samples: Samples
    summary: BreakerSummary
    phases: Mapping[str, PhaseLike]

    @property
    def initial(self) -> BreakerState:
        """Return the state the breaker started in."""
        moves = self.summary.transitions
        return moves[0].source if moves else self.summary.final_state

    def admitted_in(self, state: BreakerState) -> np.ndarray[Any, Any]:
        """Return the start times of requests admitted in ``state`` that reached the upstream."""
        samples = self.samples
        unsent = (samples.outcome == Outcome.SHORT_CIRCUITED) | (samples.outcome == Outcome.DROPPED)
        starts: np.ndarray[Any, Any] = samples.start_ns[(samples.state == state) & ~unsent]
        return starts


def check_expectations(
    expect: Sequence[Expectation],
    samples: Samples,
    summary: BreakerSummary | None,
    timeline: Sequence[PhaseLike],
    budget: Budget | None = None,
) -> tuple[ExpectationVerdict, ...]:
    """Return one verdict per expectation: breaker ones against the breaker (every one fails
    when there is none), alert ones against the error budget's alerts."""
    phases = {phase.name: phase for phase in timeline if phase.name}
    return tuple(_check(item, samples, summary, phases, budget) for item in expect)


def _check(
    item: Expectation,
    samples: Samples,
    summary: BreakerSummary | None,
    phases: dict[str, PhaseLike],
    budget: Budget | None,
) -> ExpectationVerdict:
    if not len(samples) or (summary is None and not isinstance(item, AlertFires | NoAlertDuring)):
        note = "this upstream has no breaker" if len(samples) else "no requests were sent"
        return ExpectationVerdict(item, None, "", "", False, note)
    if isinstance(item, AlertFires | NoAlertDuring):
        return ExpectationVerdict(item, *check_alert(item, budget, phases))
    assert summary is not None
    return _CHECKS[type(item)](item, BreakerRun(samples, summary, phases))


def _opens(item: Any, run: BreakerRun) -> ExpectationVerdict:
    return _window(item, item.opens, OPEN, run)


def _closes(item: Any, run: BreakerRun) -> ExpectationVerdict:
    return _window(item, item.closes, CLOSED, run)


def _window(
    item: Opens | Closes, window: Window, target: BreakerState, run: BreakerRun
) -> ExpectationVerdict:
    anchor = window.anchor_ns(run.phases[window.phase])
    moves = run.summary.transitions
    where = f"{window.phase!r} {window.edge} at {vtime(anchor)}"
    reached = first_in_state(run.initial, moves, anchor, target)
    if reached is None:
        if any(move.at_ns >= anchor for move in moves):
            what = f"from then on: {path_text(run.initial, moves, since_ns=anchor)}"
        else:
            what = f"it stayed {state_before(run.initial, moves, anchor).name}"
        note = f"never {target.name} after {where}; {what}"
        return ExpectationVerdict(item, None, window.within / 1e6, "duration_ms", False, note)
    delay = reached - anchor
    if delay == 0 and state_before(run.initial, moves, anchor) is target:
        note = f"already {target.name} when {where}"
    else:
        note = f"{target.name} at {vtime(reached)}, {vtime(delay)} after {where}"
    passed = delay <= window.within
    return ExpectationVerdict(item, delay / 1e6, window.within / 1e6, "duration_ms", passed, note)


def _no_upstream_calls_while_open(item: Any, run: BreakerRun) -> ExpectationVerdict:
    starts = run.admitted_in(OPEN)
    note = None
    if starts.size:
        shown = ", ".join(vtime(int(t)) for t in starts[:3])
        more = f" and {starts.size - 3} more" if starts.size > 3 else ""
        note = f"{starts.size} request(s) reached the upstream while OPEN, at {shown}{more}"
    return ExpectationVerdict(item, float(starts.size), 0.0, "count", not starts.size, note)


def _half_open_trials(item: Any, run: BreakerRun) -> ExpectationVerdict:
    limit = item.half_open_trials.at_most
    entries = np.array(entries_into(run.summary.transitions, HALF_OPEN), dtype=np.int64)
    trials = run.admitted_in(HALF_OPEN)
    if not entries.size:
        return ExpectationVerdict(item, 0.0, float(limit), "count", True, "never HALF_OPEN")
    # Each trial belongs to the HALF_OPEN episode that began last at or before it.
    episode = np.searchsorted(entries, trials, side="right") - 1
    counts = np.bincount(episode[episode >= 0], minlength=entries.size)
    worst = int(np.argmax(counts))
    most = int(counts[worst])
    mine = trials[episode == worst]
    first, last = vtime(int(mine[0])) if most else "", vtime(int(mine[-1])) if most else ""
    span = "" if most < 2 else f", all at {first}" if first == last else f", {first} to {last}"
    note = (
        f"{entries.size} HALF_OPEN episode(s); the one from {vtime(int(entries[worst]))} "
        f"admitted {most} trial call(s){span}"
    )
    return ExpectationVerdict(item, float(most), float(limit), "count", most <= limit, note)


def _open_episodes(item: Any, run: BreakerRun) -> ExpectationVerdict:
    bounds = item.open_episodes
    entries = entries_into(run.summary.transitions, OPEN)
    shown = ", ".join(vtime(t) for t in entries[:5]) + (" …" if len(entries) > 5 else "")
    note = f"entered OPEN {len(entries)} time(s)" + (f", at {shown}" if entries else "")
    threshold = {"min": bounds.min, "max": bounds.max}
    return ExpectationVerdict(
        item, float(len(entries)), threshold, "count", bounds.holds(len(entries)), note
    )


def _time_open(item: Any, run: BreakerRun) -> ExpectationVerdict:
    limit = item.time_open.at_most
    spent = run.summary.time_open_ns
    episodes = len(entries_into(run.summary.transitions, OPEN))
    note = f"OPEN for {vtime(spent)} in total over {episodes} episode(s)"
    return ExpectationVerdict(item, spent / 1e6, limit / 1e6, "duration_ms", spent <= limit, note)


def _transitions(item: Any, run: BreakerRun) -> ExpectationVerdict:
    moves = run.summary.transitions
    states = [run.initial.name] + [move.target.name for move in moves]
    passed = glob_match(item.transitions, states)
    note = None if passed else f"went {path_text(run.initial, moves)}"
    return ExpectationVerdict(item, states, list(item.transitions), "states", passed, note)


_CHECKS: dict[type, Callable[[Any, BreakerRun], ExpectationVerdict]] = {
    Opens: _opens,
    Closes: _closes,
    NoUpstreamCallsWhileOpen: _no_upstream_calls_while_open,
    HalfOpenTrials: _half_open_trials,
    OpenEpisodes: _open_episodes,
    TimeOpen: _time_open,
    Transitions: _transitions,
}
