"""Hooks the slo-harness pytest plugin calls; implement them in a ``conftest.py`` or a plugin.

Outside pytest, :func:`harness.run` takes the same callback directly:
``harness.run(scenario, on_transition=lambda upstream, at_ns, source, target: ...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.events import BreakerState
    from harness.pytest_plugin.collection import ScenarioItem

__all__ = ["pytest_slo_breaker_transition"]


@pytest.hookspec
def pytest_slo_breaker_transition(
    item: ScenarioItem, upstream: str, at_ns: int, source: BreakerState, target: BreakerState
) -> None:
    """Called on every breaker transition of a scenario, at once, while the scenario runs.

    ``at_ns`` is the virtual time of the transition in nanoseconds since the scenario began;
    ``source`` and ``target`` are :class:`harness.BreakerState` members (``OPEN``,
    ``HALF_OPEN``…): what the original monitor logged as "OPEN/HALF_OPEN detected". Under
    pytest-xdist it runs in the worker that runs the scenario. Return nothing; a hook that
    raises fails the scenario's test.
    """
