"""A search for your own tests: the mildest scenario, among values drawn for some of its
fields, that breaks an objective or expectation.

``find_breaking(scenario, vary)`` takes ``vary`` as a mapping of dotted paths to either

- a range ``"FIRST..LAST"`` (mild end first), searched as ``python -m harness search`` does
  (:func:`harness.explore.search.search`: hypothesis shrinks each step towards the first value,
  then each range is bisected to its mildest breaking step), or
- a hypothesis strategy, such as the public ones in :mod:`harness.strategies`
  (``fault_profiles()``, ``latencies()``, ``durations(...)``): a drawn dict is applied key by
  key below the path (``{"upstreams.api": fault_profiles()}`` sets ``upstreams.api.latency``,
  ``…failure_rate``, ``…errors``), anything else at the path itself; hypothesis shrinks them.

A path or value the scenario cannot take is a ScenarioError (a malformed range a HarnessError),
before the search starts for ranges and when drawn for strategies (such a draw is skipped). The
search is deterministic for a given ``search_seed`` (no example database).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from harness.engines.runner import run
from harness.errors import HarnessError, ScenarioError
from harness.explore.search import Search, breaking_scenario, parse_vary, search
from harness.format.scenario import Scenario

__all__ = ["find_breaking"]


def find_breaking(
    scenario: Scenario,
    vary: Mapping[str, str | st.SearchStrategy[Any]],
    *,
    seed: int | None = None,
    engine: str = "direct",
    max_examples: int = 100,
    budget_s: float = 60.0,
    search_seed: int = 0,
) -> Scenario | None:
    """Return the mildest scenario found that fails a check (seed and engine fixed in it), or
    None when no drawn profile broke it within ``max_examples`` and ``budget_s``."""
    chosen = scenario.seed if seed is None else seed
    if all(isinstance(value, str) for value in vary.values()):
        try:
            varies = tuple(parse_vary(f"{path}={text}") for path, text in vary.items())
        except ValueError as error:
            raise HarnessError(str(error)) from None
        plan = Search(
            scenario,
            varies,
            chosen,
            engine,
            max_examples=max_examples,
            budget_s=budget_s,
            seed_of_search=search_seed,
        )
        report = search(plan)
        return breaking_scenario(plan, report) if report["found"] else None
    strategy = st.fixed_dictionaries({path: _strategy(value) for path, value in vary.items()})
    return _find_drawn(scenario, strategy, chosen, engine, max_examples, budget_s, search_seed)


def _strategy(value: str | st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A range among strategies is searched as a strategy too: its steps, mildest first."""
    if not isinstance(value, str):
        return value
    vary = parse_vary(f"x={value}")
    return st.integers(0, vary.steps).map(vary.value)


def _find_drawn(
    scenario: Scenario,
    strategy: st.SearchStrategy[dict[str, Any]],
    seed: int,
    engine: str,
    max_examples: int,
    budget_s: float,
    search_seed: int,
) -> Scenario | None:
    deadline = time.monotonic() + budget_s
    fixed = {"seed": seed, "engine": engine}
    refused: list[ScenarioError] = []
    valid = 0

    def breaks(drawn: dict[str, Any]) -> bool:
        nonlocal valid
        if time.monotonic() > deadline:
            return False
        try:
            candidate = scenario.override({**_flat(drawn), **fixed})
        except ScenarioError as error:  # a value the format refuses here: not a profile
            refused.append(error)
            return False
        valid += 1
        return not run(candidate, seed=seed, engine=engine).passed

    limits = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    try:
        found = find(strategy, breaks, settings=limits, random=random.Random(search_seed))
    except NoSuchExample:
        if refused and not valid:  # a misspelt path, say: every draw was refused
            raise refused[0] from None
        return None
    return scenario.override({**_flat(found), **fixed})


def _flat(drawn: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a drawn dict key by key below its path; any other value at the path."""
    flat: dict[str, Any] = {}
    for path, value in drawn.items():
        if isinstance(value, Mapping):
            flat.update({f"{path}.{key}": inner for key, inner in value.items()})
        else:
            flat[path] = value
    return flat
