"""The original monitor's three outputs, honest this time: numbers are numbers, units in keys.

- ``timeseries.csv``: one row per upstream every 5 s of virtual time (state, requests,
  successes, success rate, P50/P95/average of that window's requests, requests in flight);
  rotated into ``timeseries.2.csv``, ``timeseries.3.csv``… at each virtual day and before a
  file passes a size limit.
- ``p95-results.json``: P95/P50/average over the last 100 samples, every 10 requests, with
  PASS/FAIL against the upstream's P95 objective.
- ``status.json``: each upstream's final status, shaped like the original
  ``/api/circuit-breaker/status``.

Everything is built from a result's JSON form and its digest (:mod:`harness.report.digest`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.report.files import atomic_write

__all__ = [
    "DEFAULT_ROTATION",
    "TIMESERIES_COLUMNS",
    "Rotation",
    "p95_results",
    "status",
    "timeseries_rows",
    "write_monitor_files",
    "write_timeseries",
]

TIMESERIES_COLUMNS = (
    "time_s",
    "upstream",
    "state",
    "requests",
    "successes",
    "success_rate",
    "p50_ms",
    "p95_ms",
    "avg_ms",
    "in_flight",
)
DAY_MS = 86_400_000.0


@dataclass(frozen=True)
class Rotation:
    """When the time-series CSV starts a new file: at each virtual day, or before ``max_bytes``."""

    max_bytes: int | None = 10 * 1024 * 1024
    per_virtual_day: bool = True


DEFAULT_ROTATION = Rotation()


def timeseries_rows(entry: Mapping[str, Any]) -> Iterator[tuple[float, tuple[object, ...]]]:
    """Yield (time in ms, CSV row) for every 5 s window of every upstream, ordered by time."""
    rows: list[tuple[float, int, tuple[object, ...]]] = []
    for index, (name, upstream) in enumerate(entry["upstreams"].items()):
        series = upstream["timeseries"]
        for i, t_ms in enumerate(series["t_ms"]):
            row: tuple[object, ...] = (
                _number(t_ms / 1000),
                name,
                series["state"][i],
                series["requests"][i],
                series["successes"][i],
                _number(series["success_rate"][i]),
                _number(series["p50_ms"][i]),
                _number(series["p95_ms"][i]),
                _number(series["avg_ms"][i]),
                series["in_flight"][i],
            )
            rows.append((t_ms, index, row))
    rows.sort(key=lambda item: (item[0], item[1]))
    for t_ms, _, row in rows:
        yield t_ms, row


def _number(value: float | None) -> str:
    """Return a number with full precision (shortest round trip), or empty for no data."""
    return "" if value is None else repr(float(value))


def write_timeseries(
    folder: Path, entry: Mapping[str, Any], rotation: Rotation = DEFAULT_ROTATION
) -> list[Path]:
    """Write ``timeseries.csv`` (and rotated parts) into ``folder``; return the files written."""
    header = _csv_line(TIMESERIES_COLUMNS)
    parts: list[str] = []
    lines, size, day = [header], len(header.encode()), 0
    for t_ms, row in timeseries_rows(entry):
        line = _csv_line(row)
        row_day = int(t_ms // DAY_MS)
        new_day = rotation.per_virtual_day and row_day != day
        too_big = rotation.max_bytes is not None and size + len(line.encode()) > rotation.max_bytes
        if (new_day or too_big) and len(lines) > 1:
            parts.append("".join(lines))
            lines, size = [header], len(header.encode())
        day = row_day
        lines.append(line)
        size += len(line.encode())
    parts.append("".join(lines))
    written = [
        atomic_write(folder / _part_name(number), text) for number, text in enumerate(parts, 1)
    ]
    _remove_stale_parts(folder, len(parts))
    return written


def _csv_line(row: tuple[object, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


def _part_name(number: int) -> str:
    return "timeseries.csv" if number == 1 else f"timeseries.{number}.csv"


def _remove_stale_parts(folder: Path, kept: int) -> None:
    """Delete rotated parts a longer earlier run left, so every file on disk is this run's."""
    for path in folder.glob("timeseries.*.csv"):
        match = re.fullmatch(r"timeseries\.(\d+)\.csv", path.name)
        if match and int(match.group(1)) > kept:
            path.unlink(missing_ok=True)


def p95_results(entry: Mapping[str, Any], digest: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``p95-results.json``: the rolling P95 of every upstream with PASS/FAIL."""
    return {
        "scenario": entry["scenario"]["name"],
        "seed": entry["seed"],
        "upstreams": {name: digest["upstreams"][name]["rolling"] for name in entry["upstreams"]},
    }


def status(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``status.json``: each upstream as the original status endpoint showed it, at
    the end of the run (client view: what the calling service saw)."""
    upstreams: dict[str, Any] = {}
    for name, upstream in entry["upstreams"].items():
        client = upstream["views"]["client"]
        latency = client["latency_ms"] or {}
        breaker = upstream["breaker"]
        upstreams[name] = {
            "state": None if breaker is None else breaker["final_state"],
            "success_rate": client["success_rate"],
            "avg_response_time_ms": latency.get("avg_ms"),
            "p95_response_time_ms": latency.get("p95_ms"),
            "total_requests": client["requests"],
            "successful_requests": client["successes"],
            "failed_requests": client["requests"] - client["successes"],
            "opens": None if breaker is None else breaker["opens"],
        }
    return {
        "scenario": entry["scenario"]["name"],
        "seed": entry["seed"],
        "at_ms": entry["end_ms"],
        "circuit_breakers": upstreams,
    }


def write_monitor_files(
    folder: Path,
    entry: Mapping[str, Any],
    digest: Mapping[str, Any],
    rotation: Rotation = DEFAULT_ROTATION,
) -> list[Path]:
    """Write the three monitor outputs of one scenario into ``folder``."""
    written = write_timeseries(folder, entry, rotation)
    for name, document in (
        ("p95-results.json", p95_results(entry, digest)),
        ("status.json", status(entry)),
    ):
        written.append(atomic_write(folder / name, _json(document)))
    return written


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
