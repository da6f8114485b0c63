"""The pytest plugin: scenario files as tests, fixtures and markers for tests written by hand.

- Every ``.yaml``/``.yml`` file below a folder named in the ``slo_scenario_dirs`` ini option
  (default ``scenarios``) inside the rootdir, or named on the command line, is collected as one
  test item. An invalid file is a collection error showing file:line:col (its first problem in
  pytest's short summary); a broken objective is a test failure listing every objective with
  observed value, threshold and sample count, without traceback.
- ``--slo-seed N`` runs every scenario with seed N; ``--slo-json PATH`` writes every result to
  one JSON file at the end of the session (also under pytest-xdist: workers send their results
  to the controller with their reports); ``--slo-reports DIR`` writes every report there
  (JUnit, HTML, JSON, OpenMetrics, the monitor's CSV and JSON files: see harness.report.bundle).
  Scenarios that failed to load or crashed are in them as errors, so they fail the verdict;
  both are rewritten at every session's end, and checked for writability when it starts
  (see harness.plugin_reports).
- Hook ``pytest_slo_breaker_transition`` (see harness.hookspecs): told of every breaker
  transition as it happens in a scenario's run.
- Fixtures: ``slo_run`` (run a scenario, get its Result) and ``mock_upstreams`` (a scenario's
  mocked upstreams for your own httpx client); ``harness.running_clock()`` inside a test.
- Marker ``virtual_time``: a pytest-asyncio test marked with it runs on a
  :class:`~harness.clock.VirtualEventLoop`, so ``await asyncio.sleep(3600)`` returns at once;
  ``virtual_time(wall_clock=True)`` also makes ``time.*`` and ``datetime.now`` follow the clock.

Heavy modules (httpx, numpy, pydantic) are imported only when a scenario or fixture is used, so
the plugin costs nothing in test sessions that do not use it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.options import parse_seed
from harness.plugin_reports import (
    DIGEST_ATTRIBUTE,
    ERROR_ATTRIBUTE,
    RESULT_ATTRIBUTE,
    InvalidScenarioRepr,
    SessionReports,
    error_text,
    reports_dir,
)

if TYPE_CHECKING:
    from harness.events import BreakerState
    from harness.result import Result
    from harness.scenario import Scenario
    from harness.upstreams import MockedUpstreams

__all__ = ["ScenarioFile", "ScenarioItem"]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from harness import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slo-harness", "chaos scenarios and SLOs (slo-harness)")
    group.addoption(
        "--slo-seed",
        type=_seed_option,
        default=None,
        metavar="N",
        help="run every scenario with seed N instead of its own (ini: slo_seed)",
    )
    group.addoption(
        "--slo-json",
        default=None,
        metavar="PATH",
        help="write every scenario's result to PATH as JSON (ini: slo_json)",
    )
    group.addoption(
        "--slo-engine",
        choices=("http", "direct"),
        default=None,
        help="run every scenario on this engine instead of its own (ini: slo_engine)",
    )
    group.addoption(
        "--slo-reports",
        default=None,
        metavar="DIR",
        help="write JUnit, HTML, JSON, OpenMetrics and CSV reports into DIR (ini: slo_reports)",
    )
    parser.addini("slo_seed", "default for --slo-seed", default="")
    parser.addini("slo_reports", "default for --slo-reports", default="")
    parser.addini("slo_engine", "default for --slo-engine", default="")
    parser.addini("slo_json", "default for --slo-json", default="")
    parser.addini(
        "slo_scenario_dirs",
        "folder names whose YAML files are scenarios",
        type="linelist",
        default=["scenarios"],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "virtual_time(wall_clock=False): run this pytest-asyncio test on the harness's "
        "virtual-time event loop; wall_clock=True also makes time.* and datetime.now follow it",
    )
    if not hasattr(config, "workerinput"):  # under xdist, only the controller gathers
        # Usage errors show before anything runs: a bad seed, engine or output path.
        _seed(config)
        _engine(config)
        config.pluginmanager.register(SessionReports(config), "slo-harness-results")
    if config.pluginmanager.hasplugin("asyncio"):
        config.pluginmanager.register(_VirtualTimeLoops(), "slo-harness-virtual-time")


def _seed_option(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as error:  # argparse turns this into a usage error naming the option
        raise argparse.ArgumentTypeError(str(error)) from None


def _seed(config: pytest.Config) -> int | None:
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


def _engine(config: pytest.Config) -> str | None:
    value = config.getoption("slo_engine") or str(config.getini("slo_engine")).strip()
    if value and value not in ("http", "direct"):
        raise pytest.UsageError(f"slo_engine: expected 'http' or 'direct', got {value!r}")
    return value or None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    config = parent.config
    if _in_scenario_dir(file_path, config) or parent.session.isinitpath(file_path):
        file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
        return file
    return None


def _in_scenario_dir(file_path: Path, config: pytest.Config) -> bool:
    """Return whether a folder between the rootdir and ``file_path`` is a scenario folder.

    Only folders inside the rootdir count: a project checked out below some ``scenarios/``
    folder must not have its ``docker-compose.yml`` collected.
    """
    try:
        inside = file_path.parent.relative_to(config.rootpath).parts
    except ValueError:
        return False
    return not set(config.getini("slo_scenario_dirs")).isdisjoint(inside)


class ScenarioFile(pytest.File):
    """A scenario YAML file; it collects into one test item."""

    error: str | None = None  # why it could not be collected, as every report says it

    def collect(self) -> Iterator[ScenarioItem]:
        from harness.loader import load_scenario

        scenario = load_scenario(self.path)
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | Any:
        from harness.errors import ScenarioError

        self.error = error_text(excinfo.value)
        if isinstance(excinfo.value, ScenarioError):
            return InvalidScenarioRepr(self.path, excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    """One scenario run: passes when every objective holds."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        # The run's result and report digest, until its test report carries them away: a
        # Result holds every sample, so it must not live as long as the session.
        self.result: Result | None = None
        self.report_digest: dict[str, Any] | None = None

    def runtest(self) -> None:
        from harness.errors import SLOViolation
        from harness.loader import file_sha256
        from harness.result import ScenarioSource
        from harness.runner import run

        source = ScenarioSource(self.relative_path(), file_sha256(self.path))
        self.result = run(
            self.scenario,
            seed=_seed(self.config),
            engine=_engine(self.config),
            source=source,
            on_transition=self._transition,
        )
        if reports_dir(self.config) is not None:  # also set on xdist workers
            from harness.report.digest import digest

            self.report_digest = digest(self.result)
        self.user_properties.extend(_junit_properties(self.result))
        if not self.result.passed:
            raise SLOViolation(self.result)

    def _transition(
        self, upstream: str, at_ns: int, source: BreakerState, target: BreakerState
    ) -> None:
        self.ihook.pytest_slo_breaker_transition(
            item=self, upstream=upstream, at_ns=at_ns, source=source, target=target
        )

    def relative_path(self) -> str:
        """Return the scenario file's path relative to the rootdir (absolute if outside)."""
        return _relative(self.path, self.config)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        from harness.errors import HarnessError, SLOViolation

        if isinstance(excinfo.value, SLOViolation):
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
        if call.when == "call":
            self.result = self.report_digest = None
        if report.failed and not (call.excinfo and isinstance(call.excinfo.value, SLOViolation)):
            failure = error_text(call.excinfo.value) if call.excinfo else report.longreprtext
            error = {"file": self.relative_path(), "name": self.name, "stage": call.when}
            setattr(report, ERROR_ATTRIBUTE, {**error, "error": failure})


def _relative(path: Path, config: pytest.Config) -> str:
    """Return ``path`` relative to the rootdir, as reports name files (absolute if outside)."""
    try:
        return path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return str(path)


def _junit_properties(result: Result) -> list[tuple[str, object]]:
    from harness.report.checks import scenario_checks

    properties: list[tuple[str, object]] = [
        ("seed", result.seed),
        ("scenario_sha256", result.source.sha256),
    ]
    for check in scenario_checks(result.to_dict(run_info=False)):
        if check.kind == "objective":
            text = f"{check.verdict} observed={check.observed_text} n={check.samples}"
            properties.append((check.name, text))
    return properties


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, ScenarioItem):
        item.hand_over(report, call)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if isinstance(collector, ScenarioFile) and report.failed:
        file = _relative(collector.path, collector.config)
        error = {"file": file, "name": None, "stage": "collection"}
        setattr(report, ERROR_ATTRIBUTE, {**error, "error": collector.error or report.longreprtext})
    return report


class _VirtualTimeLoops:
    """Give tests marked ``virtual_time`` a virtual-time loop (via pytest-asyncio's hook)."""

    @pytest.hookimpl(trylast=True)
    def pytest_asyncio_loop_factories(
        self, config: pytest.Config, item: pytest.Item
    ) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
        marker = item.get_closest_marker("virtual_time")
        if marker is None:
            # pytest-asyncio asks every implementation for a mapping; for other tests, keep
            # whatever loop the active policy makes, as if this plugin were not installed.
            return {"asyncio": lambda: asyncio.get_event_loop_policy().new_event_loop()}
        wall_clock = bool(marker.kwargs.get("wall_clock", False))

        def virtual_loop() -> asyncio.AbstractEventLoop:
            from harness.clock import VirtualEventLoop

            return VirtualEventLoop(wall_clock=wall_clock)

        return {"virtual_time": virtual_loop}


@pytest.fixture
def slo_run(request: pytest.FixtureRequest) -> Callable[..., Result]:
    """Return ``run(scenario_or_path, seed=None, **overrides) -> Result`` for tests by hand.

    ``overrides`` are dotted paths into the scenario, e.g.
    ``slo_run("scenarios/vertex-flaky.yaml", **{"upstreams.vertex.failure_rate": "50%"})``.
    """
    from harness.loader import file_sha256, load_scenario
    from harness.result import ScenarioSource
    from harness.runner import run
    from harness.scenario import Scenario

    def run_scenario(
        scenario: Scenario | str | Path, seed: int | None = None, **overrides: Any
    ) -> Result:
        source = None
        if not isinstance(scenario, Scenario):
            path = Path(scenario)
            if not path.is_absolute():
                path = request.config.rootpath / path
            source = ScenarioSource(str(path), file_sha256(path))
            scenario = load_scenario(path)
        if overrides:
            scenario = scenario.override(overrides)
        return run(scenario, seed=seed, source=source)

    return run_scenario


@pytest.fixture
def mock_upstreams(request: pytest.FixtureRequest) -> Callable[..., MockedUpstreams]:
    """Return ``mock(scenario_or_path, seed=None) -> MockedUpstreams`` for your own client.

    Call it inside a ``virtual_time`` test: the mocks answer on the running loop's clock. Pass
    ``mocks.transport`` to your ``httpx.AsyncClient``, or use ``with mocks.router:`` to mock every
    httpx client in the block.
    """
    from harness.clock import running_clock
    from harness.loader import load_scenario
    from harness.scenario import Scenario
    from harness.upstreams import MockedUpstreams

    def mock(scenario: Scenario | str | Path, seed: int | None = None) -> MockedUpstreams:
        if not isinstance(scenario, Scenario):
            path = Path(scenario)
            scenario = load_scenario(path if path.is_absolute() else request.config.rootpath / path)
        chosen = scenario.seed if seed is None else seed
        return MockedUpstreams(scenario, chosen, running_clock(), keep_calls=True)

    return mock
