"""Plain-text tables for terminals: one result's checks, and a summary of many results.

Both put the verdict first and failing rows first, and fit a given width (see
:mod:`harness.report.layout`): long names end in ``…``, a check's note goes on an indented line
of its own, and the summary leaves out its least needed columns at 80 columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.errors import printable
from harness.format.units import format_duration
from harness.format.values import format_value
from harness.report.burn import alert_text, budget_text, budget_view
from harness.report.json import error_order
from harness.report.layout import Column, coloured, fit_table, shorten, verdict_rank
from harness.verdicts.checks import LEAD as _LEAD
from harness.verdicts.checks import scenario_checks
from harness.verdicts.result import Result

if TYPE_CHECKING:
    from harness.report.bundle import Written

__all__ = [
    "budget_lines",
    "format_table",
    "result_table",
    "stream_lines",
    "summary_table",
    "written_lines",
]


def format_table(header: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "") -> str:
    """Return ``rows`` under ``header`` in aligned columns (numbers are not re-formatted);
    control characters in a cell (from a scenario's name, say) are written as escapes."""
    table = [list(header), *[[printable(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table
    ]
    return "\n".join(indent + line for line in lines)


_CHECK_COLUMNS = (
    Column("verdict"),
    Column("upstream", shrink_to=8),
    Column("check", shrink_to=16),
    Column("observed", shrink_to=10),
    Column("n"),
)


def result_table(result: Result, *, width: int | None = None, colour: bool = False) -> str:
    """Return a result's heading and every check (failing first; objectives, then
    expectations) with verdict, observed value and n; each note on a line of its own."""
    scenario = result.scenario
    verdict = "PASS" if result.passed else "INCONCLUSIVE" if result.inconclusive else "FAIL"
    requests = sum(len(up.samples) for up in result.upstreams.values())
    facts = printable(
        f"  (seed {result.seed}, {format_duration(scenario.duration)} virtual, {requests} requests)"
    )
    shown = printable(scenario.name)  # a scenario's text cannot forge a line or a colour
    name = shown if width is None else shorten(shown, width - len(verdict) - 2 - len(facts))
    heading = f"{coloured(verdict, verdict, colour)}  {name}{facts}"
    entry = result.to_dict(run_info=False)
    every = sorted(scenario_checks(entry), key=lambda c: verdict_rank(c.verdict))
    if not every:
        return f"{heading}\n  (no objectives)"
    rows = [
        (
            check.verdict,
            check.upstream,
            f"{_LEAD.get(check.kind, '')}{check.text}",
            check.observed_text,
            "" if check.samples is None else str(check.samples),
        )
        for check in every
    ]
    notes = [check.note for check in every]
    table = fit_table(_CHECK_COLUMNS, rows, width=width, indent="  ", notes=notes, colour=colour)
    budgets = budget_lines(entry, width=width)
    return "\n".join([heading, table, *budgets, *stream_lines(entry, width=width)])


def stream_lines(entry: Mapping[str, Any], *, width: int | None = None) -> list[str]:
    """Return, for each upstream whose answers stream, its time to first byte (read from the
    result JSON)::

      llm: time to first byte p50 110ms, p95 110ms, max 110ms over 6 streams (p95 unbounded)

    Nothing for an upstream that does not stream."""
    lines = []
    for name, upstream in entry["upstreams"].items():
        if "ttfb_ms" not in upstream:
            continue
        ttfb = upstream["ttfb_ms"]
        if ttfb is None:
            lines.append(f"  {printable(name)}: no stream sent a first byte")
            continue
        shown = ", ".join(
            f"{label} {format_value(ttfb[key], 'ms')}"
            for label, key in (("p50", "p50_ms"), ("p95", "p95_ms"), ("max", "max_ms"))
        )
        unbounded = [key.removesuffix("_ms") for key in ttfb["unbounded"] if key == "p95_ms"]
        flag = f" ({unbounded[0]} unbounded: too few samples)" if unbounded else ""
        lines.append(
            f"  {printable(name)}: time to first byte {shown} over {ttfb['samples']} streams{flag}"
        )
    return lines if width is None else [shorten(line, width) for line in lines]


def budget_lines(entry: Mapping[str, Any], *, width: int | None = None) -> list[str]:
    """Return, for each upstream with an error budget, the budget spent and a line per
    burn-rate alert that fired with its spans of virtual time (read from the result JSON)::

      api: error budget 60.741% spent: 164 bad of 9000 requests against success_rate >= 97%
        alert 14.4× (30s/2.5s) fired 912.8s–931.2s

    With alerts (``slo_period``) none of which fired, it says so. Nothing for an upstream
    without a budget."""
    lines = []
    for name, upstream in entry["upstreams"].items():
        budget = budget_view(upstream)
        if budget is None:
            continue
        lines.append(f"  {printable(name)}: {budget_text(budget)}")
        lines += [f"    {alert_text(alert)}" for alert in budget.fired]
        if budget.alerts and not budget.fired:
            lines.append("    no burn-rate alert fired")
    return lines if width is None else [shorten(line, width) for line in lines]


_SUMMARY_COLUMNS = (
    Column("verdict"),
    Column("scenario", shrink_to=12),
    Column("upstream", shrink_to=8),
    Column("requests"),
    Column("success"),  # the client's view
    Column("success@upstream", drop=0),
    Column("p95"),
    Column("transitions", drop=1),
    Column("final", shrink_to=6),
)


def summary_table(
    results: Iterable[Result | Mapping[str, Any]],
    errors: Iterable[Mapping[str, Any]] = (),
    *,
    width: int | None = None,
    colour: bool = False,
) -> str:
    """Return one row per scenario and upstream: verdict, traffic, success, P95, breaker; and
    one ERROR row per scenario that produced no result (see harness.report.json). Failing
    rows first, then in the order given.

    Results may be given in their JSON form, as the pytest plugin gathers them from workers.
    """
    rows = []
    for item in results:
        entry = item.to_dict(run_info=False) if isinstance(item, Result) else item
        rows += [
            _summary_row(entry["scenario"]["name"], name, up)
            for name, up in entry["upstreams"].items()
        ]
    for error in sorted(errors, key=error_order):
        name = str(error.get("name") or error.get("file") or "?")
        rows.append(("ERROR", name, "-", "-", "-", "-", "-", "-", "-"))
    rows.sort(key=lambda row: verdict_rank(row[0]))
    return fit_table(_SUMMARY_COLUMNS, rows, width=width, colour=colour)


def _summary_row(scenario: str, name: str, upstream: Mapping[str, Any]) -> tuple[str, ...]:
    client, reached = upstream["views"]["client"], upstream["views"]["upstream"]
    latency = client["latency_ms"]
    breaker = upstream["breaker"]
    return (
        upstream.get("outcome") or ("PASS" if upstream["passed"] else "FAIL"),
        scenario,
        name,
        str(client["requests"]),
        _percent(client["success_rate"]),
        _percent(reached["success_rate"]),
        "-" if latency is None else format_value(latency["p95_ms"], "ms"),
        "-" if breaker is None else str(len(breaker["transitions"])),
        "-" if breaker is None else breaker["final_state"],
    )


def _percent(rate: float | None) -> str:
    return format_value(rate, "ratio", missing="-")


def written_lines(written: Written) -> list[str]:
    """Return what a session's reports folder now holds, and how to get what is missing."""
    folder = written.folder
    top = sorted(path.name for path in written.files if path.parent == folder)
    # A scenario's folder holds its monitor files; others (the kept baseline) are named whole.
    scenarios = sorted({p.parent.name for p in written.files if p.name == "timeseries.csv"})
    others = sorted(
        path.relative_to(folder).as_posix()
        for path in written.files
        if path.parent != folder and path.parent.name not in scenarios
    )
    lines = [f"reports written to {folder}/: {', '.join(top + others)}"]
    if scenarios:
        lines.append(f"  and per scenario ({', '.join(scenarios)}): timeseries.csv, "
                     "p95-results.json, status.json, status-series.jsonl")  # fmt: skip
    lines += [f"{name} not written: {why}" for name, why in sorted(written.skipped.items())]
    return lines
