"""Breakers under test, behind one small interface the engines drive.

A :class:`Guard` wraps one breaker: ``call(attempt)`` runs ``attempt`` through it (raising
:class:`~harness.breaker.CircuitOpenError` when the breaker rejects the call), ``state()`` reads
its state, and every transition is reported to the listener given at creation with its virtual
time.
"""

from __future__ import annotations

from harness.adapters.base import Guard, SyncGuard, TransitionListener, Unguarded
from harness.adapters.builtin import BuiltinGuard
from harness.clock import VirtualClock
from harness.scenario import Breaker

__all__ = ["BuiltinGuard", "Guard", "SyncGuard", "TransitionListener", "Unguarded", "create_guard"]


def create_guard(
    config: Breaker | None, name: str, clock: VirtualClock, listener: TransitionListener
) -> Guard:
    """Return the guard for one upstream's breaker settings (no breaker: pass-through)."""
    if config is None:
        return Unguarded()
    return BuiltinGuard(config, name, clock, listener)
