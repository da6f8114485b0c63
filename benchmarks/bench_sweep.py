"""Sweeps: how a seed sweep scales with worker processes, on the direct engine.

A sweep of ``vertex-flaky`` (10 minutes of virtual time, ~2 400 requests a seed) over 1 000 seeds
(``--quick``: 8 seeds) with 1 worker (this process, no pool), then a pool of 2 and of every
processor, each timed once; the table prints seeds per second and the speed-up over 1 worker in
the same run. Ideal: the worker count, up to the number of free cores (the machine's other load
shows in the ratio, so read it beside `uptime`). The sweeps' JSON must be equal bytes whatever
the worker count; the benchmark checks it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from harness.explore.commands import json_text
from harness.explore.executors import default_workers, executor_for
from harness.explore.sweep import SweepPlan, sweep
from harness.format.loader import load_scenario
from harness.verdicts.result import ScenarioSource

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "vertex-flaky.yaml"


def run(quick: bool) -> dict[str, Any]:
    """Time the sweep at each worker count; print the table; return the numbers."""
    seeds = range(1, 9 if quick else 1001)
    plan = SweepPlan(load_scenario(SCENARIO), seeds, "direct", ScenarioSource(str(SCENARIO), None))
    counts = sorted({1, 2, default_workers()})
    rows: dict[str, Any] = {}
    texts = set()
    for workers in counts:
        began = time.perf_counter()
        with executor_for(workers) as executor:
            report = sweep(plan, executor, workers)
        elapsed = time.perf_counter() - began
        texts.add(json_text(report))
        rows[str(workers)] = {"seconds": elapsed, "seeds_per_s": len(seeds) / elapsed}
    base = rows["1"]["seconds"]
    load = os.getloadavg()[0]
    print(f"sweep of {SCENARIO.name}, {len(seeds)} seeds, direct engine, load {load:.1f}")
    print(f"  {'workers':>7}  {'seconds':>8}  {'seeds/s':>8}  speed-up")
    for workers, row in rows.items():
        row["speedup"] = base / row["seconds"]
        speed = f"{row['seeds_per_s']:8.1f}  {row['speedup']:.2f}×"
        print(f"  {workers:>7}  {row['seconds']:8.2f}  {speed}")
    print(f"  same JSON bytes at every worker count: {len(texts) == 1}")
    return {"seeds": len(seeds), "workers": rows, "identical": len(texts) == 1}
