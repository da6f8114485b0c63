"""Write every report of a session into one folder, from results in their JSON form.

::

    reports/
      junit.xml               a testsuite per scenario; a testcase per scenario and per check
      slo-results.json        every result (the machine-readable record)
      slo-report.html         the page people read (needs the ``report`` extra)
      slo-metrics.txt         OpenMetrics text of the final metrics, stamped, for backfill
      slo-metrics.prom        the same in Prometheus text 0.0.4, for node_exporter's textfile
                              collector (both need the ``report`` extra)
      <scenario>/             one folder per scenario, its name made safe by safe_file_name
        timeseries.csv        every 5 s of virtual time (rotated: timeseries.2.csv, ...)
        p95-results.json      rolling P95 of the last 100 samples, every 10 requests
        status.json           final status per upstream, as the original status endpoint

Scenarios that produced no result (see :mod:`harness.report.json`) are in every session file
and fail its verdict. The whole set is staged (:mod:`harness.report.files`): every file is
rendered under a temporary name first and put in place only when all are, so a failure writes
nothing new. What an earlier run left and this one did not write (a report the missing extra
cannot make, the monitor files of a scenario not run) is gone, so the folder never mixes two
runs: the set is written into a fresh folder and swapped in whole (:mod:`harness.report.swap`),
carrying over what the old folder held that is not a report.

The pytest plugin calls this at the end of a session with what the controller gathered (also
under pytest-xdist), the CLI with its own results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report.files import Content, Staging, safe_file_name, staged
from harness.report.json import results_text
from harness.report.junit import junit_document
from harness.report.monitor import (
    DEFAULT_ROTATION,
    MONITOR_FILES,
    Rotation,
    is_monitor_file,
    write_monitor_files,
)

__all__ = ["EXTRA_HINT", "Written", "scenario_folders", "write_reports"]

EXTRA_HINT = "pip install 'slo-harness[report]'"
SESSION_FILES = ("junit.xml", "slo-metrics.txt", "slo-report.html", "slo-results.json")
SWEEP_FILES = ("slo-sweeps.json",)  # the pytest plugin's --slo-seeds sweeps: replaced, not kept
Pair = tuple[Mapping[str, Any], Mapping[str, Any]]
Errors = Sequence[Mapping[str, Any]]


@dataclass
class Written:
    """The files a call to :func:`write_reports` wrote, and those it could not, with why."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def write_reports(
    folder: str | Path,
    pairs: Iterable[Pair],
    errors: Errors = (),
    rotation: Rotation = DEFAULT_ROTATION,
    staging: Staging | None = None,
) -> Written:
    """Write every report for (result JSON, digest) pairs and errors into ``folder``.

    With ``staging``, the files are staged there for the caller to commit with others.
    """
    if staging is None:
        with staged() as own:
            return write_reports(folder, pairs, errors, rotation, own)
    final = Path(folder)
    root = staging.swap_folder(final, _written_by_us)  # the set is built here, swapped in whole
    ordered = sorted(pairs, key=lambda p: (str(p[0]["scenario"]["file"]), p[0]["scenario"]["name"]))
    entries = [entry for entry, _ in ordered]
    written = Written(root)
    written.files.append(
        staging.write(root / "slo-results.json", results_text(entries, errors=errors))
    )
    written.files.append(staging.write(root / "junit.xml", junit_document(entries, errors)))
    _optional(staging, written, root / "slo-report.html", lambda: _html(ordered, errors))
    _optional(staging, written, root / "slo-metrics.txt", lambda: _openmetrics(entries, errors))
    _optional(staging, written, root / "slo-metrics.prom", lambda: _prometheus(entries, errors))
    names = scenario_folders(entries)
    for name, (entry, digest) in zip(names, ordered, strict=True):
        written.files += write_monitor_files(root / name, entry, digest, rotation, staging)
    written.files = [final / path.relative_to(root) for path in written.files]
    written.folder = final
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


def _optional(
    staging: Staging, written: Written, path: Path, render: Callable[[], Content]
) -> None:
    """Stage a report that needs the ``report`` extra; without it, say how to get it (and
    remove the file an earlier run wrote, which would no longer match the others)."""
    try:
        content = render()
    except ModuleNotFoundError as error:
        written.skipped[path.name] = f"needs {error.name}, from the report extra: {EXTRA_HINT}"
        return
    written.files.append(staging.write(path, content))


def _written_by_us(entry: Path) -> bool | None:
    """Whether an entry of a reports folder is a report an earlier run wrote (True), someone
    else's (False, kept), or a scenario folder whose entries are asked about (None)."""
    if entry.is_symlink():
        return False
    if entry.is_dir():
        return None if _is_scenario_folder(entry) else False
    if not entry.is_file():
        return False
    if _is_scenario_folder(entry.parent):
        return is_monitor_file(entry.name)
    return entry.name in SESSION_FILES or entry.name in SWEEP_FILES


def _is_scenario_folder(folder: Path) -> bool:
    """A folder this tool wrote for a scenario: it holds every kind of monitor file."""
    try:
        names = {child.name for child in folder.iterdir()}
    except OSError:
        return False
    return {"timeseries.csv", *MONITOR_FILES} <= names


def _html(pairs: list[Pair], errors: Errors) -> str:
    from harness.report.html import html_document

    return html_document(pairs, errors)


def _openmetrics(entries: list[Mapping[str, Any]], errors: Errors) -> str:
    from harness.report.openmetrics import openmetrics_text

    return openmetrics_text(entries, errors)


def _prometheus(entries: list[Mapping[str, Any]], errors: Errors) -> str:
    from harness.report.openmetrics import prometheus_text

    return prometheus_text(entries, errors)
