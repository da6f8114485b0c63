"""Chaos search: the mildest fault profile, within given ranges, that breaks a scenario.

Each ``--vary PATH=FIRST..LAST`` names a field of the scenario (a dotted path, checked as
:meth:`Scenario.override` checks it, with a did-you-mean) and a range written **mild end
first**: ``upstreams.vertex.failure_rate=0%..100%``, ``upstreams.vertex.timeline.0.to=5m..9m``.
A range is cut into at most ``STEPS`` even steps; hypothesis draws a step per range, runs the
scenario with those values (its breaker settings and objectives fixed), and looks for a run
that fails any objective or expectation. Once one fails, hypothesis shrinks every step towards
0 — towards the first value written — so the profile it returns is the mildest it found, and
that profile is written as a scenario (same seed, same engine) which, run again, fails the
same checks. With several seeds (``--seeds``), a profile breaks when any of them fails (they
run in parallel on the executor), and the scenario is written with the first seed that failed.

The search is deterministic for a given seed and example budget (hypothesis draws from a
``random.Random(seed)``, no example database); the time budget is a safety stop, after which
every further candidate is counted as not tried, so a search cut by time may differ between
machines — the report says whether the budget was reached.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from harness.engines.runner import run
from harness.errors import HarnessError, ScenarioError
from harness.explore.executors import InlineExecutor, ordered_map
from harness.explore.sweep import checks_of, run_seed
from harness.format.scenario import Scenario
from harness.format.units import format_duration, format_rate, parse_duration, parse_rate
from harness.verdicts.result import ScenarioSource

__all__ = ["Search", "Vary", "breaking_scenario", "outcome", "parse_vary", "search"]

STEPS = 1000
"""The most steps a range is cut into (a rate range of 0%..100% moves by 0.1%)."""

_NO_SOURCE = ScenarioSource(None, None)
_VARY = re.compile(r"^(?P<path>[^=\s]+)\s*=\s*(?P<first>[^.\s][^\s]*?)\s*\.\.\s*(?P<last>\S+)$")


@dataclass(frozen=True)
class Vary:
    """A field and the range it is searched over, from ``first`` (mild) to ``last``."""

    path: str
    kind: str  # "rate", "duration" or "count"
    first: Fraction
    last: Fraction

    @property
    def steps(self) -> int:
        """Return how many steps the range is cut into."""
        span = abs(self.last - self.first)
        return min(STEPS, int(span)) if self.kind == "count" else STEPS if span else 0

    def value(self, step: int) -> str | int:
        """Return the value at ``step`` (0: ``first``; ``steps``: ``last``) as a scenario
        writes it."""
        exact = self.first + (self.last - self.first) * Fraction(step, self.steps or 1)
        if self.kind == "rate":
            return format_rate(float(exact))
        if self.kind == "duration":
            return format_duration(round(exact))
        return round(exact)


def parse_vary(text: str) -> Vary:
    """Parse ``PATH=FIRST..LAST``; a rate (``%`` or a fraction), a duration, or a count."""
    match = _VARY.match(text.strip())
    if match is None:
        example = "upstreams.vertex.failure_rate=0%..100%"
        raise ValueError(f"--vary {text!r}: expected PATH=FIRST..LAST, such as {example}")
    path, first, last = match.group("path", "first", "last")
    for kind, parse in (("count", _count), ("duration", parse_duration), ("rate", parse_rate)):
        try:
            low, high = parse(first), parse(last)
        except ValueError as error:
            reason = str(error)
            continue
        return Vary(path, kind, Fraction(low), Fraction(high))
    raise ValueError(f"--vary {text!r}: {reason}")


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"expected a count, a duration or a rate, got {text!r}")
    return int(text)


@dataclass
class Search:
    """A search's settings, and what it tried."""

    scenario: Scenario
    varies: tuple[Vary, ...]
    seed: int
    engine: str = "direct"
    more_seeds: tuple[int, ...] = ()
    executor: Executor = field(default_factory=InlineExecutor, compare=False, repr=False)
    workers: int = 1
    max_examples: int = 200
    budget_s: float = 60.0
    seed_of_search: int = 0
    tried: list[dict[str, Any]] = field(default_factory=list)
    over_budget: bool = False

    @property
    def seeds(self) -> tuple[int, ...]:
        """Return the seeds each profile runs with: a profile breaks if any of them fails."""
        return (self.seed, *(s for s in self.more_seeds if s != self.seed))

    def profile(self, steps: tuple[int, ...]) -> dict[str, Any]:
        """Return the overrides ``steps`` stand for."""
        return {vary.path: vary.value(step) for vary, step in zip(self.varies, steps, strict=True)}

    def check(self) -> None:
        """Raise ScenarioError or HarnessError if a path or an end of a range is not one the
        scenario can take, before anything runs."""
        if not self.varies:
            raise HarnessError("nothing to search: give at least one --vary PATH=FIRST..LAST")
        for ends in ((0,) * len(self.varies), tuple(v.steps for v in self.varies)):
            self.scenario.override(self.profile(ends))


def search(plan: Search) -> dict[str, Any]:
    """Search ``plan``'s ranges; return the report: what was tried, and the mildest breaking
    profile found (``found``), with each range's next milder step checked (``milder``)."""
    plan.check()
    breaks = _memo(plan)
    strategy = st.tuples(*(st.integers(0, vary.steps) for vary in plan.varies))
    chooser = random.Random(plan.seed_of_search)
    try:
        found: tuple[int, ...] | None = find(
            strategy, breaks, settings=_settings(plan), random=chooser
        )
    except NoSuchExample:
        found = None
    if found is not None:
        found = _polish(found, breaks, plan)
    return _report(plan, found, breaks)


def _memo(plan: Search) -> Callable[[tuple[int, ...]], bool]:
    """Return ``breaks(steps)``: runs each profile once, and none after the time budget."""
    outcomes: dict[tuple[int, ...], bool] = {}
    deadline = time.monotonic() + plan.budget_s

    def breaks(steps: tuple[int, ...]) -> bool:
        steps = tuple(steps)
        if steps not in outcomes:
            if time.monotonic() > deadline:
                plan.over_budget = True
                return False
            outcomes[steps] = _try(plan, steps)
        return outcomes[steps]

    return breaks


def _polish(
    found: tuple[int, ...], breaks: Callable[[tuple[int, ...]], bool], plan: Search
) -> tuple[int, ...]:
    """Finish the shrinking range by range: a bisection between the mild end and the found
    step, so the step just milder than the result is known to pass. (Hypothesis's shrinker
    stops when its passes make no progress, which may leave a gap; a fault's effect is
    usually monotone in its size, which is what bisection assumes — and the report shows the
    milder step's own run, so the assumption is checked, not trusted.)"""
    steps = list(found)
    for index in range(len(steps)):
        passing, failing = -1, steps[index]
        while failing - passing > 1 and not plan.over_budget:
            middle = (passing + failing) // 2
            candidate = (*steps[:index], middle, *steps[index + 1 :])
            if breaks(candidate):
                failing = middle
            else:
                passing = middle
        steps[index] = failing
    return tuple(steps)


def _settings(plan: Search) -> settings:
    return settings(
        max_examples=plan.max_examples,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )


def _try(plan: Search, steps: tuple[int, ...]) -> bool:
    """Run the profile ``steps`` stands for; record it; return whether it broke a check."""
    profile = plan.profile(steps)
    entry: dict[str, Any] = {"profile": profile}
    try:
        scenario = plan.scenario.override(profile)
    except ScenarioError as error:  # a mix the format refuses (a window past the end): skip it
        entry.update(valid=False, error=str(error))
        plan.tried.append(entry)
        return False
    tasks = [(scenario, seed, plan.engine, _NO_SOURCE) for seed in plan.seeds]
    runs = ordered_map(plan.executor, run_seed, tasks, plan.workers)
    broken = next((r for r in runs if not r["passed"]), runs[0])  # the first seed that failed
    entry.update(valid=True, seed=broken["seed"], passed=broken["passed"])
    entry["failed"] = [
        f"{c['upstream']}: {c['check']}" for c in broken["checks"] if not c["passed"]
    ]
    if len(runs) > 1:
        entry["failing_seeds"] = [r["seed"] for r in runs if not r["passed"]]
    plan.tried.append(entry)
    return not entry["passed"]


def outcome(scenario: Scenario, seed: int, engine: str) -> dict[str, Any]:
    """Run ``scenario``; return whether it passed and which checks failed."""
    data = run(scenario, seed=seed, engine=engine).to_dict(run_info=False)
    failed = [f"{c['upstream']}: {c['check']}" for c in checks_of(data) if not c["passed"]]
    return {"passed": bool(data["passed"]), "failed": failed}


def _report(
    plan: Search, found: tuple[int, ...] | None, breaks: Callable[[tuple[int, ...]], bool]
) -> dict[str, Any]:
    minimal = None
    if found is not None:
        minimal = next(e for e in plan.tried if e["profile"] == plan.profile(found))
        minimal = {**minimal, "milder": _milder(plan, found, breaks)}
    return {
        "kind": "search",
        "scenario": plan.scenario.name,
        "seed": plan.seed,
        "seeds": list(plan.seeds),
        "engine": plan.engine,
        "search_seed": plan.seed_of_search,
        "max_examples": plan.max_examples,
        "budget_s": plan.budget_s,
        "over_budget": plan.over_budget,
        "varied": [
            {"path": v.path, "kind": v.kind, "first": v.value(0), "last": v.value(v.steps)}
            for v in plan.varies
        ],
        "found": minimal,
        "tried": plan.tried,
    }


def _milder(
    plan: Search, found: tuple[int, ...], breaks: Callable[[tuple[int, ...]], bool]
) -> list[dict[str, Any]]:
    """Return, per range not at its mild end, the profile one step milder and whether it
    broke a check (run now if the search had not run it)."""
    milder = []
    for index, step in enumerate(found):
        if step == 0:
            continue
        steps = (*found[:index], step - 1, *found[index + 1 :])
        broke = breaks(steps)
        tried = next((e for e in plan.tried if e["profile"] == plan.profile(steps)), None)
        milder.append({"profile": plan.profile(steps), "broke": broke, "run": tried is not None})
    return milder


def breaking_scenario(plan: Search, report: dict[str, Any]) -> Scenario:
    """Return the scenario the search found to break: its profile, the (first) seed it failed
    with, and the engine fixed."""
    found = report["found"]
    return plan.scenario.override(
        {**found["profile"], "seed": found["seed"], "engine": plan.engine}
    )
