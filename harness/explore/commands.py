"""The ``sweep``, ``search`` and ``compare`` commands: arguments in, text and files out, an exit
code back (0 held, 1 failed, 2 bad input, 3 inconclusive). ``harness.cli`` defines their
options; everything they do is here, so the command line stays one thin face.

Every input — the scenario, the seed range, requirements, ``--vary`` paths and ranges, the
executor (a Dask scheduler is connected to first) — is checked before any run starts.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.explore.baseline import compare
from harness.explore.executors import executor_for
from harness.explore.sweep import SweepPlan, parse_requirement, parse_seed_range, prepare, sweep
from harness.format.loader import file_sha256, load_scenario
from harness.format.values import format_value
from harness.report import atomic_write
from harness.verdicts.result import ScenarioSource

__all__ = ["EXIT_CODES", "compare_command", "json_text", "sweep_command", "write_json"]

EXIT_CODES = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}
SHOWN_FAILURES = 10


def sweep_command(arguments: argparse.Namespace) -> int:
    """Run ``python -m harness sweep``."""
    plan = _sweep_plan(arguments)
    prepare(plan.scenario, plan.requirements)  # a bad requirement is told before any run
    began = time.perf_counter()
    with executor_for(arguments.workers, arguments.dask) as executor:
        report = sweep(plan, executor, arguments.workers)
    elapsed = time.perf_counter() - began
    print(sweep_text(report), end="")
    where = f"Dask at {arguments.dask}" if arguments.dask else f"{arguments.workers} worker(s)"
    print(f"{len(plan.seeds)} seeds in {elapsed:.2f}s on {where}")
    if arguments.json:
        write_json(arguments.json, report)
    return EXIT_CODES[report["verdict"]]


def _sweep_plan(arguments: argparse.Namespace) -> SweepPlan:
    try:
        seeds = parse_seed_range(arguments.seeds)
        requirements = tuple(parse_requirement(text) for text in arguments.require)
        confidence = _confidence(arguments.confidence)
    except ValueError as error:
        raise HarnessError(str(error)) from None
    file = Path(arguments.path)
    scenario = load_scenario(file)
    source = ScenarioSource(str(file), file_sha256(file))
    return SweepPlan(scenario, seeds, arguments.engine, source, requirements, confidence)


def _confidence(text: str) -> float:
    from harness.format.units import parse_rate

    value = parse_rate(text)
    if not 0.0 < value < 1.0:
        raise ValueError(f"--confidence must lie strictly between 0% and 100%, got {text!r}")
    return value


def sweep_text(report: dict[str, Any]) -> str:
    """Return the sweep as a person reads it: one line per check, then the failing seeds."""
    seeds = report["seeds"]
    lines = [
        f"{report['scenario']['name']}  {report['verdict']}  (seeds {seeds['first']}.."
        f"{seeds['last']}, {seeds['count']} runs, {report['engine']} engine, "
        f"{report['confidence']:.0%} Clopper-Pearson intervals)"
    ]
    header = (
        "upstream",
        "check",
        "passed",
        "probability",
        "interval",
        "required",
        "verdict",
        "observed p5 / p50 / p95",
    )
    rows = [header, _row("*", "every check", None, report["scenario_passes"])]
    rows += [_row(c["upstream"], c["check"], c["unit"], c) for c in report["checks"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    failing = report["failing_runs"]
    if failing:
        lines.append(f"failing seeds ({len(failing)}):")
        for entry in failing[:SHOWN_FAILURES]:
            lines.append(f"  {entry['seed']}: {'; '.join(entry['failed'])}")
            lines.append(f"    replay: {entry['replay']}")
        if len(failing) > SHOWN_FAILURES:
            lines.append(f"  … and {len(failing) - SHOWN_FAILURES} more (all in --json)")
    return "\n".join(lines) + "\n"


def _row(upstream: str, check: str, unit: str | None, summary: dict[str, Any]) -> tuple[str, ...]:
    interval = summary["interval"]
    required = summary["required"]
    observed = summary.get("observed", {})
    spread = (
        " / ".join(format_value(observed[k], unit) for k in ("p5", "p50", "p95"))
        if "p50" in observed
        else ""
    )
    if "values" in observed:
        spread = (spread + "  " if spread else "") + ", ".join(
            f"{k} ×{v}" for k, v in observed["values"].items()
        )
    return (
        upstream,
        check,
        f"{summary['passes']}/{summary['runs']}",
        format_value(summary["pass_probability"], "ratio"),
        f"[{format_value(interval['low'], 'ratio')}, {format_value(interval['high'], 'ratio')}]",
        "" if required is None else f">= {format_value(required, 'ratio')}",
        summary["verdict"] or "",
        spread,
    )


def json_text(data: dict[str, Any]) -> str:
    """Return ``data`` as JSON with sorted keys: equal data, equal bytes."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically; an OSError becomes one HarnessError line."""
    try:
        atomic_write(path, json_text(data))
    except OSError as error:
        raise HarnessError(f"nothing was written: {error}") from None


def compare_command(arguments: argparse.Namespace) -> int:
    """Run ``python -m harness compare``: 1 on a real regression with --fail-on-regression."""
    report = compare(Path(arguments.baseline), Path(arguments.current))
    print(compare_text(report), end="")
    if arguments.json:
        write_json(arguments.json, report)
    failing = arguments.fail_on_regression and report["regressions"] > 0
    return EXIT_CODES["FAIL" if failing else "PASS"]


def compare_text(report: dict[str, Any]) -> str:
    """Return the comparison as a table, then a count of the regressions."""
    header = ("scenario", "upstream", "check", "baseline", "now", "verdict", "why")
    rows = [header]
    for row in report["checks"]:
        rows.append(
            (
                row["scenario"],
                row["upstream"],
                row["check"],
                _side_text(row["baseline"], row["unit"], report["kind"]),
                _side_text(row["current"], row["unit"], report["kind"]),
                row["verdict"] + (" (now fails)" if row.get("now_fails") else ""),
                row.get("reason", ""),
            )
        )
    lines = [f"{report['current']} against {report['baseline']}:", *_table(rows)]
    lines.append(f"{report['regressions']} regression(s)")
    return "\n".join(lines) + "\n"


def _side_text(side: dict[str, Any] | None, unit: str | None, kind: str) -> str:
    if side is None:
        return "-"
    samples = f" ({'runs' if kind == 'sweep' else 'n'}={side['samples']})"
    return format_value(side["observed"], unit) + samples


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    cells = (zip(row, widths, strict=True) for row in rows)
    return ["  " + "  ".join(cell.ljust(w) for cell, w in line).rstrip() for line in cells]
