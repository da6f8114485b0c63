"""Plain-text tables for terminals: one result's objectives, and a summary of many results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.errors import printable
from harness.format.units import format_duration
from harness.format.values import format_value
from harness.report.json import error_order
from harness.verdicts.checks import LEAD as _LEAD
from harness.verdicts.checks import scenario_checks
from harness.verdicts.result import Result

if TYPE_CHECKING:
    from harness.report.bundle import Written

__all__ = ["format_table", "result_table", "summary_table", "written_lines"]


def format_table(header: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "") -> str:
    """Return ``rows`` under ``header`` in aligned columns (numbers are not re-formatted);
    control characters in a cell (from a scenario's name, say) are written as escapes."""
    table = [list(header), *[[printable(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table
    ]
    return "\n".join(indent + line for line in lines)


def result_table(result: Result) -> str:
    """Return a result's heading and every check (objectives, then expectations) with observed
    value, n and verdict."""
    scenario = result.scenario
    verdict = "PASS" if result.passed else "INCONCLUSIVE" if result.inconclusive else "FAIL"
    requests = sum(len(up.samples) for up in result.upstreams.values())
    heading = printable(
        f"{scenario.name}  {verdict}  (seed {result.seed}, {format_duration(scenario.duration)} "
        f"virtual, {requests} requests)"
    )
    rows = [
        (
            check.upstream,
            f"{_LEAD.get(check.kind, '')}{check.text}",
            check.observed_text,
            "" if check.samples is None else str(check.samples),
            check.verdict,
            check.note or "",
        )
        for check in scenario_checks(result.to_dict(run_info=False))
    ]
    if not rows:
        return f"{heading}\n  (no objectives)"
    header = ("upstream", "check", "observed", "n", "verdict", "note")
    return f"{heading}\n{format_table(header, rows, indent='  ')}"


def summary_table(
    results: Iterable[Result | Mapping[str, Any]], errors: Iterable[Mapping[str, Any]] = ()
) -> str:
    """Return one row per scenario and upstream: verdict, traffic, success, P95, breaker; and
    one ERROR row per scenario that produced no result (see harness.report.json).

    Results may be given in their JSON form, as the pytest plugin gathers them from workers.
    """
    rows = []
    for item in results:
        entry = item.to_dict(run_info=False) if isinstance(item, Result) else item
        for name, upstream in entry["upstreams"].items():
            client, reached = upstream["views"]["client"], upstream["views"]["upstream"]
            latency = client["latency_ms"]
            breaker = upstream["breaker"]
            rows.append(
                (
                    entry["scenario"]["name"],
                    name,
                    upstream.get("outcome") or ("PASS" if upstream["passed"] else "FAIL"),
                    str(client["requests"]),
                    _percent(client["success_rate"]),
                    _percent(reached["success_rate"]),
                    "-" if latency is None else format_value(latency["p95_ms"], "ms"),
                    "-" if breaker is None else str(len(breaker["transitions"])),
                    "-" if breaker is None else breaker["final_state"],
                )
            )
    for error in sorted(errors, key=error_order):
        name = str(error.get("name") or error.get("file") or "?")
        rows.append((name, "-", "ERROR", "-", "-", "-", "-", "-", "-"))
    header = (
        "scenario",
        "upstream",
        "verdict",
        "requests",
        "success(client)",
        "success(upstream)",
        "p95(client)",
        "transitions",
        "final state",
    )
    return format_table(header, rows)


def _percent(rate: float | None) -> str:
    return format_value(rate, "ratio", missing="-")


def written_lines(written: Written) -> list[str]:
    """Return what a session's reports folder now holds, and how to get what is missing."""
    folder = written.folder
    top = sorted(path.name for path in written.files if path.parent == folder)
    scenarios = sorted({path.parent.name for path in written.files if path.parent != folder})
    lines = [f"reports written to {folder}/: {', '.join(top)}"]
    if scenarios:
        lines.append(f"  and per scenario ({', '.join(scenarios)}): timeseries.csv, "
                     "p95-results.json, status.json")  # fmt: skip
    lines += [f"{name} not written: {why}" for name, why in sorted(written.skipped.items())]
    return lines
