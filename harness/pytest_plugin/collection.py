"""Scenario files as pytest tests: a :class:`ScenarioFile` collects into one
:class:`ScenarioItem`, which runs the scenario and fails (without traceback) on a broken
objective; and the run options both read (``--slo-seed``, ``--slo-engine`` and their ini forms).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.options import parse_seed
from harness.pytest_plugin.session_reports import (
    DIGEST_ATTRIBUTE,
    ERROR_ATTRIBUTE,
    RESULT_ATTRIBUTE,
    InvalidScenarioRepr,
    error_text,
    reports_dir,
)
from harness.pytest_plugin.sweeps import (
    SWEEP_ATTRIBUTE,
    SweepFailed,
    representative_seed,
    run_sweep,
)
from harness.pytest_plugin.sweeps import seeds_of as seeds_of_sweep

if TYPE_CHECKING:
    from harness.errors import ScenarioError
    from harness.events import BreakerState
    from harness.format.scenario import Scenario
    from harness.verdicts.result import Result, ScenarioSource

__all__ = [
    "InvalidScenarioItem",
    "ScenarioFile",
    "ScenarioItem",
    "engine_of",
    "relative_path",
    "seed_of",
]


def seed_of(config: pytest.Config) -> int | None:
    value = config.getoption("slo_seed")
    if value is not None:
        return int(value)
    ini = str(config.getini("slo_seed")).strip()
    if not ini:
        return None
    try:
        return parse_seed(ini)
    except ValueError as error:
        raise pytest.UsageError(f"slo_seed: {error}") from None


INCONCLUSIVE_CHOICES = ("fail", "skip")


def inconclusive_of(config: pytest.Config) -> str:
    """Return what an inconclusive scenario is under pytest: ``fail`` (default) or ``skip``."""
    value = config.getoption("slo_inconclusive") or str(config.getini("slo_inconclusive")).strip()
    if value and value not in INCONCLUSIVE_CHOICES:
        raise pytest.UsageError(f"slo_inconclusive: expected 'fail' or 'skip', got {value!r}")
    return value or "fail"


def until_decided_of(config: pytest.Config) -> int | None:
    """Return the cap of ``--slo-until-decided`` (a factor of each duration), or None if off."""
    value = config.getoption("slo_until_decided") or str(config.getini("slo_until_decided"))
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 1024:
        raise pytest.UsageError(
            f"slo_until_decided: expected a whole number from 1 to 1024, got {value!r}"
        )
    return int(value)


def engine_of(config: pytest.Config) -> str | None:
    value = config.getoption("slo_engine") or str(config.getini("slo_engine")).strip()
    if value and value not in ("http", "direct"):
        raise pytest.UsageError(f"slo_engine: expected 'http' or 'direct', got {value!r}")
    return value or None


class ScenarioFile(pytest.File):
    """A scenario YAML file; it collects into one test item.

    A file that fails to load collects into an :class:`InvalidScenarioItem` that errors when
    it is set up: a collection error would make pytest stop the whole session before any
    scenario runs, so one typo would hide every other result.
    """

    error: str | None = None  # why it could not be collected, as every report says it

    def collect(self) -> Iterator[ScenarioItem | InvalidScenarioItem]:
        from harness.errors import ScenarioError
        from harness.format.loader import load_scenario

        try:
            scenario = load_scenario(self.path)
        except ScenarioError as error:
            yield InvalidScenarioItem.from_parent(self, name=self.path.stem, error=error)
            return
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | Any:
        from harness.errors import ScenarioError

        self.error = error_text(excinfo.value)
        if isinstance(excinfo.value, ScenarioError):
            return InvalidScenarioRepr(self.path, excinfo.value)
        return super().repr_failure(excinfo)


class InvalidScenarioItem(pytest.Item):
    """A scenario file that failed to load: an error (at setup) with every problem located."""

    def __init__(self, *, error: ScenarioError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def setup(self) -> None:
        raise self.error  # raised at setup, so pytest counts an error, not a failure

    def runtest(self) -> None:  # pragma: no cover - setup always raises first
        raise self.error

    def reportinfo(self) -> tuple[Path, int | None, str]:
        first = self.error.problems[0].line if self.error.problems else None
        return self.path, None if first is None else first - 1, f"invalid scenario: {self.name}"

    def relative_path(self) -> str:
        """Return the scenario file's path relative to the rootdir (absolute if outside)."""
        return relative_path(self.path, self.config)

    def hand_over(self, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
        """Put the load error on the setup phase's report, as a collection error is recorded,
        and show it as the located problems only (pytest calls no ``repr_failure`` at setup)."""
        if call.when == "setup" and report.failed:
            report.longrepr = InvalidScenarioRepr(self.path, self.error)
            error = {"file": self.relative_path(), "name": None, "stage": "collection"}
            setattr(report, ERROR_ATTRIBUTE, {**error, "error": error_text(self.error)})


class ScenarioItem(pytest.Item):
    """One scenario run: passes when every objective holds."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        # The run's result and report digest, until its test report carries them away: a
        # Result holds every sample, so it must not live as long as the session.
        self.result: Result | None = None
        self.report_digest: dict[str, Any] | None = None
        self.sweep_report: dict[str, Any] | None = None  # with --slo-seeds

    def runtest(self) -> None:
        from harness.engines.runner import run
        from harness.engines.until_decided import asks_confidence, run_until_decided
        from harness.errors import SLOViolation
        from harness.format.loader import check_lines, file_sha256
        from harness.verdicts.result import ScenarioSource

        source = ScenarioSource(
            self.relative_path(), file_sha256(self.path), check_lines(self.path)
        )

        def run_once(scenario: Scenario) -> Result:
            return run(
                scenario,
                seed=seed_of(self.config),
                engine=engine_of(self.config),
                source=source,
                on_transition=self._transition,
            )

        max_factor = until_decided_of(self.config)
        sweep = None
        if seeds_of_sweep(self.config) is not None:
            sweep, result = self._sweep(source)  # the result: its representative run
        elif max_factor and asks_confidence(self.scenario):
            result = run_until_decided(self.scenario, run_once, max_factor)
        else:
            result = run_once(self.scenario)
        self.result = result
        if reports_dir(self.config) is not None:  # also set on xdist workers
            from harness.report.digest import digest

            self.report_digest = digest(result)
        self.user_properties.extend(_junit_properties(result))
        if sweep is not None:
            if sweep["verdict"] != "PASS":
                raise SweepFailed(sweep)
            return
        if result.inconclusive and inconclusive_of(self.config) == "skip":
            pytest.skip(f"inconclusive: {result.failure_text()}")
        if not result.passed:
            raise SLOViolation(result)

    def _sweep(self, source: ScenarioSource) -> tuple[dict[str, Any], Result]:
        """Sweep the scenario's seeds; return the sweep and one representative run to report."""
        from harness.engines.runner import run

        engine = engine_of(self.config) or "direct"
        self.sweep_report = sweep = run_sweep(self.config, self.scenario, source, engine)
        seed = representative_seed(sweep)
        return sweep, run(self.scenario, seed=seed, engine=engine, source=source)

    def _transition(
        self, upstream: str, at_ns: int, source: BreakerState, target: BreakerState
    ) -> None:
        self.ihook.pytest_slo_breaker_transition(
            item=self, upstream=upstream, at_ns=at_ns, source=source, target=target
        )

    def relative_path(self) -> str:
        """Return the scenario file's path relative to the rootdir (absolute if outside)."""
        return relative_path(self.path, self.config)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        from harness.errors import HarnessError, SLOViolation

        if isinstance(excinfo.value, SLOViolation | SweepFailed):
            return str(excinfo.value)
        if isinstance(excinfo.value, HarnessError):
            return f"{type(excinfo.value).__name__}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario: {self.name}"

    def hand_over(self, report: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
        """Put what the session's reports need on ``report``, then forget it here."""
        from harness.errors import SLOViolation

        # Without the digest reports need (its making failed), the error below stands alone.
        wanted = self.report_digest is not None or reports_dir(self.config) is None
        if call.when == "call" and self.result is not None and wanted:
            setattr(report, RESULT_ATTRIBUTE, self.result.to_dict())
            if self.report_digest is not None:
                from harness.report.digest import digest_to_json

                # A worker's report crosses to the controller as JSON-like data.
                worker = hasattr(self.config, "workerinput")
                shipped = digest_to_json(self.report_digest) if worker else self.report_digest
                setattr(report, DIGEST_ATTRIBUTE, shipped)
        if call.when == "call" and self.sweep_report is not None:
            setattr(report, SWEEP_ATTRIBUTE, self.sweep_report)
        if call.when == "call":
            self.result = self.report_digest = self.sweep_report = None
        judged = (SLOViolation, SweepFailed)
        if report.failed and not (call.excinfo and isinstance(call.excinfo.value, judged)):
            failure = error_text(call.excinfo.value) if call.excinfo else report.longreprtext
            error = {"file": self.relative_path(), "name": self.name, "stage": call.when}
            setattr(report, ERROR_ATTRIBUTE, {**error, "error": failure})


def relative_path(path: Path, config: pytest.Config) -> str:
    """Return ``path`` relative to the rootdir, as reports name files (absolute if outside)."""
    try:
        return path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return str(path)


def _junit_properties(result: Result) -> list[tuple[str, object]]:
    from harness.verdicts.checks import scenario_checks, stable_names

    properties: list[tuple[str, object]] = [
        ("seed", result.seed),
        ("scenario_sha256", result.source.sha256),
    ]
    every = scenario_checks(result.to_dict(run_info=False))
    for name, check in zip(stable_names(every), every, strict=True):
        if check.kind == "objective":  # named without the threshold: history survives a change
            text = f"{check.verdict} {check.text} observed={check.observed_text} n={check.samples}"
            properties.append((name, text))
    return properties
