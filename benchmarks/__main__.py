"""Run every ``benchmarks/bench_*.py`` module (or those named), print their tables, and write all
results as JSON to ``reports/bench.json`` so runs can be compared over time.

Each module defines ``run(quick: bool) -> dict`` returning JSON-ready results and printing its
own table. ``--quick`` shrinks every benchmark (used by the test suite to check they run).
The machine's load average before and after goes in the JSON: timings taken under load are
comparable only as same-run ratios.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from harness.report import atomic_write

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check they run")
    parser.add_argument("--output", type=Path, default=Path("reports/bench.json"))
    arguments = parser.parse_args(argv)
    available = sorted(path.stem for path in HERE.glob("bench_*.py"))
    chosen = arguments.names or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}; available: {', '.join(available)}")
    results: dict[str, object] = {}
    load_before = os.getloadavg()
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        began = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        results[name] = module.run(quick=arguments.quick)
        print(f"({time.perf_counter() - began:.1f}s)", flush=True)
    document = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "quick": arguments.quick,
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "cpus": os.cpu_count(),
        "results": results,
    }
    atomic_write(arguments.output, json.dumps(document, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
