"""The command line: ``python -m harness run|validate|schema``.

Exit codes: 0 every objective held (or every file is valid); 1 an objective failed; 2 invalid
input or usage. Invalid input is reported with file:line:col before anything runs, and no
report is written. Output paths are checked when the arguments are read (a folder where a file
is wanted, a file where a folder is, a place nothing can be created); every output is staged
and put in place only when all are written, so a write that fails (a full disk) leaves nothing
new behind and exits 2 with one line saying why.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.engines.runner import run
from harness.errors import HarnessError, Problem, ScenarioError
from harness.format.loader import check_lines, file_sha256, json_schema, load_scenario
from harness.format.scenario import Scenario
from harness.options import check_output_file, check_reports_folder, parse_seed
from harness.report import result_table, summary_table
from harness.report.files import staged
from harness.report.json import results_text
from harness.report.layout import terminal_width, use_colour
from harness.report.progress import Progress
from harness.report.samples import samples_csv
from harness.verdicts.result import Result, ScenarioSource
from harness.version import __version__

__all__ = ["main"]

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    ``prog`` is the name help and errors call the command by: ``slo-harness`` when run as that
    script, ``python -m harness`` from ``__main__``.
    """
    parser = _parser(prog or _prog_name())
    arguments = parser.parse_args(argv)
    try:
        code: int = arguments.handler(arguments)
    except ScenarioError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # outside _say: the reader went away before anything mattered
        _silence_stdout()
        return EXIT_PASSED
    return code


def _say(*parts: object, end: str = "\n", flush: bool = False) -> None:
    """Print to stdout; if its reader went away (``... | head``), go on quietly.

    The run still finishes, writes its reports and exits with its verdict, so a pipeline under
    ``set -o pipefail`` sees whether the SLOs held; without this Python prints a traceback
    (twice: again when it flushes stdout at exit) and exits 1.
    """
    try:
        print(*parts, end=end, flush=flush)
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so nothing more is written to the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
    finally:
        os.close(devnull)


def _prog_name() -> str:
    """Return how the command was called: the script's name, or ``python -m harness``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m harness" if name in ("", "__main__.py", "-c", "-m") else name


_EPILOG = """examples:
  %(prog)s run scenarios/                     run every scenario below a folder
  %(prog)s run scenarios/vertex-flaky.yaml --seed 7 --reports reports/
  %(prog)s validate scenarios/                check files without running them
  %(prog)s schema --output scenario.schema.json

exit codes:
  0  every objective held (validate: every file is valid)
  1  an objective failed
  2  invalid input or usage (located as file:line:col), or a report could not be written
The exit code stays the verdict when the output is piped into a command that stops reading
(| head): the run goes on quietly and writes its reports.

Set NO_COLOR to turn colour off, FORCE_COLOR to keep it when not on a terminal.
"""


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run chaos scenarios in virtual time and check their SLOs.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run_command = commands.add_parser("run", help="run scenarios and check their objectives")
    run_command.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders")
    run_command.add_argument("--seed", type=_seed, help="use this seed instead of each file's")
    run_command.add_argument(
        "--engine",
        choices=("http", "direct"),
        help="run on this engine instead of each file's (direct: no HTTP stack, for long soaks)",
    )
    run_command.add_argument(
        "--json", type=_output_file, metavar="PATH", help="write the results as JSON"
    )
    run_command.add_argument(
        "--samples", type=_output_file, metavar="PATH", help="write every request as a CSV row"
    )
    run_command.add_argument(
        "--reports",
        type=_reports_folder,
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
    schema.add_argument(
        "--output", type=_output_file, metavar="PATH", help="write it to PATH instead"
    )
    schema.set_defaults(handler=_schema)
    return parser


def _seed(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _output_file(text: str) -> Path:
    try:
        return check_output_file(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _reports_folder(text: str) -> Path:
    try:
        return check_reports_folder(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def scenario_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders into the YAML files below them, sorted; keep files as given, each once."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
            if not found:
                raise ScenarioError.single("no .yaml or .yml files in this folder", file=str(path))
            files.extend(found)
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for file in files:  # a file named twice (or in two folders given) runs once
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(file)
    return unique


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
    run_info = not arguments.no_run_info
    entries: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    kept: list[Result] = []  # only for --samples: a Result holds every sample
    progress = Progress(sum(scenario.duration for _, scenario in loaded), len(loaded))
    for file, scenario in loaded:
        result = _run_one(file, scenario, arguments, progress)
        table = result_table(
            result, width=terminal_width(sys.stdout), colour=use_colour(sys.stdout)
        )
        _say(table, end="\n\n", flush=True)
        entries.append(result.to_dict(run_info=run_info))
        if arguments.reports:
            from harness.report.digest import digest

            digests.append(digest(result))
        if arguments.samples:
            kept.append(result)
        del result  # its samples are in the digest's figures now: free them before the next
    if len(entries) > 1:
        table = summary_table(
            entries, width=terminal_width(sys.stdout), colour=use_colour(sys.stdout)
        )
        _say(table, end="\n\n")
    _write_outputs(arguments, entries, digests, kept)
    failed = sum(not entry["passed"] for entry in entries)
    _say(f"{len(entries) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_PASSED


def _run_one(
    file: Path, scenario: Scenario, arguments: argparse.Namespace, progress: Progress
) -> Result:
    progress.start(scenario.name)
    result = run(
        scenario,
        seed=arguments.seed,
        engine=arguments.engine,
        source=ScenarioSource(str(file), file_sha256(file), check_lines(file)),
        on_progress=progress.reached if progress.enabled else None,
    )
    progress.finish(scenario.duration)
    progress.close()
    return result


def _write_outputs(
    arguments: argparse.Namespace,
    entries: list[dict[str, Any]],
    digests: list[dict[str, Any]],
    kept: list[Result],
) -> None:
    """Write --json, --samples and --reports together: all of them, or (on an error) none."""
    from harness.report.bundle import Written, write_reports
    from harness.report.text import written_lines

    written: Written | None = None
    try:
        with staged() as staging:
            if arguments.json:
                staging.write(arguments.json, results_text(entries))
            if arguments.samples:
                staging.write(arguments.samples, lambda stream: samples_csv(stream, kept))
            if arguments.reports:
                pairs = zip(entries, digests, strict=True)
                written = write_reports(arguments.reports, pairs, staging=staging)
    except OSError as error:
        raise HarnessError(f"nothing was written: {error}") from None
    for line in written_lines(written) if written else ():
        _say(line)


def _validate(arguments: argparse.Namespace) -> int:
    loaded = _load_all(arguments.paths)
    for file, scenario in loaded:
        _say(f"{file}: ok ({scenario.name})")
    return EXIT_PASSED


def _schema(arguments: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if arguments.output:
        from harness.report import atomic_write

        try:
            atomic_write(arguments.output, text)
        except OSError as error:
            raise HarnessError(f"nothing was written: {error}") from None
    else:
        _say(text, end="")
    return EXIT_PASSED
