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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.engines.runner import run
from harness.engines.until_decided import DEFAULT_MAX_FACTOR, asks_confidence, run_until_decided
from harness.errors import HarnessError, Problem, ScenarioError, printable
from harness.format.breaker_warnings import breaker_warnings
from harness.format.budget import memory_budget, parse_size
from harness.format.loader import check_lines, file_sha256, json_schema, load_scenario
from harness.format.scenario import Scenario
from harness.options import (
    REPORT_FILES,
    check_distinct,
    check_output_file,
    check_reports_folder,
    parse_seed,
)
from harness.report import result_table, summary_table
from harness.report.files import STDOUT, staged
from harness.report.json import results_text
from harness.report.layout import terminal_width, use_colour
from harness.report.progress import Progress
from harness.report.samples import samples_csv
from harness.verdicts.result import Result, ScenarioSource
from harness.version import __version__

__all__ = ["main"]

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID, EXIT_INCONCLUSIVE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C ended


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    ``prog`` is the name help and errors call the command by: ``slo-harness`` when run as that
    script, ``python -m harness`` from ``__main__``.
    """
    try:
        return _main(argv, prog)
    except KeyboardInterrupt:  # outputs are staged and put in place with interrupts held:
        # each is the old one or the new one, whole
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None, prog: str | None) -> int:
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


def _say(*parts: object, end: str = "\n", flush: bool = False, file: Any = None) -> None:
    """Print to ``file`` (default stdout); if its reader went away (``... | head``), go on
    quietly.

    The run still finishes, writes its reports and exits with its verdict, so a pipeline under
    ``set -o pipefail`` sees whether the SLOs held; without this Python prints a traceback
    (twice: again when it flushes stdout at exit) and exits 1.
    """
    stream = sys.stdout if file is None else file
    try:
        print(*parts, end=end, flush=flush, file=stream)
    except BrokenPipeError:
        if stream is sys.stdout:
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
        "--json", type=_output_file, metavar="PATH", help="write the results as JSON (- for stdout)"
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
        "--until-decided",
        type=_max_factor,
        nargs="?",
        const=DEFAULT_MAX_FACTOR,
        metavar="MAX_FACTOR",
        help="while an objective with a confidence level is inconclusive, run again with the "
        f"duration doubled, up to MAX_FACTOR times it (default {DEFAULT_MAX_FACTOR})",
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
    for command in (run_command, validate):
        command.add_argument(
            "--memory-budget",
            type=_size,
            metavar="SIZE",
            help="refuse scenarios estimated to need more memory than this (default 2GiB)",
        )

    schema = commands.add_parser("schema", help="print the JSON Schema of the scenario format")
    schema.add_argument(
        "--output", type=_output_file, metavar="PATH", help="write it to PATH instead"
    )
    schema.set_defaults(handler=_schema)
    _explore_commands(commands)
    return parser


def _explore_commands(commands: Any) -> None:
    """Add ``sweep``, ``search`` and ``compare`` (their work is in harness.explore.commands)."""
    from harness.explore import commands as explore

    sweep = commands.add_parser(
        "sweep", help="run a scenario over many seeds: pass probabilities with intervals"
    )
    sweep.add_argument("path", metavar="FILE", help="the scenario file")
    sweep.add_argument(
        "--seeds", required=True, metavar="FIRST..LAST", help="the seeds, both ends included"
    )
    sweep.add_argument(
        "--engine",
        choices=("http", "direct"),
        default="direct",
        help="the engine (default: direct, which gives the same Result as http, faster)",
    )
    sweep.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="SPEC",
        help="a share of runs a check must pass in: 'vertex: p95 < 500ms in 99%%' (an objective "
        "the file lacks is added), or '95%%' for the whole scenario; repeatable",
    )
    sweep.add_argument(
        "--confidence", default="95%", help="the intervals' confidence (default 95%%)"
    )
    _executor_options(sweep)
    sweep.add_argument("--json", type=_output_file, metavar="PATH", help="write the sweep as JSON")
    sweep.set_defaults(handler=explore.sweep_command)

    search = commands.add_parser(
        "search", help="search fault ranges for the mildest profile that breaks a scenario"
    )
    search.add_argument("path", metavar="FILE", help="the scenario file")
    search.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="PATH=FIRST..LAST",
        help="a field and its range, mild end first: upstreams.vertex.failure_rate=0%%..100%%",
    )
    seeds = search.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, help="the run's seed (default: the file's)")
    seeds.add_argument(
        "--seeds",
        metavar="FIRST..LAST",
        help="run each profile with these seeds; it breaks if any fails",
    )
    search.add_argument(
        "--engine", choices=("http", "direct"), default="direct", help="default: direct"
    )
    search.add_argument(
        "--max-examples", type=int, default=200, metavar="N", help="profiles to try (200)"
    )
    search.add_argument("--budget", default="60s", help="a time limit, as a duration (60s)")
    search.add_argument(
        "--search-seed", type=_seed, default=0, help="hypothesis's seed (default 0)"
    )
    search.add_argument(
        "--out",
        type=_reports_folder,
        default=Path("reports"),
        metavar="DIR",
        help="where search-NAME.yaml and search-NAME.json go (default reports/)",
    )
    _executor_options(search)
    search.set_defaults(handler=explore.search_command)

    compare = commands.add_parser(
        "compare", help="compare results (or sweeps) with a baseline: what got worse"
    )
    compare.add_argument("current", metavar="RESULTS.json", help="this run's results or sweep")
    compare.add_argument(
        "baseline",
        nargs="?",
        metavar="BASELINE.json",
        help="the stored results or sweep (default: --baseline last-green)",
    )
    compare.add_argument(
        "--baseline",
        dest="baseline_option",
        metavar="FILE|last-green",
        help="the baseline; last-green (the default): the last green run kept in --reports",
    )
    compare.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="the reports folder whose baseline/slo-results.json is the last green run",
    )
    compare.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a check got worse by more than its intervals allow",
    )
    compare.add_argument("--json", type=_output_file, metavar="PATH", help="write it as JSON")
    compare.set_defaults(handler=explore.compare_command)


def _executor_options(command: argparse.ArgumentParser) -> None:
    where = command.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=1, metavar="N", help="run on N processes (default 1)"
    )
    where.add_argument(
        "--dask", metavar="ADDRESS", help="run on the Dask cluster at ADDRESS (tcp://host:8786)"
    )


def _max_factor(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1024:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1024, got {text!r}")
    return int(text)


def _seed(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _size(text: str) -> int:
    try:
        return parse_size(text)
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


def _load_all(paths: Sequence[str], budget: int | None = None) -> list[tuple[Path, Scenario]]:
    loaded: list[tuple[Path, Scenario]] = []
    problems: list[Problem] = []
    for file in scenario_files(paths):
        try:
            with memory_budget(budget):
                loaded.append((file, load_scenario(file)))
        except ScenarioError as error:
            problems.extend(error.problems)
    if problems:
        raise ScenarioError(problems)
    return loaded


def _run(arguments: argparse.Namespace) -> int:
    # every file is checked before anything runs
    loaded = _load_all(arguments.paths, arguments.memory_budget)
    if arguments.until_decided and not any(asks_confidence(s) for _, s in loaded):
        print(
            "usage error: --until-decided needs an objective with a confidence level "
            "(like 'p95 < 500ms @ 95%'); none of these scenarios has one",
            file=sys.stderr,
        )
        return EXIT_INVALID
    _check_outputs(arguments, [file for file, _ in loaded])
    # With the data on stdout, the tables go to stderr, so the pipe holds only the data.
    arguments.out = sys.stderr if STDOUT in (arguments.json, arguments.samples) else sys.stdout
    return _run_all(loaded, arguments)


def _check_outputs(arguments: argparse.Namespace, inputs: list[Path]) -> None:
    """Refuse an output that is an input or another output, and a reports folder holding an
    input (it is replaced whole): usage errors, exit 2, before anything runs."""
    outputs = [("--json", arguments.json), ("--samples", arguments.samples)]
    if arguments.reports:
        outputs += [("--reports", arguments.reports / name) for name in REPORT_FILES]
        real = os.path.realpath(arguments.reports) + os.sep
        inside = [path for path in inputs if os.path.realpath(path).startswith(real)]
        if inside:
            raise HarnessError(f"--reports {arguments.reports} holds the scenario {inside[0]}")
    try:
        check_distinct(inputs, [(option, path) for option, path in outputs if path])
    except ValueError as error:
        raise HarnessError(str(error)) from None


def _run_all(loaded: list[tuple[Path, Scenario]], arguments: argparse.Namespace) -> int:
    run_info = not arguments.no_run_info
    entries: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    kept: list[Result] = []  # only for --samples: a Result holds every sample
    progress = Progress(sum(scenario.duration for _, scenario in loaded), len(loaded))
    for file, scenario in loaded:
        result = _run_one(file, scenario, arguments, progress)
        table = result_table(
            result, width=terminal_width(arguments.out), colour=use_colour(arguments.out)
        )
        _say(table, end="\n\n", flush=True, file=arguments.out)
        entries.append(result.to_dict(run_info=run_info))
        if arguments.reports:
            from harness.report.digest import digest

            digests.append(digest(result))
        if arguments.samples:
            kept.append(result)
        del result  # its samples are in the digest's figures now: free them before the next
    if len(entries) > 1:
        table = summary_table(
            entries, width=terminal_width(arguments.out), colour=use_colour(arguments.out)
        )
        _say(table, end="\n\n", file=arguments.out)
    _write_outputs(arguments, entries, digests, kept)
    failed = sum(entry["outcome"] == "FAIL" for entry in entries)
    open_ = sum(entry["outcome"] == "INCONCLUSIVE" for entry in entries)
    also = f", {open_} inconclusive" if open_ else ""
    _say(f"{len(entries) - failed - open_} passed, {failed} failed{also}", file=arguments.out)
    if failed:
        return EXIT_FAILED
    return EXIT_INCONCLUSIVE if open_ else EXIT_PASSED


def _run_one(
    file: Path, scenario: Scenario, arguments: argparse.Namespace, progress: Progress
) -> Result:
    progress.start(scenario.name)
    source = ScenarioSource(str(file), file_sha256(file), check_lines(file))

    def run_once(scenario: Scenario, reached: Callable[[int], None] | None = None) -> Result:
        return run(
            scenario,
            seed=arguments.seed,
            engine=arguments.engine,
            source=source,
            on_progress=reached,
        )

    if arguments.until_decided and asks_confidence(scenario):
        result = run_until_decided(scenario, run_once, arguments.until_decided)
    else:
        result = run_once(scenario, progress.reached if progress.enabled else None)
    progress.finish(scenario.duration)
    progress.close()
    if result.extension is not None:
        _say(result.extension.text(), file=arguments.out)
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
        _say(line, file=arguments.out)


def _validate(arguments: argparse.Namespace) -> int:
    loaded = _load_all(arguments.paths, arguments.memory_budget)
    for file, scenario in loaded:
        _say(printable(f"{file}: ok ({scenario.name})"))
        for line in _code_lines(scenario):
            _say(printable(line))
        for warning in breaker_warnings(scenario):
            _say(printable(f"{file}: warning: {warning}"))
    return EXIT_PASSED


def _code_lines(scenario: Scenario) -> list[str]:
    """Say which of a scenario's upstreams will run code of their own, and from which file: a
    scenario naming a factory or an entry point is code, to be trusted like a conftest.py."""
    from harness.format.breaker_code import factory_origin
    from harness.format.breaker_settings import CustomBreakerSettings

    lines = []
    for name, upstream in scenario.upstreams.items():
        breaker = upstream.breaker
        if isinstance(breaker, CustomBreakerSettings):
            origin = factory_origin(breaker.impl) or "a module not found"
            lines.append(f"  runs code: upstream {name}: impl {breaker.impl!r} from {origin}")
        entry_point = upstream.traffic.entry_point if upstream.traffic else None
        if entry_point:
            origin = factory_origin(entry_point) or "a module not found"
            lines.append(f"  runs code: upstream {name}: entry_point {entry_point!r} from {origin}")
    return lines


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
