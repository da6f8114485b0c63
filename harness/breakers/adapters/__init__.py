"""Breakers under test, behind one small interface the engines drive.

A :class:`Guard` wraps one breaker: ``call(attempt)`` runs ``attempt`` through it (raising
:class:`~harness.breakers.builtin.CircuitOpenError` when the breaker rejects the call),
``state()`` reads its state, and every transition is reported to the listener given at
creation with its virtual time.

- ``builtin``: the harness's own breaker (:mod:`harness.breakers.adapters.builtin`);
- ``pybreaker``, ``aiobreaker``, ``circuitbreaker``, ``purgatory``: those libraries, each
  driven through its own public way of wrapping a call (one module each, imported only when a
  scenario names it, so the libraries stay optional);
- ``"package.module:factory"``: your own breaker (:mod:`harness.breakers.adapters.custom`).
"""

from __future__ import annotations

import importlib

from harness.breakers.adapters.base import Guard, SyncGuard, TransitionListener, Unguarded
from harness.breakers.adapters.builtin import BuiltinGuard
from harness.clock import VirtualClock
from harness.errors import HarnessError
from harness.format.breaker_settings import (
    Breaker,
    BreakerConfig,
    CustomBreakerSettings,
    library_problem,
)

__all__ = [
    "BuiltinGuard",
    "Guard",
    "SyncGuard",
    "TransitionListener",
    "Unguarded",
    "create_guard",
    "reads_wall_clock",
]


def create_guard(
    config: BreakerConfig | None, name: str, clock: VirtualClock, listener: TransitionListener
) -> Guard:
    """Return the guard for one upstream's breaker settings (no breaker: pass-through)."""
    if config is None:
        return Unguarded()
    if isinstance(config, Breaker):
        return BuiltinGuard(config, name, clock, listener)
    module = "custom" if isinstance(config, CustomBreakerSettings) else config.impl
    try:
        adapter = importlib.import_module(f"harness.breakers.adapters.{module}")
    except ImportError:
        problem = library_problem(config.impl) or f"cannot load the adapter for {config.impl!r}"
        raise HarnessError(f"upstreams.{name}.breaker: {problem}") from None
    guard: Guard = adapter.create(config, name, clock, listener)
    return guard


def reads_wall_clock(config: BreakerConfig | None) -> bool:
    """Return whether the breaker reads ``time.*``/``datetime.now`` (the run must patch them)."""
    return bool(getattr(config, "reads_wall_clock", False))
