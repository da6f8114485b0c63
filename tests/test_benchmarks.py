"""The benchmarks run (tiny sizes); their numbers are checked by people, not by tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import ROOT, only_deep

pytestmark = only_deep  # each starts a process and times real work: ~10 s in all


def run_benchmark(name: str, tmp_path: Path) -> tuple[Any, str]:
    """Run one benchmark module with --quick; return its JSON results and what it printed."""
    output = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", name, "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(output.read_text())["results"][name], completed.stdout


def test_engine_benchmarks_run_and_write_json(tmp_path: Path) -> None:
    results, printed = run_benchmark("bench_engines", tmp_path)
    assert results["http_vs_floor"]["ratio"] > 0
    assert results["direct_throughput"]["requests"] > 0
    assert "ratio HTTP engine / floor" in printed
    assert results["http_vs_floor"]["entry_point_ratio"] > 0


def test_the_breaker_benchmark_runs(tmp_path: Path) -> None:
    results, printed = run_benchmark("bench_breaker", tmp_path)
    columns = results["ns_per_call"]
    assert set(columns) == {"sync CLOSED", "sync OPEN", "async CLOSED", "async OPEN"}
    for times in columns.values():
        assert any(name.startswith("builtin") for name in times)
        assert all(value > 0 for value in times.values())
    assert "built-in below every peer in every column" in printed


def test_the_sweep_benchmark_runs_and_its_results_agree(tmp_path: Path) -> None:
    results, printed = run_benchmark("bench_sweep", tmp_path)
    assert results["identical"] is True
    assert results["workers"]["1"]["speedup"] == 1.0
    assert "speed-up" in printed


def test_the_direct_engine_benchmark_checks_its_floor_and_prints_goals(tmp_path: Path) -> None:
    # The benchmark asserts that the floor records the engine's very columns before timing.
    results, printed = run_benchmark("bench_direct", tmp_path)
    assert results["requests"] > 0
    assert results["cases"]["heapq floor"]["ratio"] == 1.0
    assert {goal["label"] for goal in results["goals"]} >= {"direct engine / heapq floor"}
    assert "goal direct engine / heapq floor:" in printed
    assert "margin" in printed


def test_the_json_carries_the_load_average(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks", "bench_direct", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    document = json.loads(output.read_text())
    assert len(document["load_average_before"]) == 3
    assert len(document["load_average_after"]) == 3


def test_the_http_benchmark_times_the_previous_design_beside_the_current(tmp_path: Path) -> None:
    # The benchmark asserts that both designs give the same Result before timing.
    results, printed = run_benchmark("bench_http", tmp_path)
    assert results["cases"]["HTTP engine via respx (previous)"]["ratio"] == 1.0
    assert results["cases"]["HTTP engine"]["ratio"] > 0
    assert "goal HTTP engine / previous design:" in printed
