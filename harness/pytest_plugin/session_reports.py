"""The pytest plugin's session reports: gathered from test reports, written once at the end.

- Each scenario's item puts its result (JSON form) and report digest on its test report; a
  scenario that crashed, and a scenario file that failed to load, put an *error* there instead
  (file, name if known, stage, the error text). The controller takes them off the reports as
  they arrive (locally or from pytest-xdist workers), so pytest's own records of the session
  do not keep them alive, and nothing else holds a scenario's samples past its report.
- At the end of the session, ``--slo-json`` and ``--slo-reports`` are rewritten whatever
  happened: errors are in every report and fail its verdict, and an empty session writes an
  empty, failing set rather than leave an earlier run's green one in place. Everything is
  staged (harness.report.files): if any report fails, none is written, the session says why
  in one line and exits non-zero (4 for a file-system error, 3 for any other) instead of
  ending in pytest's INTERNALERROR.
- An invalid scenario file's error (raised at its item's setup, so it is printed once, even
  under pytest-xdist where every worker collects) leads with its first problem, which is what
  pytest's short summary shows (``ERROR x.yaml::x - invalid scenario: 4:5: upstreams…``).
- Both paths are checked when the session starts (a folder where a file is wanted, a parent
  that cannot be created, a read-only place), so a bad path costs nothing but a usage error.

Heavy modules are imported only when reports are written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _pytest._code.code import ReprFileLocation, TerminalRepr

from harness.explore.baseline import BASELINE_FILE
from harness.options import REPORT_FILES, check_distinct, check_output_file, check_reports_folder

SWEEPS_FILE = "slo-sweeps.json"
"""The sweeps of a ``--slo-seeds`` session, beside its other reports."""
SWEEP_ATTRIBUTE = "harness_sweep"  # a sweep's JSON form, on its item's call report

if TYPE_CHECKING:
    from harness.errors import ScenarioError
    from harness.report.bundle import Written

__all__ = [
    "DIGEST_ATTRIBUTE",
    "ERROR_ATTRIBUTE",
    "RESULT_ATTRIBUTE",
    "InvalidScenarioRepr",
    "SessionReports",
    "error_text",
    "json_path",
    "reports_dir",
]

RESULT_ATTRIBUTE = "harness_result"  # not "result": pytest drops that one when serialising
DIGEST_ATTRIBUTE = "harness_report_digest"  # what reports need beyond the result's JSON
ERROR_ATTRIBUTE = "harness_error"  # a scenario that produced no result, and why


def reports_dir(config: pytest.Config) -> Path | None:
    """Return the ``--slo-reports`` folder (or the ``slo_reports`` ini value), if any."""
    value = config.getoption("slo_reports") or str(config.getini("slo_reports"))
    return Path(value) if value else None


def json_path(config: pytest.Config) -> Path | None:
    """Return the ``--slo-json`` path (or the ``slo_json`` ini value), if any."""
    value = config.getoption("slo_json") or str(config.getini("slo_json"))
    return Path(value) if value else None


class InvalidScenarioRepr(TerminalRepr):
    """An invalid file's error: its first problem, then every problem located.

    pytest's short summary shows ``reprcrash.message``; a pytest-xdist worker sends the text
    instead, whose first line the summary then shows: both say the first problem.
    """

    def __init__(self, path: Path, error: ScenarioError) -> None:
        first = error.problems[0]
        where = ":".join(str(n) for n in (first.line, first.column) if n is not None)
        parts = (where and f"{where}:", first.dotted_path and f"{first.dotted_path}:")
        short = " ".join([*filter(None, parts), first.message])
        if len(error.problems) > 1:
            short += f" (+{len(error.problems) - 1} more)"
        self.lines = [f"invalid scenario: {short}", *str(error).splitlines()]
        self.reprcrash = ReprFileLocation(str(path), first.line or 0, self.lines[0])

    def toterminal(self, tw: Any) -> None:
        for line in self.lines:
            tw.line(line)


def error_text(error: BaseException) -> str:
    """Return what a report says of a scenario's error: a ScenarioError's located problems,
    otherwise the exception's type and message."""
    from harness.errors import ScenarioError

    if isinstance(error, ScenarioError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class SessionReports:
    """Gather scenario results and errors from test reports; write the session's reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.folder = reports_dir(config)
        self.json = json_path(config)
        _check_paths(config, self.folder, self.json)
        self.entries: list[dict[str, Any]] = []
        self.digests: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.sweeps: list[dict[str, Any]] = []
        self.written: Written | None = None
        self.failure: str | None = None

    @pytest.hookimpl(tryfirst=True)  # first, so later hooks see the report without our data
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._take(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._take(report)

    def _take(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        entry = report.__dict__.pop(RESULT_ATTRIBUTE, None)
        digest = report.__dict__.pop(DIGEST_ATTRIBUTE, None)
        if entry is not None:
            from harness.report.digest import digest_from_json

            self.entries.append(entry)
            self.digests.append({} if digest is None else digest_from_json(digest))
        sweep = report.__dict__.pop(SWEEP_ATTRIBUTE, None)
        if sweep is not None:
            self.sweeps.append(sweep)
        error = report.__dict__.pop(ERROR_ATTRIBUTE, None)
        if error is not None and error not in self.errors:  # xdist: once per worker
            self.errors.append(error)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.folder is None and self.json is None:
            return
        try:
            self.written = self._write()
        except Exception as error:  # any report failure: one line, never an INTERNALERROR
            self.failure = f"SLO reports not written: {error_text(error)}"
            if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
                io_error = isinstance(error, OSError)
                code = pytest.ExitCode.USAGE_ERROR if io_error else pytest.ExitCode.INTERNAL_ERROR
                session.exitstatus = code
            if not self.config.pluginmanager.hasplugin("terminalreporter"):
                sys.stderr.write(f"{self.failure}\n")

    def _write(self) -> Written | None:
        from harness.report.bundle import write_reports
        from harness.report.files import staged
        from harness.report.json import results_text

        written = None
        with staged() as staging:
            if self.json is not None:
                staging.write(self.json, results_text(self.entries, errors=self.errors))
            if self.folder is not None:
                pairs = zip(self.entries, self.digests, strict=True)
                written = write_reports(self.folder, pairs, self.errors, staging=staging)
        self._after_reports(written)
        return written

    def _after_reports(self, written: Written | None) -> None:
        """Write the sweeps beside the reports, and keep a green run as the next baseline."""
        from harness.report import atomic_write

        sweeps = sorted(self.sweeps, key=lambda s: (str(s["scenario"]["file"]), s["engine"]))
        places = [p.parent for p in (self.json,) if p is not None]
        if written is not None:
            places.append(written.folder)
        if sweeps:
            from harness.explore.commands import json_text

            for place in places:
                written_file = atomic_write(place / SWEEPS_FILE, json_text({"sweeps": sweeps}))
                if written is not None and place == written.folder:
                    written.files.append(written_file)
        if written is not None and self.entries and self._green():
            results = written.folder / "slo-results.json"
            baseline = written.folder / BASELINE_FILE
            atomic_write(baseline, results.read_text(encoding="utf-8"))
            written.files.append(baseline)

    def _green(self) -> bool:
        """Whether every scenario passed (and every sweep held): a run worth comparing with."""
        passed = all(entry.get("passed") is True for entry in self.entries)
        return passed and not self.errors and all(s["verdict"] == "PASS" for s in self.sweeps)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.entries or self.errors:
            from harness.report import summary_table

            terminalreporter.write_sep("=", "SLO summary")
            ordered = sorted(self.entries, key=lambda entry: str(entry["scenario"]["file"]))
            # pytest's writer knows the width and whether to colour (NO_COLOR, FORCE_COLOR,
            # --color, a TTY): the table follows it.
            writer = self.config.get_terminal_writer()
            table = summary_table(
                ordered, self.errors, width=writer.fullwidth, colour=writer.hasmarkup
            )
            terminalreporter.write_line(table)
        if self.failure is not None:
            terminalreporter.write_sep("=", "SLO reports", red=True)
            terminalreporter.write_line(self.failure, red=True)
            return
        if self.json is not None:
            terminalreporter.write_line(f"results written to {self.json}")
        if self.written is not None:
            from harness.report.text import written_lines

            for line in written_lines(self.written):
                terminalreporter.write_line(line)


def _check_paths(config: pytest.Config, folder: Path | None, json: Path | None) -> None:
    """Raise a usage error, before anything runs, for an output path that cannot be written."""
    xmlpath = getattr(config.option, "xmlpath", None)
    if (
        folder is not None
        and xmlpath
        and Path(xmlpath).resolve() == (folder / "junit.xml").resolve()
    ):
        raise pytest.UsageError(
            f"--junitxml={xmlpath} and --slo-reports={folder} would both write {xmlpath}; "
            "--slo-reports writes a JUnit file with a testcase per objective, so drop --junitxml"
        )
    try:
        if json is not None:
            check_output_file(json)
    except ValueError as error:
        raise pytest.UsageError(f"--slo-json={json}: {error}") from None
    if folder is None:
        return
    try:
        check_reports_folder(folder)
        if json is not None:  # the same file twice: one of the two would be lost
            outputs = [("--slo-json", json), *[("--slo-reports", folder / n) for n in REPORT_FILES]]
            check_distinct([], outputs)
    except ValueError as error:
        raise pytest.UsageError(f"--slo-reports={folder}: {error}") from None
