"""Read a breaker's recorded transitions as a timeline: states at instants, episodes, paths.

A transition at ``t`` takes effect at ``t``: the state *at* ``t`` is the one after every
transition stamped at or before ``t``; the state *before* ``t`` ignores those stamped at ``t``.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.events import BreakerState, Transition
from harness.format.expectations import WILDCARD
from harness.format.units import vtime

__all__ = [
    "entries_into",
    "first_in_state",
    "glob_match",
    "path_text",
    "state_before",
]


def state_before(initial: BreakerState, moves: Sequence[Transition], at_ns: int) -> BreakerState:
    """Return the state just before ``at_ns`` (transitions stamped at ``at_ns`` not applied)."""
    state = initial
    for move in moves:
        if move.at_ns >= at_ns:
            break
        state = move.target
    return state


def first_in_state(
    initial: BreakerState, moves: Sequence[Transition], since_ns: int, target: BreakerState
) -> int | None:
    """Return the first instant at or after ``since_ns`` at which the state is ``target``."""
    if state_before(initial, moves, since_ns) is target:
        return since_ns
    for move in moves:
        if move.at_ns >= since_ns and move.target is target:
            return move.at_ns
    return None


def entries_into(moves: Sequence[Transition], target: BreakerState) -> list[int]:
    """Return when the breaker entered ``target`` from another state (restarts not counted)."""
    return [move.at_ns for move in moves if move.target is target and move.source is not target]


def glob_match(pattern: Sequence[str], states: Sequence[str]) -> bool:
    """Return whether ``states`` match ``pattern``, where ``...`` matches any run of states."""
    # Classic wildcard matching by dynamic programming over (pattern prefix, states prefix).
    reachable = [True] + [False] * len(states)
    for item in pattern:
        if item == WILDCARD:
            for index in range(1, len(states) + 1):
                reachable[index] = reachable[index] or reachable[index - 1]
            continue
        reachable = [False] + [
            reachable[index] and states[index] == item for index in range(len(states))
        ]
    return reachable[-1]


def path_text(
    initial: BreakerState, moves: Sequence[Transition], limit: int = 8, since_ns: int = -1
) -> str:
    """Return ``CLOSED → OPEN (4.01s) → …``: the states visited, with when they began."""
    shown = [move for move in moves if move.at_ns >= since_ns]
    start = state_before(initial, moves, since_ns) if since_ns >= 0 else initial
    parts = [start.name] + [f"{move.target.name} ({vtime(move.at_ns)})" for move in shown[:limit]]
    if len(shown) > limit:
        parts.append(f"… {len(shown) - limit} more")
    return " → ".join(parts)
