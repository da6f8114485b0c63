"""Write every report of a session into one folder, from results in their JSON form.

::

    reports/
      junit.xml               a testsuite per scenario; a testcase per scenario and per check
      slo-results.json        every result (the machine-readable record)
      slo-report.html         the page people read (needs the ``report`` extra)
      slo-metrics.txt         OpenMetrics text of the final metrics (needs the ``report`` extra)
      <scenario>/             one folder per scenario, its name made safe by safe_file_name
        timeseries.csv        every 5 s of virtual time (rotated: timeseries.2.csv, ...)
        p95-results.json      rolling P95 of the last 100 samples, every 10 requests
        status.json           final status per upstream, as the original status endpoint

Every file is written atomically; the folder is created if missing. The pytest plugin calls
this at the end of a session with what the controller gathered (also under pytest-xdist), the
CLI with its own results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report.files import safe_file_name
from harness.report.json import write_results
from harness.report.junit import write_junit
from harness.report.monitor import DEFAULT_ROTATION, Rotation, write_monitor_files

__all__ = ["EXTRA_HINT", "Written", "scenario_folders", "write_reports"]

EXTRA_HINT = "pip install 'slo-harness[report]'"
Pair = tuple[Mapping[str, Any], Mapping[str, Any]]


@dataclass
class Written:
    """The files a call to :func:`write_reports` wrote, and those it could not, with why."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def write_reports(
    folder: str | Path, pairs: Iterable[Pair], rotation: Rotation = DEFAULT_ROTATION
) -> Written:
    """Write every report for (result JSON, digest) pairs into ``folder``."""
    root = Path(folder)
    ordered = sorted(pairs, key=lambda p: (str(p[0]["scenario"]["file"]), p[0]["scenario"]["name"]))
    entries = [entry for entry, _ in ordered]
    written = Written(root)
    written.files.append(write_results(root / "slo-results.json", entries))
    written.files.append(write_junit(root / "junit.xml", entries))
    _optional(written, "slo-report.html", lambda: _html(root / "slo-report.html", ordered))
    _optional(written, "slo-metrics.txt", lambda: _openmetrics(root / "slo-metrics.txt", entries))
    for name, (entry, digest) in zip(scenario_folders(entries), ordered, strict=True):
        written.files += write_monitor_files(root / name, entry, digest, rotation)
    return written


def scenario_folders(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return a distinct, safe folder name for each result (``-2``, ``-3``… on a clash)."""
    names: list[str] = []
    for entry in entries:
        base = safe_file_name(str(entry["scenario"]["name"]))
        name, number = base, 1
        while name.lower() in (taken.lower() for taken in names):  # case-blind file systems
            number += 1
            name = f"{base}-{number}"
        names.append(name)
    return names


def _optional(written: Written, name: str, write: Callable[[], Path]) -> None:
    """Write a report that needs the ``report`` extra; without it, say how to get it."""
    try:
        written.files.append(write())
    except ModuleNotFoundError as error:
        written.skipped[name] = f"needs {error.name}, from the report extra: {EXTRA_HINT}"


def _html(path: Path, pairs: list[Pair]) -> Path:
    from harness.report.html import write_html

    return write_html(path, pairs)


def _openmetrics(path: Path, entries: list[Mapping[str, Any]]) -> Path:
    from harness.report.openmetrics import write_openmetrics

    return write_openmetrics(path, entries)
