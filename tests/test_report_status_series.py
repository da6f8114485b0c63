"""``status-series.jsonl``: the status every 5 s of virtual time, ending where status.json is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harness import Result
from harness.report.monitor import write_monitor_files
from harness.verdicts.metrics import answered
from tests.reporting import outage, pair, run_text
from tests.support import nearest_rank

__all__ = ["outage"]  # fixtures


def _series(result: Result, folder: Path) -> list[dict[str, Any]]:
    write_monitor_files(folder, *pair(result))
    text = (folder / "status-series.jsonl").read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_one_snapshot_every_5s_the_last_one_equal_to_status_json(
    outage: Result, tmp_path: Path
) -> None:
    snapshots = _series(outage, tmp_path)
    end_ms = outage.to_dict()["end_ms"]
    assert [s["at_ms"] for s in snapshots] == [5000.0 * k for k in range(1, 25)]
    assert snapshots[-1]["at_ms"] == end_ms
    final = json.loads((tmp_path / "status.json").read_text())["circuit_breakers"]
    for name, status in final.items():
        last = snapshots[-1]["circuit_breakers"][name]
        for key in ("state", "success_rate", "total_requests", "successful_requests", "opens"):
            assert last[key] == status[key], (name, key)
        assert last["failed_requests"] == status["failed_requests"]


def test_each_snapshot_counts_the_requests_started_before_it_and_the_breaker_then(
    outage: Result, tmp_path: Path
) -> None:
    snapshots = _series(outage, tmp_path)
    samples = outage.upstreams["api"].samples
    start_ms = samples.start_ns / 1e6
    moves = outage.to_dict()["upstreams"]["api"]["breaker"]["transitions"]
    states = []
    for snapshot in snapshots:
        at = snapshot["at_ms"]
        api = snapshot["circuit_breakers"]["api"]
        before = start_ms < at
        assert api["total_requests"] == np.count_nonzero(before)
        assert api["successful_requests"] == np.count_nonzero(before & (samples.outcome == 0))
        done = [m for m in moves if m["at_ms"] <= at]
        assert api["state"] == (done[-1]["to"] if done else "CLOSED")
        assert api["opens"] == sum(m["to"] == "OPEN" for m in done)
        window = (start_ms >= at - 5000) & before & answered(samples.outcome)
        if window.any():
            assert api["window_p95_ms"] == nearest_rank(samples.latency_ns[window] / 1e6, 95)
        else:  # the breaker shed the whole window: no latency, never 0 ms
            assert api["window_p95_ms"] is None
            assert api["window_avg_ms"] is None
        states.append(api["state"])
    assert "OPEN" in states  # the outage is in the series, not only in the final status
    assert states[-1] == "CLOSED"


def test_the_series_is_the_same_bytes_for_the_same_seed(tmp_path: Path) -> None:
    text = "duration: 12s\nupstreams:\n  v:\n    latency: 5ms\n    traffic: {rate: 3/s}\n"
    first = _series(run_text(text, "scenarios/a.yaml"), tmp_path / "a")
    second = _series(run_text(text, "scenarios/a.yaml"), tmp_path / "b")
    assert (tmp_path / "a" / "status-series.jsonl").read_bytes() == (
        tmp_path / "b" / "status-series.jsonl"
    ).read_bytes()
    assert [s["at_ms"] for s in first] == [5000.0, 10000.0, 12000.0]  # the last at the end
    assert first == second
