"""``--until-decided``: extend a scenario's virtual time until its confidence objectives are
decided (none INCONCLUSIVE), up to a cap.

The scenario runs as written; while an objective with a confidence level is inconclusive it
runs again with its duration doubled (the same seed, so the longer run starts as the shorter
one did), up to ``max_factor`` times its own duration. Phases and bursts keep their times.
The result records how far it went (:class:`~harness.verdicts.result.Extension`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from harness.format.scenario import Scenario
from harness.verdicts.result import Extension, Result

__all__ = ["DEFAULT_MAX_FACTOR", "asks_confidence", "run_until_decided"]

DEFAULT_MAX_FACTOR = 16
"""Without a cap given, a scenario may run up to 16 times its own duration."""


def asks_confidence(scenario: Scenario) -> bool:
    """Return whether any objective of ``scenario`` has a confidence level."""
    return any(
        objective.confidence is not None
        for upstream in scenario.upstreams.values()
        for objective in upstream.slo
    )


def run_until_decided(
    scenario: Scenario, run: Callable[[Scenario], Result], max_factor: int = DEFAULT_MAX_FACTOR
) -> Result:
    """Return ``run``'s result for ``scenario`` extended until every confidence objective is
    decided, or for the longest extension the cap allows."""
    factor = 1
    result = run(scenario)
    while _undecided(result) and factor < max_factor:
        factor = min(factor * 2, max_factor)
        longer = scenario.model_copy(update={"duration": scenario.duration * factor})
        result = run(longer)
    extension = Extension(
        factor=factor,
        max_factor=max_factor,
        written_duration_ns=scenario.duration,
        decided=not _undecided(result),
    )
    return dataclasses.replace(result, extension=extension)


def _undecided(result: Result) -> bool:
    return any(verdict.inconclusive for _, verdict in result.verdicts)
