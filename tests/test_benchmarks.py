"""The benchmarks run (tiny sizes); their numbers are checked by people, not by tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def test_engine_benchmarks_run_and_write_json(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "bench_engines", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(output.read_text())["results"]["bench_engines"]
    assert results["http_vs_floor"]["ratio"] > 0
    assert results["direct_throughput"]["requests"] > 0
    assert "ratio HTTP engine / floor" in completed.stdout
