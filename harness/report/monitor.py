"""The original monitor's three outputs, honest this time: numbers are numbers, units in keys.

- ``timeseries.csv``: one row per upstream every 5 s of virtual time (state, requests,
  successes, success rate, P50/P95/average of that window's requests, requests in flight,
  then failures and short-circuited requests of the window and running totals of requests,
  successes and failures since the start); windows start before the scenario's end only (the
  requests still in flight after it were counted where they started);
  rotated into ``timeseries.2.csv``, ``timeseries.3.csv``… at each virtual day and before a
  file passes a size limit.
- ``p95-results.json``: P95/P50/average over the answered requests among the last 100, every
  10 requests, with the success rate over all 100, the breaker's state, the seed's "SLO
  consensus" and PASS/FAIL/NO_DATA against the upstream's P95 objective.
- ``status.json``: each upstream's final status, shaped like the original
  ``/api/circuit-breaker/status``; ``status-series.jsonl`` the same every 5 s of virtual time
  (:mod:`harness.report.status_series`).

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
from typing import IO, Any

import numpy as np

from harness.events import BreakerState
from harness.format.objectives import OPERATORS
from harness.report.files import Staging, csv_cell, staged
from harness.report.status_series import STATUS_SERIES_FILE, status_series

__all__ = [
    "DEFAULT_ROTATION",
    "MONITOR_FILES",
    "TIMESERIES_COLUMNS",
    "Rotation",
    "is_monitor_file",
    "status",
    "timeseries_rows",
    "write_monitor_files",
    "write_p95_results",
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
    "failures",  # requests - successes: errors, timeouts, short-circuited and dropped
    "short_circuited",
    "total_requests",  # running totals since the start, per upstream
    "total_successes",
    "total_failures",
)
DAY_MS = 86_400_000.0
_ROW_COLUMNS = (  # sorted, as JSON
    "at_ms",
    "avg_ms",
    "consensus",
    "p50_ms",
    "p95_lower_bound",
    "p95_ms",
    "request",
    "samples",
    "state",
    "success_rate",
)
_STATE_TEXT = {int(state): json.dumps(state.name) for state in BreakerState}
_ROWS_PER_WRITE = 8192


@dataclass(frozen=True)
class Rotation:
    """When the time-series CSV starts a new file: at each virtual day, or before ``max_bytes``."""

    max_bytes: int | None = 10 * 1024 * 1024
    per_virtual_day: bool = True


DEFAULT_ROTATION = Rotation()


def timeseries_rows(entry: Mapping[str, Any]) -> Iterator[tuple[float, tuple[object, ...]]]:
    """Yield (time in ms, CSV row) for every 5 s window of every upstream, ordered by time."""
    rows: list[tuple[float, int, tuple[object, ...]]] = []
    end_ms = entry["scenario"]["duration_ms"]
    for index, (name, upstream) in enumerate(entry["upstreams"].items()):
        series = upstream["timeseries"]
        totals = [0, 0]
        for i, t_ms in enumerate(series["t_ms"]):
            if t_ms >= end_ms:  # no request starts there: a window of stragglers, no row
                break
            requests, successes = series["requests"][i], series["successes"][i]
            totals = [totals[0] + requests, totals[1] + successes]
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
                requests - successes,
                series["short_circuited"][i],
                totals[0],
                totals[1],
                totals[0] - totals[1],
            )
            rows.append((t_ms, index, row))
    rows.sort(key=lambda item: (item[0], item[1]))
    for t_ms, _, row in rows:
        yield t_ms, row


def _number(value: float | None) -> str:
    """Return a number with full precision (shortest round trip), or empty for no data."""
    return "" if value is None else repr(float(value))


def write_timeseries(
    folder: Path,
    entry: Mapping[str, Any],
    rotation: Rotation = DEFAULT_ROTATION,
    staging: Staging | None = None,
) -> list[Path]:
    """Write ``timeseries.csv`` (and rotated parts) into ``folder``; return the files written.

    With ``staging``, the files are staged there (see :mod:`harness.report.files`).
    """
    if staging is None:
        with staged() as own:
            return write_timeseries(folder, entry, rotation, own)
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
        staging.write(folder / _part_name(number), text) for number, text in enumerate(parts, 1)
    ]
    _remove_stale_parts(folder, len(parts), staging)
    return written


def _csv_line(row: tuple[object, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


def _part_name(number: int) -> str:
    return "timeseries.csv" if number == 1 else f"timeseries.{number}.csv"


def _remove_stale_parts(folder: Path, kept: int, staging: Staging) -> None:
    """Delete rotated parts a longer earlier run left, so every file on disk is this run's."""
    for path in folder.glob("timeseries.*.csv"):
        match = re.fullmatch(r"timeseries\.(\d+)\.csv", path.name)
        if match and int(match.group(1)) > kept:
            staging.delete(path)


def write_p95_results(stream: IO[str], entry: Mapping[str, Any], digest: Mapping[str, Any]) -> None:
    """Write ``p95-results.json``: the rolling P95 of every upstream with PASS/FAIL.

    The text is exactly what ``json.dumps(document, indent=2, sort_keys=True)`` gives, written
    a few thousand rows at a time from the digest's columns, so a soak's million rows never
    sit in memory as Python objects.
    """
    stream.write("{\n")
    stream.write(f'  "scenario": {json.dumps(entry["scenario"]["name"])},\n')
    stream.write(f'  "seed": {json.dumps(entry["seed"])},\n')
    names = sorted(entry["upstreams"])
    if not names:
        stream.write('  "upstreams": {}\n}\n')
        return
    stream.write('  "upstreams": {\n')
    for index, name in enumerate(names):
        stream.write(f"    {json.dumps(name)}: ")
        _write_rolling(stream, digest["upstreams"][name]["rolling"], "    ")
        stream.write(",\n" if index < len(names) - 1 else "\n")
    stream.write("  }\n}\n")


def _write_rolling(stream: IO[str], rolling: Mapping[str, Any], pad: str) -> None:
    """Write one upstream's object: its keys in sorted order, ``results`` among them."""
    stream.write("{\n")
    for key in ("every", "objective", "percentile_method"):
        stream.write(f"{pad}  {json.dumps(key)}: {json.dumps(rolling[key])},\n")
    stream.write(f'{pad}  "results": ')
    _write_rows(stream, rolling, pad + "  ")
    stream.write(",\n")
    stream.write(f'{pad}  "view": {json.dumps(rolling["view"])},\n')
    stream.write(f'{pad}  "window": {json.dumps(rolling["window"])}\n')
    stream.write(f"{pad}}}")


def _write_rows(stream: IO[str], rolling: Mapping[str, Any], pad: str) -> None:
    columns = rolling["columns"]
    count = len(columns["request"])
    if not count:
        stream.write("[]")
        return
    # One row's text with its cells left open, each cell already JSON text.
    row, key = pad + "  ", pad + "    "
    names = (*_ROW_COLUMNS, "threshold_ms", "verdict")
    template = row + "{{\n" + ",\n".join(f'{key}"{name}": {{}}' for name in names) + f"\n{row}}}}}"
    threshold = json.dumps(rolling["threshold_ms"])
    stream.write("[\n")
    for first in range(0, count, _ROWS_PER_WRITE):
        part = slice(first, first + _ROWS_PER_WRITE)
        cells = [_cells(name, columns[name][part]) for name in _ROW_COLUMNS]
        cells.append([threshold] * len(cells[0]))
        cells.append(_verdicts(columns["p95_ms"][part], rolling["op"], rolling["threshold_ms"]))
        texts = [template.format(*row_cells) for row_cells in zip(*cells, strict=True)]
        last = first + _ROWS_PER_WRITE >= count
        stream.write(",\n".join(texts) + ("\n" if last else ",\n"))
    stream.write(f"{pad}]")


def _cells(name: str, column: Any) -> list[str]:
    """Return one column's values as JSON text: ``{!r}`` is how json writes ints and floats;
    NaN (no answered request in the window) is null, states are names."""
    if name == "state":
        return [_STATE_TEXT[state] for state in column.tolist()]
    if column.dtype == np.bool_:
        return ["true" if flag else "false" for flag in column.tolist()]
    return ["null" if value != value else repr(value) for value in column.tolist()]


def _verdicts(p95: Any, op: str | None, threshold: float | None) -> list[str]:
    """Return each row's verdict as JSON text: ``"PASS"``, ``"FAIL"``, ``"NO_DATA"`` where no
    request in the window was answered, or ``null`` without a P95 objective."""
    if op is None or threshold is None:
        return ["null"] * len(p95)
    with np.errstate(invalid="ignore"):
        held = np.asarray(OPERATORS[op](p95, threshold), dtype=bool).tolist()
    missing = np.isnan(p95).tolist()
    return [
        '"NO_DATA"' if gap else '"PASS"' if ok else '"FAIL"'
        for ok, gap in zip(held, missing, strict=True)
    ]


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


MONITOR_FILES = ("p95-results.json", "status.json")
"""The monitor files besides the time series (``timeseries.csv``, ``timeseries.N.csv``) and
``status-series.jsonl`` (not required to tell a scenario folder: older ones lack it)."""


def write_monitor_files(
    folder: Path,
    entry: Mapping[str, Any],
    digest: Mapping[str, Any],
    rotation: Rotation = DEFAULT_ROTATION,
    staging: Staging | None = None,
) -> list[Path]:
    """Write the three monitor outputs of one scenario into ``folder`` (staged in ``staging``,
    if given)."""
    if staging is None:
        with staged() as own:
            return write_monitor_files(folder, entry, digest, rotation, own)
    written = write_timeseries(folder, entry, rotation, staging)
    written.append(
        staging.write(folder / "p95-results.json", lambda s: write_p95_results(s, entry, digest))
    )
    written.append(staging.write(folder / "status.json", _json(status(entry))))
    written.append(
        staging.write(folder / STATUS_SERIES_FILE, lambda s: s.writelines(status_series(entry)))
    )
    return written


def is_monitor_file(name: str) -> bool:
    """Return whether a file name is one :func:`write_monitor_files` writes."""
    return (
        name in (*MONITOR_FILES, STATUS_SERIES_FILE)
        or re.fullmatch(r"timeseries(\.\d+)?\.csv", name) is not None
    )


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
