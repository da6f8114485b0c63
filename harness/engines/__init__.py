"""The engines that drive a scenario's traffic.

- ``http``: every request goes through a real ``httpx.AsyncClient`` to respx-mocked upstreams, on
  a virtual-time event loop: the client code itself is exercised.
- ``direct``: the same arrivals, seeded faults, breaker and clock, without the HTTP stack, for
  long soaks (about two orders of magnitude cheaper per request).

Both share the request lifecycle in :mod:`harness.engines.lanes`, so for one scenario and seed
they make the same breaker calls in the same order at the same virtual times and produce the
same Result; a property test holds them together.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.clock import VirtualClock
from harness.engines.direct import run_direct
from harness.engines.http import run_http
from harness.engines.lanes import EngineOutput, TransitionHook
from harness.engines.service import EntryPoints
from harness.format.scenario import Scenario

__all__ = ["ENGINES", "EngineOutput", "TransitionHook", "run_engine"]

Engine = Callable[[Scenario, int, VirtualClock, TransitionHook | None], EngineOutput]
ENGINES: dict[str, Engine] = {"http": run_http, "direct": run_direct}


def run_engine(
    name: str,
    scenario: Scenario,
    seed: int,
    clock: VirtualClock,
    on_transition: TransitionHook | None,
    entry_points: EntryPoints | None = None,
) -> EngineOutput:
    """Run ``scenario``'s traffic on the engine called ``name``, on ``clock``; ``entry_points``
    (your code, see :mod:`harness.engines.service`) run on the http engine only."""
    if entry_points is not None:
        return run_http(scenario, seed, clock, on_transition, entry_points)
    return ENGINES[name](scenario, seed, clock, on_transition)
