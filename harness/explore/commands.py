"""The ``sweep``, ``search`` and ``compare`` commands: arguments in, text and files out, an exit
code back (0 held, 1 failed, 2 bad input, 3 inconclusive). ``harness.cli`` defines their
options; everything they do is here, so the command line stays one thin face.

Every input — the scenario, the seed range, requirements, ``--vary`` paths and ranges, the
executor (a Dask scheduler is connected to first) — is checked before any run starts.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.explore.baseline import compare, resolve_baseline
from harness.explore.executors import executor_for
from harness.explore.search import Search, breaking_scenario, outcome, parse_vary, search
from harness.explore.sweep import SweepPlan, parse_requirement, parse_seed_range, prepare, sweep
from harness.format.loader import file_sha256, load_scenario
from harness.format.scenario import Scenario
from harness.format.units import parse_duration
from harness.format.values import format_value
from harness.report import atomic_write
from harness.verdicts.result import ScenarioSource

__all__ = [
    "EXIT_CODES",
    "compare_command",
    "json_text",
    "scenario_yaml",
    "search_command",
    "sweep_command",
    "write_json",
]

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
    if arguments.json:  # before printing: a closed pipe must not lose the file
        write_json(arguments.json, report)
    print(sweep_text(report), end="")
    where = f"Dask at {arguments.dask}" if arguments.dask else f"{arguments.workers} worker(s)"
    print(f"{len(plan.seeds)} seeds in {elapsed:.2f}s on {where}")
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
    header = ("upstream", "check", "passed", "probability", "interval", "required", "verdict")
    rows: list[tuple[str, ...]] = [(*header, "observed p5 / p50 / p95")]
    rows.append(_row("*", "every check", None, report["scenario_passes"]))
    rows += [
        _row(c["upstream"], c["check"] + (" (added)" if c["added"] else ""), c["unit"], c)
        for c in report["checks"]
    ]
    return "\n".join(lines + _table(rows) + _failing_lines(report["failing_runs"])) + "\n"


def _failing_lines(failing: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    if failing:
        lines.append(f"failing seeds ({len(failing)}):")
        for entry in failing[:SHOWN_FAILURES]:
            lines.append(f"  {entry['seed']}: {'; '.join(entry['failed'])}")
            lines.append(f"    replay: {entry['replay']}")
        if len(failing) > SHOWN_FAILURES:
            lines.append(f"  … and {len(failing) - SHOWN_FAILURES} more (all in --json)")
        if any("(added)" in check for entry in failing for check in entry["failed"]):
            lines.append(
                "  (added): an objective --require added; the file's replay does not check it"
            )
    return lines


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
    if arguments.baseline and arguments.baseline_option:
        raise HarnessError("name the baseline once: as BASELINE.json or with --baseline")
    given = arguments.baseline or arguments.baseline_option
    report = compare(resolve_baseline(given, arguments.reports), Path(arguments.current))
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


def search_command(arguments: argparse.Namespace) -> int:
    """Run ``python -m harness search``: 1 when a breaking profile was found, else 0."""
    plan = _search_plan(arguments)
    plan.check()  # every path and both ends of every range, before any run
    began = time.perf_counter()
    with executor_for(arguments.workers, arguments.dask) as executor:
        plan.executor = executor
        report = search(plan)
    elapsed = time.perf_counter() - began
    stem = Path(arguments.out) / f"search-{_safe(plan.scenario.name)}"
    if report["found"] is not None:
        scenario = breaking_scenario(plan, report)
        yaml_path = stem.with_suffix(".yaml")
        _write_text(yaml_path, scenario_yaml(scenario, report))
        written = load_scenario(yaml_path)
        again = outcome(written, written.seed, plan.engine)
        report["written"] = {"file": str(yaml_path), "replay": again}
        report["reproduced"] = again["failed"] == report["found"]["failed"]
    write_json(stem.with_suffix(".json"), report)
    print(search_text(report, elapsed), end="")
    return EXIT_CODES["PASS" if report["found"] is None else "FAIL"]


def _search_plan(arguments: argparse.Namespace) -> Search:
    try:
        varies = tuple(parse_vary(text) for text in arguments.vary)
        budget = parse_duration(arguments.budget) / 1e9
    except ValueError as error:
        raise HarnessError(str(error)) from None
    if arguments.max_examples < 1:
        raise HarnessError(f"--max-examples must be at least 1, got {arguments.max_examples}")
    scenario = load_scenario(Path(arguments.path))
    seed = scenario.seed if arguments.seed is None else arguments.seed
    more: tuple[int, ...] = ()
    if arguments.seeds is not None:
        try:
            seeds = parse_seed_range(arguments.seeds)
        except ValueError as error:
            raise HarnessError(str(error)) from None
        seed, more = seeds[0], tuple(seeds[1:])
    return Search(
        scenario,
        varies,
        seed,
        engine=arguments.engine,
        more_seeds=more,
        workers=arguments.workers,
        max_examples=arguments.max_examples,
        budget_s=budget,
        seed_of_search=arguments.search_seed,
    )


def scenario_yaml(scenario: Scenario, report: dict[str, Any]) -> str:
    """Return ``scenario`` as a YAML file, headed by a comment saying how it was found."""
    profile = ", ".join(f"{path}={value}" for path, value in report["found"]["profile"].items())
    header = [
        f"# The mildest profile the search found that breaks {report['scenario']!r}: {profile}",
        f"# (seed {scenario.seed}, {scenario.engine} engine). Failed: "
        + "; ".join(report["found"]["failed"]),
        "# Written by python -m harness search; replay: python -m harness run THIS_FILE",
    ]
    body = yaml.safe_dump(
        scenario.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True
    )
    return "\n".join(header) + "\n" + body


def search_text(report: dict[str, Any], elapsed: float) -> str:
    """Return what the search tried and found, as a person reads it."""
    varied = ", ".join(f"{v['path']} {v['first']}..{v['last']}" for v in report["varied"])
    tried = report["tried"]
    broke = sum(1 for entry in tried if entry.get("valid") and not entry["passed"])
    lines = [
        f"{report['scenario']}: searched {varied} ({_seeds_text(report['seeds'])}, search seed "
        f"{report['search_seed']}, {report['engine']} engine)",
        f"  {len(tried)} profiles run in {elapsed:.1f}s: {broke} broke a check, "
        f"{sum(1 for e in tried if not e.get('valid'))} refused by the format"
        + ("; stopped by the time budget" if report["over_budget"] else ""),
    ]
    found = report["found"]
    if found is None:
        lines.append("  no profile in these ranges broke a check")
    else:
        profile = ", ".join(f"{k}={v}" for k, v in found["profile"].items())
        lines.append(f"  mildest breaking profile: {profile}")
        lines.extend(f"    FAIL  {check}" for check in found["failed"])
        for entry in found["milder"]:
            step = ", ".join(f"{k}={v}" for k, v in entry["profile"].items())
            held = "broke a check too" if entry["broke"] else "held"
            lines.append(f"  one step milder ({step}): {held if entry['run'] else 'not run'}")
        written = report["written"]["file"]
        same = "fails the same way" if report["reproduced"] else "does NOT fail the same way"
        lines.append(f"  written: {written} ({same} when run again)")
        lines.append(f"  replay: python -m harness run {shlex.quote(written)}")
    return "\n".join(lines) + "\n"


def _seeds_text(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return f"seeds {seeds[0]}..{seeds[-1]}, any failing"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "scenario"


def _write_text(path: Path, text: str) -> None:
    try:
        atomic_write(path, text)
    except OSError as error:
        raise HarnessError(f"nothing was written: {error}") from None
