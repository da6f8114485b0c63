"""The command line: ``python -m harness run|validate|schema``.

Exit codes: 0 every objective held (or every file is valid); 1 an objective failed; 2 invalid
input or usage. Invalid input is reported with file:line:col before anything runs, and no
report is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.errors import HarnessError, Problem, ScenarioError
from harness.loader import file_sha256, json_schema, load_scenario
from harness.report import result_table, summary_table, write_results, write_samples
from harness.report.progress import Progress
from harness.result import Result, ScenarioSource
from harness.runner import run
from harness.scenario import Scenario

__all__ = ["main"]

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        code: int = arguments.handler(arguments)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description="Run chaos scenarios in virtual time and check their SLOs.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run_command = commands.add_parser("run", help="run scenarios and check their objectives")
    run_command.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders")
    run_command.add_argument("--seed", type=_seed, help="use this seed instead of each file's")
    run_command.add_argument(
        "--engine",
        choices=("http", "direct"),
        help="run on this engine instead of each file's (direct: no HTTP stack, for long soaks)",
    )
    run_command.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    run_command.add_argument(
        "--samples", type=Path, metavar="PATH", help="write every request as a CSV row"
    )
    run_command.add_argument(
        "--reports",
        type=Path,
        metavar="DIR",
        help="write every report into DIR (JUnit, HTML, JSON, OpenMetrics, per-scenario CSV)",
    )
    run_command.add_argument(
        "--no-run-info",
        action="store_true",
        help="leave the wall-clock block out of --json, so equal runs give equal bytes",
    )
    run_command.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders")
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of the scenario format")
    schema.add_argument("--output", type=Path, metavar="PATH", help="write it to PATH instead")
    schema.set_defaults(handler=_schema)
    return parser


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed between 0 and 2**63-1, got {value}")
    return value


def scenario_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders into the YAML files below them, sorted; keep files as given."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
            if not found:
                raise ScenarioError.single("no .yaml or .yml files in this folder", file=str(path))
            files.extend(found)
        else:
            files.append(path)
    return files


def _load_all(paths: Sequence[str]) -> list[tuple[Path, Scenario]]:
    loaded: list[tuple[Path, Scenario]] = []
    problems: list[Problem] = []
    for file in scenario_files(paths):
        try:
            loaded.append((file, load_scenario(file)))
        except ScenarioError as error:
            problems.extend(error.problems)
    if problems:
        raise ScenarioError(problems)
    return loaded


def _run(arguments: argparse.Namespace) -> int:
    loaded = _load_all(arguments.paths)  # every file is checked before anything runs
    results: list[Result] = []
    progress = Progress(sum(scenario.duration for _, scenario in loaded), len(loaded))
    for file, scenario in loaded:
        source = ScenarioSource(str(file), file_sha256(file))
        progress.start(scenario.name)
        result = run(
            scenario,
            seed=arguments.seed,
            engine=arguments.engine,
            source=source,
            on_progress=progress.reached if progress.enabled else None,
        )
        progress.finish(scenario.duration)
        progress.close()
        results.append(result)
        print(result_table(result), end="\n\n", flush=True)
    if len(results) > 1:
        print(summary_table(results), end="\n\n")
    if arguments.json:
        write_results(arguments.json, results, run_info=not arguments.no_run_info)
    if arguments.samples:
        write_samples(arguments.samples, results)
    if arguments.reports:
        _write_reports(arguments.reports, results, run_info=not arguments.no_run_info)
    failed = sum(not result.passed for result in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_PASSED


def _write_reports(folder: Path, results: list[Result], *, run_info: bool) -> None:
    from harness.report.bundle import write_reports
    from harness.report.digest import digest
    from harness.report.text import written_lines

    pairs = [(result.to_dict(run_info=run_info), digest(result)) for result in results]
    for line in written_lines(write_reports(folder, pairs)):
        print(line)


def _validate(arguments: argparse.Namespace) -> int:
    loaded = _load_all(arguments.paths)
    for file, scenario in loaded:
        print(f"{file}: ok ({scenario.name})")
    return EXIT_PASSED


def _schema(arguments: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if arguments.output:
        from harness.report import atomic_write

        atomic_write(arguments.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_PASSED
