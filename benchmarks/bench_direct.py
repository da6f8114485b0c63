"""The direct engine against its floor, in one run: a minimal heapq simulation of the same model
(:mod:`benchmarks.floor`), the previous direct engine (:mod:`benchmarks.previous_direct`), and
SimPy on the same model when it is installed.

Each case runs the engine alone (no metrics, no reports) on seed-t3-consensus at 1 000 req/s,
the soak of bench_engines; the floor's five recorded columns must equal the engine's before
anything is timed. Ratios are medians of per-round ratios (see :mod:`benchmarks.timing`).
Goals: direct engine ≤ 1.5× the floor; ≥ 250 000 simulated requests/s on a quiet machine
(printed beside the load average: under load it says little).

A further case runs the same traffic through a shared pool and retries (``pools:``,
``retry:``: every request a coroutine of :mod:`harness.engines.policies`); its goal is
≥ 100 000 simulated requests/s, and its ratio to the plain direct case (same rounds) says what
the policies cost whatever the machine's load.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

from benchmarks.bench_engines import _soak
from benchmarks.floor import floor_run
from benchmarks.previous_direct import run_previous_direct
from benchmarks.timing import Goal, paired, paired_ratio
from harness.clock import VirtualClock
from harness.engines.direct import run_direct
from harness.engines.lanes import EngineOutput
from harness.format.scenario import Scenario


def run(quick: bool) -> dict[str, Any]:
    """Check the floor against the engine, time the cases, print the ratios and goals."""
    scenario = _soak("5s" if quick else "60s")
    requests = _check_same(scenario)
    policies = _with_policies(scenario)
    cases: dict[str, Callable[[], object]] = {
        "heapq floor": lambda: floor_run(scenario),
        "direct engine": lambda: _direct(scenario),
        POLICIES: lambda: _direct(policies),
        "previous direct engine": lambda: run_previous_direct(
            scenario, scenario.seed, VirtualClock(), None
        ),
    }
    if importlib.util.find_spec("simpy") is not None:
        from benchmarks.floor_simpy import simpy_run

        _check_same(scenario, simpy_run)
        cases["SimPy, same model"] = lambda: simpy_run(scenario)
    else:
        print("(SimPy is not installed: no SimPy case; pip install simpy)")
    rounds = 3 if quick else 15
    found = paired(cases, "heapq floor", rounds=rounds)
    speedup = paired_ratio(found, "previous direct engine", "direct engine")
    print(f"{requests:,} requests a run, {rounds} rounds; ratios: median of per-round ratios")
    for name, numbers in found.items():
        rate = requests / numbers["median_s"]
        print(f"  {name:<24} {numbers['ratio']:6.2f}× the floor  ({rate:>9,.0f} req/s)")
    direct_rate = requests / found["direct engine"]["median_s"]
    policy_rate = requests / found[POLICIES]["median_s"]
    policy_cost = paired_ratio(found, POLICIES, "direct engine")
    print(f"  pool + retries / plain direct engine: {policy_cost:.2f}× the time (same rounds)")
    goals = [
        Goal("direct engine / heapq floor", found["direct engine"]["ratio"], 1.5),
        Goal(
            "previous / current direct engine",
            speedup,
            2.0,
            at_most=False,
        ),
        Goal("direct engine req/s (quiet machine)", direct_rate, 250_000, at_most=False),
        Goal("direct engine with pool + retries req/s", policy_rate, 100_000, at_most=False),
    ]
    for goal in goals:
        print(goal.line())
    print(
        f"  (load average now {os.getloadavg()[0]:.1f}: req/s means something on a quiet machine)"
    )
    return {
        "requests": requests,
        "cases": found,
        "previous_over_current": speedup,
        "policies_over_plain_time": policy_cost,
        "goals": [goal.to_dict() for goal in goals],
    }


POLICIES = "direct, pool + retries"


def _with_policies(scenario: Scenario) -> Scenario:
    """The soak with both upstreams in one pool of 150 slots (dropping when full) and retries
    on Vertex (3 attempts, 100 ms-1 s backoff, a 20% budget): the same arrivals."""
    return scenario.override(
        {
            "pools": {"workers": {"max_concurrent": 150}},
            "upstreams.t1.pool": "workers",
            "upstreams.vertex.pool": "workers",
            "upstreams.vertex.retry": {
                "attempts": 3,
                "backoff": {"base": "100ms", "max": "1s"},
                "budget": "20%",
            },
        }
    )


def _direct(scenario: Scenario) -> EngineOutput:
    return run_direct(scenario, scenario.seed, VirtualClock(), None)


def _check_same(scenario: Scenario, model: Callable[[Scenario], dict[str, Any]] = floor_run) -> int:
    """Assert ``model`` records exactly what the engine does; return the requests in a run."""
    floor = model(scenario)
    output = _direct(scenario)
    for name, columns in floor.items():
        log = output.logs[name]
        engine = (log.start_ns, log.latency_ns, log.outcome, log.status, log.state)
        for label, mine, theirs in zip(
            ("start", "latency", "outcome", "status", "state"), columns, engine, strict=True
        ):
            assert mine == theirs, f"{model.__name__}'s {label} column differs at {name}"
    return sum(len(columns[0]) for columns in floor.values())
