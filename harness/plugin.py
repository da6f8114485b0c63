"""The pytest plugin: scenario files as tests, fixtures and markers for tests written by hand.

- Every ``.yaml``/``.yml`` file below a folder named in the ``slo_scenario_dirs`` ini option
  (default ``scenarios``), or named on the command line, is collected as one test item. An
  invalid file is a collection error showing file:line:col; a broken objective is a test failure
  listing every objective with observed value, threshold and sample count, without traceback.
- ``--slo-seed N`` runs every scenario with seed N; ``--slo-json PATH`` writes every result to
  one JSON file at the end of the session (also under pytest-xdist: workers send their results
  to the controller with their reports); ``--slo-reports DIR`` writes every report there
  (JUnit, HTML, JSON, OpenMetrics, the monitor's CSV and JSON files: see harness.report.bundle).
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

import asyncio
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.events import BreakerState
    from harness.report.bundle import Written
    from harness.result import Result
    from harness.scenario import Scenario
    from harness.upstreams import MockedUpstreams

__all__ = ["ScenarioFile", "ScenarioItem"]

_REPORT_ATTRIBUTE = "harness_result"  # not "result": pytest drops that one when serialising
_DIGEST_ATTRIBUTE = "harness_report_digest"  # what reports need beyond the result's JSON


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from harness import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slo-harness", "chaos scenarios and SLOs (slo-harness)")
    group.addoption(
        "--slo-seed",
        type=int,
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
        _reports_dir(config)  # a usage error shows before anything runs
        config.pluginmanager.register(_Results(config), "slo-harness-results")
    if config.pluginmanager.hasplugin("asyncio"):
        config.pluginmanager.register(_VirtualTimeLoops(), "slo-harness-virtual-time")


def _reports_dir(config: pytest.Config) -> Path | None:
    value = config.getoption("slo_reports") or str(config.getini("slo_reports"))
    if not value:
        return None
    folder = Path(value)
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath and Path(xmlpath).resolve() == (folder / "junit.xml").resolve():
        raise pytest.UsageError(
            f"--junitxml={xmlpath} and --slo-reports={value} would both write {xmlpath}; "
            "--slo-reports writes a JUnit file with a testcase per objective, so drop --junitxml"
        )
    return folder


def _json_path(config: pytest.Config) -> str | None:
    value = config.getoption("slo_json") or str(config.getini("slo_json"))
    return value or None


def _seed(config: pytest.Config) -> int | None:
    value = config.getoption("slo_seed")
    if value is not None:
        return int(value)
    ini = str(config.getini("slo_seed")).strip()
    if not ini:
        return None
    try:
        return int(ini)
    except ValueError:
        raise pytest.UsageError(f"slo_seed: expected a whole number, got {ini!r}") from None


def _engine(config: pytest.Config) -> str | None:
    value = config.getoption("slo_engine") or str(config.getini("slo_engine")).strip()
    if value and value not in ("http", "direct"):
        raise pytest.UsageError(f"slo_engine: expected 'http' or 'direct', got {value!r}")
    return value or None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    folders = set(parent.config.getini("slo_scenario_dirs"))
    in_scenario_dir = any(part in folders for part in file_path.parent.parts)
    if in_scenario_dir or parent.session.isinitpath(file_path):
        file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
        return file
    return None


class ScenarioFile(pytest.File):
    """A scenario YAML file; it collects into one test item."""

    def collect(self) -> Iterator[ScenarioItem]:
        from harness.loader import load_scenario

        scenario = load_scenario(self.path)
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | Any:
        from harness.errors import ScenarioError

        if isinstance(excinfo.value, ScenarioError):
            return f"invalid scenario\n{excinfo.value}"
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    """One scenario run: passes when every objective holds."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: Result | None = None
        self.report_digest: dict[str, Any] | None = None

    def runtest(self) -> None:
        from harness.errors import SLOViolation
        from harness.loader import file_sha256
        from harness.result import ScenarioSource
        from harness.runner import run

        source = ScenarioSource(self._relative_path(), file_sha256(self.path))
        self.result = run(
            self.scenario,
            seed=_seed(self.config),
            engine=_engine(self.config),
            source=source,
            on_transition=self._transition,
        )
        if _reports_dir(self.config) is not None:  # also set on xdist workers
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

    def _relative_path(self) -> str:
        try:
            return self.path.relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return str(self.path)

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


def _junit_properties(result: Result) -> list[tuple[str, object]]:
    properties: list[tuple[str, object]] = [
        ("seed", result.seed),
        ("scenario_sha256", result.source.sha256),
    ]
    for name, verdict in result.verdicts:
        status = "PASS" if verdict.passed else "FAIL"
        properties.append(
            (
                f"{name}: {verdict.objective.text}",
                f"{status} observed={verdict.observed_text} n={verdict.samples}",
            )
        )
    return properties


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, ScenarioItem) and call.when == "call" and item.result is not None:
        setattr(report, _REPORT_ATTRIBUTE, item.result.to_dict())
        setattr(report, _DIGEST_ATTRIBUTE, item.report_digest)
    return report


class _Results:
    """Gather scenario results from reports (local or from xdist workers); write them once."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: list[dict[str, Any]] = []
        self.digests: list[dict[str, Any]] = []
        self.written: Written | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = getattr(report, _REPORT_ATTRIBUTE, None)
        if entry is not None:
            self.entries.append(entry)
            self.digests.append(getattr(report, _DIGEST_ATTRIBUTE, None) or {})

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = _json_path(self.config)
        if path and self.entries:
            from harness.report import write_results

            write_results(Path(path), self.entries)
        folder = _reports_dir(self.config)
        if folder is not None and self.entries:
            from harness.report.bundle import write_reports

            self.written = write_reports(folder, zip(self.entries, self.digests, strict=True))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.entries:
            return
        from harness.report import summary_table

        terminalreporter.write_sep("=", "SLO summary")
        ordered = sorted(self.entries, key=lambda entry: str(entry["scenario"]["file"]))
        terminalreporter.write_line(summary_table(ordered))
        path = _json_path(self.config)
        if path:
            terminalreporter.write_line(f"results written to {path}")
        if self.written is not None:
            from harness.report.text import written_lines

            for line in written_lines(self.written):
                terminalreporter.write_line(line)


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
