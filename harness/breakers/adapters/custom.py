"""Your own breaker or client wrapper under test: ``impl: "package.module:factory"``.

``factory(**settings)`` is called once per upstream and run. What it returns decides how it is
driven:

- a pybreaker, aiobreaker or circuitbreaker breaker, or a purgatory
  ``AsyncCircuitBreakerFactory``: exactly as ``impl: <library>`` drives one (so settings the
  scenario format has no words for, such as excluded exceptions, can be set in Python);
- anything else with ``async call(attempt)`` and ``state`` (an attribute, property or method
  giving "closed"/"open"/"half_open", an enum with those names, or a BreakerState): ``call``
  must await ``attempt()`` to let the request through; an exception raised before it did
  counts as a rejection. ``state`` is read at every admission, completion and state read,
  and each change is recorded at the virtual time it is seen.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, ClassVar, TypeVar

from harness.breakers.adapters.base import Guard, TransitionListener
from harness.breakers.adapters.common import Attempt, PolledGuard, state_named
from harness.clock import VirtualClock
from harness.errors import HarnessError
from harness.events import BreakerState
from harness.format.breaker_settings import THIRD_PARTY, CustomBreakerSettings, resolve_factory

__all__ = ["CustomGuard", "create"]

T = TypeVar("T")


class CustomGuard(PolledGuard):
    """Drive any object with ``async call(attempt)`` and a ``state``."""

    # Anything the breaker raises before letting the call through is its rejection — except the
    # exceptions that mean a bug in it, which stop the run with a message instead of passing
    # quietly for a breaker that rejects everything.
    rejections = (Exception,)
    faults: ClassVar[tuple[type[BaseException], ...]] = (
        TypeError,
        AttributeError,
        NameError,
        AssertionError,
        ImportError,
        NotImplementedError,
    )

    def __init__(
        self, breaker: Any, impl: str, name: str, clock: VirtualClock, listener: TransitionListener
    ) -> None:
        super().__init__(impl, name, clock, listener)
        self.breaker = breaker
        self._seen = (self.snapshot()[0], None)
        self.initial_state = self._seen[0]

    def snapshot(self) -> tuple[BreakerState, object]:
        """Return the breaker's state (no "opened at" mark is known)."""
        state = self.breaker.state
        return state_named(state() if callable(state) else state), None

    async def run(self, attempt: Attempt[T]) -> T:
        """Await ``breaker.call(attempt)``."""
        result: T = await self.breaker.call(attempt)
        return result


def create(
    config: CustomBreakerSettings, name: str, clock: VirtualClock, listener: TransitionListener
) -> Guard:
    """Build the user's breaker with the scenario's settings and return a guard over it."""
    where = f"upstreams.{name}.breaker (impl {config.impl!r})"
    try:
        breaker = resolve_factory(config.impl)(**config.settings)
    except Exception as error:  # the user's code: report it with the scenario key it came from
        message = f"{where}: the factory raised {type(error).__name__}: {error}"
        raise HarnessError(message) from error
    for library in THIRD_PARTY:
        # A library's breaker can only come from a library already imported by the factory.
        if library in sys.modules:
            adapter = importlib.import_module(f"harness.breakers.adapters.{library}")
            if isinstance(breaker, adapter.WRAPS):
                guard: Guard = adapter.GUARD(breaker, config.impl, name, clock, listener)
                return guard
    if not callable(getattr(breaker, "call", None)) or not hasattr(breaker, "state"):
        raise HarnessError(
            f"{where}: the factory returned a {type(breaker).__name__}, which has no "
            "async call(attempt) method and state; see the README's 'Your own breaker'"
        )
    try:
        return CustomGuard(breaker, config.impl, name, clock, listener)
    except HarnessError as error:
        raise HarnessError(f"{where}: {error}") from None
