"""The original monitor's outputs: time-series CSV, p95-results.json and status.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import Result
from harness.events import Outcome
from harness.report.bundle import scenario_folders, write_reports
from harness.report.monitor import (
    TIMESERIES_COLUMNS,
    Rotation,
    timeseries_rows,
    write_monitor_files,
    write_timeseries,
)
from harness.verdicts.metrics import NO_ANSWER
from tests.reporting import hostile, outage, pair, run_text

__all__ = ["hostile", "outage"]  # fixtures


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def nearest_rank(values: np.ndarray[Any, Any], q: int) -> float:
    """The README's definition: the smallest value with at least q% of values at or below it."""
    ordered = sorted(values.tolist())
    return next(x for x in ordered if 100 * sum(v <= x for v in ordered) >= q * len(ordered))


def test_csv_latency_is_the_exact_nearest_rank_of_each_5s_windows_answered_requests(
    outage: Result, tmp_path: Path
) -> None:
    [path] = write_timeseries(tmp_path, pair(outage)[0])
    rows = [row for row in _rows(path) if row["upstream"] == "api"]
    samples = outage.upstreams["api"].samples
    start_s, latency_ms = samples.start_ns / 1e9, samples.latency_ns / 1e6
    answered = np.isin(samples.outcome, NO_ANSWER, invert=True)
    assert len(rows) == 24  # 2 minutes of 5 s windows
    for row in rows:
        t = float(row["time_s"])
        inside = (start_s >= t) & (start_s < t + 5)
        window = latency_ms[inside & answered]
        assert int(row["requests"]) == np.count_nonzero(inside)
        if not window.size:  # every request shed: no latency, never 0 ms
            assert (row["p95_ms"], row["p50_ms"], row["avg_ms"]) == ("", "", "")
            continue
        assert float(row["p95_ms"]) == nearest_rank(window, 95)
        assert float(row["p50_ms"]) == nearest_rank(window, 50)
        assert float(row["avg_ms"]) == pytest.approx(window.mean(), rel=1e-12)
    states = {row["state"] for row in rows}
    assert {"CLOSED", "OPEN"} <= states


def test_csv_columns_and_order(outage: Result, tmp_path: Path) -> None:
    [path] = write_timeseries(tmp_path, pair(outage)[0])
    header = path.read_text().splitlines()[0]
    assert header == ",".join(TIMESERIES_COLUMNS)
    rows = _rows(path)
    assert [(r["time_s"], r["upstream"]) for r in rows[:3]] == [
        ("0.0", "api"),
        ("0.0", "cache"),
        ("5.0", "api"),
    ]


def _long_entry(days: float) -> dict[str, Any]:
    """A result whose time series spans ``days`` virtual days (only what the CSV reads)."""
    n = int(days * 86_400 / 5)
    series = {
        "t_ms": [i * 5000.0 for i in range(n)],
        "state": ["CLOSED"] * n,
        "requests": [1] * n,
        "successes": [1] * n,
        "success_rate": [1.0] * n,
        "p50_ms": [6.0] * n,
        "p95_ms": [None] * n,
        "avg_ms": [6.0] * n,
        "in_flight": [0] * n,
        "short_circuited": [0] * n,
    }
    return {"scenario": {"duration_ms": n * 5000.0}, "upstreams": {"t1": {"timeseries": series}}}


def test_csv_rotates_at_each_virtual_day(tmp_path: Path) -> None:
    paths = write_timeseries(tmp_path, _long_entry(2.5), Rotation(max_bytes=None))
    assert [p.name for p in paths] == ["timeseries.csv", "timeseries.2.csv", "timeseries.3.csv"]
    days = [_rows(p) for p in paths]
    assert [len(rows) for rows in days] == [17_280, 17_280, 8_640]
    assert days[1][0]["time_s"] == "86400.0"
    assert days[0][0]["p95_ms"] == ""  # no data is empty, never a made-up number


def test_csv_rotates_before_a_file_passes_its_size_limit(tmp_path: Path) -> None:
    entry = _long_entry(0.1)
    (tmp_path / "timeseries.9.csv").write_text("from an older, longer run\n")
    paths = write_timeseries(tmp_path, entry, Rotation(max_bytes=20_000, per_virtual_day=False))
    assert len(paths) > 1
    assert all(path.stat().st_size <= 20_000 for path in paths)
    assert sum(len(_rows(path)) for path in paths) == 1728
    assert not (tmp_path / "timeseries.9.csv").exists()


def test_p95_results_every_10_requests_over_the_answered_among_the_last_100(
    outage: Result, tmp_path: Path
) -> None:
    write_monitor_files(tmp_path, *pair(outage))
    document = json.loads((tmp_path / "p95-results.json").read_text())
    api = document["upstreams"]["api"]
    assert (api["window"], api["every"], api["objective"]) == (100, 10, "p95 < 120ms")
    samples = outage.upstreams["api"].samples
    ends = samples.start_ns + samples.latency_ns
    order = np.lexsort((samples.start_ns, ends))  # as responses completed
    latency_ms = (samples.latency_ns / 1e6)[order]
    answered = np.isin(samples.outcome, NO_ANSWER, invert=True)[order]
    won = (samples.outcome == Outcome.SUCCESS)[order]
    rows = api["results"]
    assert [row["request"] for row in rows] == list(range(10, latency_ms.size + 1, 10))
    for row in rows:
        last = slice(max(0, row["request"] - 100), row["request"])
        window = latency_ms[last][answered[last]]
        assert row["samples"] == window.size
        assert row["success_rate"] == np.count_nonzero(won[last]) / won[last].size
        if not window.size:
            assert (row["p95_ms"], row["verdict"], row["consensus"]) == (None, "NO_DATA", False)
            continue
        assert row["p95_ms"] == nearest_rank(window, 95)
        assert row["p50_ms"] == nearest_rank(window, 50)
        assert row["avg_ms"] == pytest.approx(window.mean(), rel=1e-12)
        assert row["verdict"] == ("PASS" if row["p95_ms"] < 120 else "FAIL")
        consensus = row["success_rate"] > 0.9 and row["p95_ms"] < 500 and row["state"] == "CLOSED"
        assert row["consensus"] is (consensus and not row["p95_lower_bound"])
    assert {row["verdict"] for row in rows} == {"PASS", "FAIL", "NO_DATA"}
    assert {row["consensus"] for row in rows} == {True, False}
    assert all(row["p95_ms"] != 0 for row in rows if row["state"] == "OPEN")
    assert document["upstreams"]["cache"]["results"][0]["verdict"] is None  # no p95 objective


def test_status_is_shaped_like_the_original_endpoint_with_numbers(
    outage: Result, tmp_path: Path
) -> None:
    write_monitor_files(tmp_path, *pair(outage))
    status = json.loads((tmp_path / "status.json").read_text())
    api = status["circuit_breakers"]["api"]
    client = outage.upstreams["api"].client
    assert api["state"] == "CLOSED"
    assert api["success_rate"] == client.success_rate
    assert api["total_requests"] == client.requests
    assert client.latency is not None
    assert api["p95_response_time_ms"] == client.latency.p95_ms
    assert api["avg_response_time_ms"] == client.latency.avg_ms
    assert status["circuit_breakers"]["cache"]["state"] is None  # no breaker


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/absolute", "..", ".hidden", "a/b\\c", "con:nul", "   "]
)
def test_scenario_folders_are_plain_names_inside_the_reports_folder(
    tmp_path: Path, name: str
) -> None:
    [folder] = scenario_folders([{"scenario": {"name": name}}])
    assert (tmp_path / folder).resolve().parent == tmp_path.resolve()
    assert folder not in ("", ".", "..")


def test_every_report_file_stays_in_the_reports_folder(outage: Result, tmp_path: Path) -> None:
    entry, digest = pair(outage)
    entry["scenario"]["name"] = "../../escape"
    reports = tmp_path / "missing" / "reports"
    written = write_reports(reports, [(entry, digest)])
    assert written.files
    for path in written.files:
        assert path.resolve().is_relative_to(reports.resolve())
    assert sorted(p.name for p in reports.iterdir() if p.is_dir()) == ["escape"]
    assert list(tmp_path.rglob(".*")) == []  # no temporary file left behind


def test_clashing_scenario_names_get_distinct_folders(outage: Result) -> None:
    entry, _ = pair(outage)
    names = [{**entry, "scenario": {**entry["scenario"], "name": n}} for n in ("a b", "a-b", "A-B")]
    assert scenario_folders(names) == ["a-b", "a-b-2", "A-B-3"]


def test_p95_results_are_written_as_json_writes_them(outage: Result, tmp_path: Path) -> None:
    # Rows are written straight from columns; the bytes are still json.dumps' own.
    write_monitor_files(tmp_path, *pair(outage))
    text = (tmp_path / "p95-results.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    entry, digest = pair(outage)
    digest["upstreams"]["api"]["rolling"]["columns"] = {
        name: column[:0]
        for name, column in digest["upstreams"]["api"]["rolling"]["columns"].items()
    }
    write_monitor_files(tmp_path, entry, digest)
    text = (tmp_path / "p95-results.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert json.loads(text)["upstreams"]["api"]["results"] == []


def test_csv_rows_carry_failures_short_circuits_and_running_totals(outage: Result) -> None:
    entry = pair(outage)[0]
    rows = [row for _, row in timeseries_rows(entry)]
    index = {name: i for i, name in enumerate(TIMESERIES_COLUMNS)}
    assert TIMESERIES_COLUMNS[-5:] == (
        "failures",
        "short_circuited",
        "total_requests",
        "total_successes",
        "total_failures",
    )
    for name, upstream in outage.upstreams.items():
        mine = [row for row in rows if row[index["upstream"]] == name]
        assert mine[-1][index["total_requests"]] == len(upstream.samples)
        counts = upstream.samples.outcome_counts()
        assert sum(row[index["short_circuited"]] for row in mine) == counts["short_circuited"]
        assert mine[-1][index["total_successes"]] == counts["success"]
        assert mine[-1][index["total_failures"]] == len(upstream.samples) - counts["success"]
        for row in mine:
            assert row[index["failures"]] == row[index["requests"]] - row[index["successes"]]


def test_no_row_starts_at_or_after_the_scenarios_end() -> None:
    slow = "duration: 20s\nupstreams:\n  api:\n    latency: 3s\n    traffic: {rate: 2/s}\n"
    entry = pair(run_text(slow, "scenarios/slow.yaml"))[0]
    assert entry["end_ms"] > entry["scenario"]["duration_ms"]  # stragglers finished after it
    assert entry["upstreams"]["api"]["timeseries"]["t_ms"][-1] == 20000.0  # a bucket there
    times = [float(str(row[0])) for _, row in timeseries_rows(entry)]
    assert max(times) == 15.0  # but no CSV row: the last window is [15 s, 20 s)
