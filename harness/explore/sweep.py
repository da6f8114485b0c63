"""Seed sweeps: one scenario over many seeds, and how often each of its checks held.

A single seed is one sample of a random incident; a sweep runs the seeds ``first..last`` and
reports, per check (objective or breaker expectation) and for the scenario as a whole, the pass
probability with its Clopper–Pearson interval, the spread of each observed value across seeds
(nearest-rank percentiles), and every failing seed with the command that replays it.

A check may be *required* to pass in a share of runs (``--require "vertex: p95 < 500ms in
99%"``): it then holds when the interval's lower end reaches that share, fails when its upper
end is below it, and is inconclusive in between. Each seed's run is a pure function of (scenario,
seed, engine), and results are gathered in seed order, so the sweep's JSON is the same bytes
whatever executes it.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from harness.engines.runner import run
from harness.errors import HarnessError
from harness.explore.executors import ordered_map
from harness.explore.stats import clopper_pearson, percentile
from harness.format.scenario import Scenario
from harness.format.units import parse_rate
from harness.verdicts.result import ScenarioSource
from harness.version import __version__

__all__ = [
    "Requirement",
    "SweepPlan",
    "parse_requirement",
    "parse_seed_range",
    "sweep",
    "verdict_of",
]

SWEEP_SCHEMA_VERSION = 1
SEED_LIMIT = 2**63
MAX_SEEDS = 1_000_000
"""The most seeds one sweep runs: its summaries are held in memory (about 1 KB a seed)."""
SPREAD = (0, 5, 50, 95, 100)
"""The percentiles of each observed value reported across seeds (0: min, 100: max)."""

_REQUIREMENT = re.compile(
    r"^\s*(?:(?P<upstream>[^:]+?)\s*:\s*)?(?:(?P<check>.+?)\s+in\s+)?(?P<share>\S+?)(?:\s+of\s+runs)?\s*$"
)


@dataclass(frozen=True)
class Requirement:
    """A check that must pass in at least ``share`` of the runs; ``check`` None: the scenario."""

    upstream: str | None
    check: str | None
    share: float


@dataclass(frozen=True)
class SweepPlan:
    """What to sweep: the scenario, its seeds and engine, and the shares required of checks."""

    scenario: Scenario
    seeds: range
    engine: str
    source: ScenarioSource
    requirements: tuple[Requirement, ...] = ()
    confidence: float = 0.95


def parse_seed_range(text: str) -> range:
    """Return the seeds ``text`` names: ``"1..500"`` (both ends included) or one seed ``"7"``."""
    first, dots, last = text.partition("..")
    low = _seed(first, text)
    high = _seed(last, text) if dots else low
    if high < low:
        raise ValueError(
            f"seed range {text!r} is reversed or empty: write FIRST..LAST with FIRST <= LAST"
        )
    if high - low >= MAX_SEEDS:
        raise ValueError(f"seed range {text!r} has {high - low + 1} seeds; at most {MAX_SEEDS:,}")
    return range(low, high + 1)


def _seed(part: str, text: str) -> int:
    part, text = part.strip(), reprlib.repr(text)[1:-1]  # a long text is cut in the message
    shown = reprlib.repr(part)
    if not (part.isascii() and part.isdigit()) or len(part) > 19 or int(part) >= SEED_LIMIT:
        raise ValueError(
            f"seed range {text!r}: expected whole numbers from 0 to 2**63-1, got {shown}"
        )
    return int(part)


def parse_requirement(text: str) -> Requirement:
    """Parse ``[UPSTREAM:] [OBJECTIVE in] SHARE [of runs]``, e.g. ``vertex: p95 < 500ms in 99%``."""
    match = _REQUIREMENT.match(text)
    try:
        share = parse_rate(match.group("share")) if match else math.nan
    except ValueError as error:
        raise ValueError(f"requirement {text!r}: {error}") from None
    if match is None or not 0.0 < share <= 1.0:
        raise ValueError(
            f"requirement {text!r}: expected [UPSTREAM:] [OBJECTIVE in] SHARE, such as "
            "'vertex: p95 < 500ms in 99%' or '95%' (the whole scenario), with SHARE above 0%"
        )
    upstream, check = match.group("upstream"), match.group("check")
    if check is None and upstream is not None:
        raise ValueError(
            f"requirement {text!r}: name the objective: 'UPSTREAM: OBJECTIVE in SHARE'"
        )
    return Requirement(upstream, check, share)


def prepare(
    scenario: Scenario, requirements: Sequence[Requirement]
) -> tuple[Scenario, list[tuple[Requirement, str, str]]]:
    """Return the scenario with every required objective it lacks added (through
    :meth:`Scenario.override`, so it is checked like a file), and each requirement's key:
    (requirement, upstream, the objective's text as its verdicts name it)."""
    keys: list[tuple[Requirement, str, str]] = []
    for requirement in requirements:
        if requirement.check is None:
            continue
        upstream = _upstream_of(scenario, requirement)
        scenario, text = _with_objective(scenario, upstream, requirement.check)
        keys.append((requirement, upstream, text))
    return scenario, keys


def _upstream_of(scenario: Scenario, requirement: Requirement) -> str:
    names = list(scenario.upstreams)
    if requirement.upstream is None:
        if len(names) == 1:
            return names[0]
        raise HarnessError(
            f"requirement {requirement.check!r}: the scenario has several upstreams "
            f"({', '.join(names)}); write it as 'UPSTREAM: {requirement.check} in ...'"
        )
    if requirement.upstream not in scenario.upstreams:
        raise HarnessError(
            f"requirement {requirement.check!r}: no upstream {requirement.upstream!r} "
            f"(upstreams: {', '.join(names)})"
        )
    return requirement.upstream


def _with_objective(scenario: Scenario, upstream: str, check: str) -> tuple[Scenario, str]:
    """Return (scenario holding the objective ``check`` on ``upstream``, that objective's text)."""
    existing = list(scenario.upstreams[upstream].slo)
    extended = scenario.override(
        {f"upstreams.{upstream}.slo": [o.text for o in existing] + [check]}
    )
    added = extended.upstreams[upstream].slo[-1]
    for objective in existing:  # the same objective written alike or otherwise: use the file's
        if _meaning(objective) == _meaning(added):
            return scenario, objective.text
    return extended, added.text


def _meaning(objective: Any) -> tuple[Any, ...]:
    return (objective.view, objective.metric, objective.op, objective.threshold)


def run_seed(task: tuple[Scenario, int, str, ScenarioSource]) -> dict[str, Any]:
    """Run one seed; return what the sweep keeps of it (its checks, verdict and replay)."""
    scenario, seed, engine, source = task
    data = run(scenario, seed=seed, engine=engine, source=source).to_dict(run_info=False)
    return {
        "seed": seed,
        "passed": bool(data["passed"]),
        "replay": data["replay"],
        "checks": checks_of(data),
    }


def checks_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every check of a Result's JSON form (objectives, then expectations, per upstream):
    upstream, kind, check, passed, observed, unit."""
    checks = []
    for name, upstream in result["upstreams"].items():
        for kind in ("objective", "expectation"):
            for entry in upstream[f"{kind}s"]:
                checks.append(
                    {
                        "upstream": name,
                        "kind": kind,
                        "check": entry[kind],
                        "passed": bool(entry["passed"]),
                        "observed": entry.get("observed"),
                        "unit": entry.get("unit"),
                    }
                )
    return checks


def sweep(plan: SweepPlan, executor: Executor, workers: int = 1) -> dict[str, Any]:
    """Run every seed of ``plan`` on ``executor``; return the sweep's JSON form."""
    scenario, keys = prepare(plan.scenario, plan.requirements)
    tasks = [(scenario, seed, plan.engine, plan.source) for seed in plan.seeds]
    runs = ordered_map(executor, run_seed, tasks, workers)
    whole = next((r for r in plan.requirements if r.check is None), None)
    checks = [
        _check_summary(runs, index, keys, plan.confidence)
        for index in range(len(runs[0]["checks"]))
    ]
    overall = _summary([r["passed"] for r in runs], whole.share if whole else None, plan.confidence)
    in_file = {(name, o.text) for name, up in plan.scenario.upstreams.items() for o in up.slo}
    for check in checks:  # a failure of an added objective does not show when the file is replayed
        check["added"] = (
            check["kind"] == "objective" and (check["upstream"], check["check"]) not in in_file
        )
    return {
        "kind": "sweep",
        "schema_version": SWEEP_SCHEMA_VERSION,
        "harness_version": __version__,
        "scenario": {"name": scenario.name, "file": plan.source.file, "sha256": plan.source.sha256},
        "engine": plan.engine,
        "seeds": {"first": plan.seeds.start, "last": plan.seeds.stop - 1, "count": len(plan.seeds)},
        "confidence": plan.confidence,
        "scenario_passes": overall,
        "checks": checks,
        "failing_runs": [_failing(r, in_file) for r in runs if not r["passed"]],
        "verdict": _sweep_verdict(overall, checks, bool(plan.requirements)),
    }


def _check_summary(
    runs: list[dict[str, Any]],
    index: int,
    keys: list[tuple[Requirement, str, str]],
    confidence: float,
) -> dict[str, Any]:
    first = runs[0]["checks"][index]
    entries = [r["checks"][index] for r in runs]
    required = next(
        (
            req.share
            for req, up, text in keys
            if up == first["upstream"] and text == first["check"] and first["kind"] == "objective"
        ),
        None,
    )
    return {
        "upstream": first["upstream"],
        "kind": first["kind"],
        "check": first["check"],
        "unit": first["unit"],
        **_summary([e["passed"] for e in entries], required, confidence),
        "observed": spread([e["observed"] for e in entries]),
        "failing_seeds": [r["seed"] for r, e in zip(runs, entries, strict=True) if not e["passed"]],
    }


def _summary(passes: list[bool], required: float | None, confidence: float) -> dict[str, Any]:
    count, runs = sum(passes), len(passes)
    interval = clopper_pearson(count, runs, confidence)
    return {
        "passes": count,
        "runs": runs,
        "pass_probability": count / runs,
        "interval": interval.to_dict(),
        "required": required,
        "verdict": None if required is None else verdict_of(interval.low, interval.high, required),
    }


def verdict_of(low: float, high: float, required: float) -> str:
    """Return PASS when the whole interval reaches ``required``, FAIL when none of it does,
    else INCONCLUSIVE (more seeds would tell)."""
    if low >= required:
        return "PASS"
    if high < required:
        return "FAIL"
    return "INCONCLUSIVE"


def spread(values: Sequence[Any]) -> dict[str, Any]:
    """Return how ``values`` spread across seeds: percentiles of the numbers, counts of the rest
    (a breaker state, or no data)."""
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    others: dict[str, int] = {}
    for value in values:
        if not (isinstance(value, int | float) and not isinstance(value, bool)):
            others[str(value)] = others.get(str(value), 0) + 1
    result: dict[str, Any] = {f"p{q}": percentile(numbers, q) for q in SPREAD} if numbers else {}
    if others:
        result["values"] = dict(sorted(others.items()))
    return result


def _failing(run_summary: dict[str, Any], in_file: set[tuple[str, str]]) -> dict[str, Any]:
    failed = [
        f"{c['upstream']}: {c['check']}"
        + ("" if c["kind"] != "objective" or (c["upstream"], c["check"]) in in_file else " (added)")
        for c in run_summary["checks"]
        if not c["passed"]
    ]
    return {"seed": run_summary["seed"], "replay": run_summary["replay"], "failed": failed}


def _sweep_verdict(overall: dict[str, Any], checks: list[dict[str, Any]], judged: bool) -> str:
    """Without requirements every seed must pass; with them, only the requirements decide."""
    if not judged:
        return "PASS" if overall["passes"] == overall["runs"] else "FAIL"
    verdicts = [s["verdict"] for s in (overall, *checks) if s["verdict"] is not None]
    for verdict in ("FAIL", "INCONCLUSIVE"):
        if verdict in verdicts:
            return verdict
    return "PASS"
