"""The pytest plugin: scenario files as tests, fixtures and markers for tests written by hand.

- Every ``.yaml``/``.yml`` file below a folder named in the ``slo_scenario_dirs`` ini option
  (default ``scenarios``) inside the rootdir, or named on the command line, is collected as one
  test item. An invalid file is an error at setup showing file:line:col (its first problem in
  pytest's short summary), so every other scenario still runs; a broken objective is a test
  failure listing every objective with observed value, threshold and sample count, without
  traceback.
- ``--slo-seed N`` runs every scenario with seed N; ``--slo-json PATH`` writes every result to
  one JSON file at the end of the session (also under pytest-xdist: workers send their results
  to the controller with their reports); ``--slo-reports DIR`` writes every report there
  (JUnit, HTML, JSON, OpenMetrics, the monitor's CSV and JSON files: see harness.report.bundle).
  Scenarios that failed to load or crashed are in them as errors, so they fail the verdict;
  both are rewritten at every session's end, and checked for writability when it starts
  (see harness.pytest_plugin.session_reports).
- ``--slo-seeds FIRST..LAST`` (with ``--slo-require`` and ``--slo-workers``) runs every scenario
  as a seed sweep (see harness.pytest_plugin.sweeps).
- Hook ``pytest_slo_breaker_transition`` (see harness.pytest_plugin.hookspecs): told of every
  breaker transition as it happens in a scenario's run.
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
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.options import parse_seed
from harness.pytest_plugin.collection import (
    INCONCLUSIVE_CHOICES,
    InvalidScenarioItem,
    ScenarioFile,
    ScenarioItem,
    engine_of,
    inconclusive_of,
    relative_path,
    seed_of,
    until_decided_of,
)
from harness.pytest_plugin.session_reports import ERROR_ATTRIBUTE, SessionReports
from harness.pytest_plugin.sweeps import requirements_of, seeds_of, workers_of

if TYPE_CHECKING:
    from harness.format.scenario import Scenario
    from harness.upstreams.mocked import MockedUpstreams
    from harness.verdicts.result import Result

__all__ = ["ScenarioFile", "ScenarioItem"]  # the collection types, for type hints in hooks


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from harness.pytest_plugin import hookspecs

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
    group.addoption(
        "--slo-inconclusive",
        choices=INCONCLUSIVE_CHOICES,
        default=None,
        help="what a scenario whose confidence objectives are inconclusive (and none failed) "
        "is: a failure (default) or a skip with the reason (ini: slo_inconclusive)",
    )
    group.addoption(
        "--slo-until-decided",
        nargs="?",
        const="16",
        default=None,
        metavar="MAX_FACTOR",
        help="while an objective with a confidence level is inconclusive, rerun its scenario "
        "with the duration doubled, up to MAX_FACTOR times it (default 16; ini: "
        "slo_until_decided)",
    )
    group.addoption(
        "--slo-seeds",
        default=None,
        metavar="FIRST..LAST",
        help="run every scenario as a sweep over these seeds: it fails when a --slo-require "
        "is not met or, without one, when any seed fails (ini: slo_seeds)",
    )
    group.addoption(
        "--slo-require",
        action="append",
        default=[],
        metavar="REQUIREMENT",
        help="with --slo-seeds: a share of runs a check must pass in, e.g. "
        "'vertex: p95 < 500ms in 99%%' or '95%%' (the whole scenario); repeatable "
        "(ini: slo_require, one a line)",
    )
    group.addoption(
        "--slo-workers",
        default=None,
        metavar="N",
        help="with --slo-seeds: run each sweep's seeds on N processes (default 1; ini: "
        "slo_workers)",
    )
    parser.addini("slo_seeds", "default for --slo-seeds", default="")
    parser.addini("slo_require", "default for --slo-require", type="linelist", default=[])
    parser.addini("slo_workers", "default for --slo-workers", default="")
    parser.addini("slo_until_decided", "default for --slo-until-decided", default="")
    parser.addini("slo_seed", "default for --slo-seed", default="")
    parser.addini("slo_inconclusive", "default for --slo-inconclusive", default="")
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
        seed_of(config)
        engine_of(config)
        inconclusive_of(config)
        until_decided_of(config)
        seeds_of(config)
        requirements_of(config)
        workers_of(config)
        config.pluginmanager.register(SessionReports(config), "slo-harness-results")
    if config.pluginmanager.hasplugin("asyncio"):
        config.pluginmanager.register(_VirtualTimeLoops(), "slo-harness-virtual-time")


def _seed_option(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as error:  # argparse turns this into a usage error naming the option
        raise argparse.ArgumentTypeError(str(error)) from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from harness.engines.until_decided import asks_confidence

    scenarios = [item.scenario for item in items if isinstance(item, ScenarioItem)]
    if until_decided_of(config) and scenarios and not any(map(asks_confidence, scenarios)):
        raise pytest.UsageError(
            "--slo-until-decided needs an objective with a confidence level (like "
            "'p95 < 500ms @ 95%'); none of the collected scenarios has one"
        )


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, ScenarioItem | InvalidScenarioItem):
        item.hand_over(report, call)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if isinstance(collector, ScenarioFile) and report.failed:
        file = relative_path(collector.path, collector.config)
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
            from harness.upstreams.guard import NetworkGuard

            # No request leaves the machine while the test runs: a real transport would wait
            # real time for DNS and sockets, which a virtual-time loop cannot mix with.
            guard = NetworkGuard().__enter__()
            loop = VirtualEventLoop(wall_clock=wall_clock)
            close = loop.close

            def close_and_unguard() -> None:
                close()
                guard.__exit__(None, None, None)

            loop.close = close_and_unguard  # type: ignore[method-assign]
            return loop

        return {"virtual_time": virtual_loop}


@pytest.fixture
def slo_run(request: pytest.FixtureRequest) -> Callable[..., Result]:
    """Return ``run(scenario_or_path, seed=None, **overrides) -> Result`` for tests by hand.

    ``overrides`` are dotted paths into the scenario, e.g.
    ``slo_run("scenarios/vertex-flaky.yaml", **{"upstreams.vertex.failure_rate": "50%"})``.
    ``client=fn`` runs your code as every upstream's traffic (see ``harness.run``).
    """
    from harness.engines.runner import run
    from harness.format.loader import check_lines, file_sha256, load_scenario
    from harness.format.scenario import Scenario
    from harness.verdicts.result import ScenarioSource

    def run_scenario(
        scenario: Scenario | str | Path,
        seed: int | None = None,
        *,
        client: Any = None,
        **overrides: Any,
    ) -> Result:
        source = None
        if not isinstance(scenario, Scenario):
            path = Path(scenario)
            if not path.is_absolute():
                path = request.config.rootpath / path
            source = ScenarioSource(str(path), file_sha256(path), check_lines(path))
            scenario = load_scenario(path)
        if overrides:
            scenario = scenario.override(overrides)
        return run(scenario, seed=seed, source=source, client=client)

    return run_scenario


@pytest.fixture
def mock_upstreams(request: pytest.FixtureRequest) -> Callable[..., MockedUpstreams]:
    """Return ``mock(scenario_or_path, seed=None) -> MockedUpstreams`` for your own client.

    Call it inside a ``virtual_time`` test: the mocks answer on the running loop's clock. Pass
    ``mocks.transport`` to your ``httpx.AsyncClient`` (or use ``with mocks.router:`` to mock every
    httpx client in the block) and ``mocks.httpx2_transport`` to an ``httpx2.AsyncClient``.
    """
    from harness.clock import running_clock
    from harness.format.loader import load_scenario
    from harness.format.scenario import Scenario
    from harness.upstreams.mocked import MockedUpstreams

    def mock(scenario: Scenario | str | Path, seed: int | None = None) -> MockedUpstreams:
        if not isinstance(scenario, Scenario):
            path = Path(scenario)
            scenario = load_scenario(path if path.is_absolute() else request.config.rootpath / path)
        chosen = scenario.seed if seed is None else seed
        return MockedUpstreams(scenario, chosen, running_clock(), keep_calls=True)

    return mock


@pytest.fixture
def slo_search(request: pytest.FixtureRequest) -> Callable[..., Scenario | None]:
    """Return ``search(scenario_or_path, vary, *, seed=None, engine="direct",
    max_examples=100, budget_s=60.0, search_seed=0) -> Scenario | None``: the mildest scenario
    whose run fails a check, with the ``vary`` values, seed and engine fixed in it, or None.

    ``vary`` maps dotted paths to a range ``"FIRST..LAST"`` (mild end first) or a hypothesis
    strategy, e.g. from :mod:`harness.strategies`::

        found = slo_search("scenarios/api.yaml",
                           vary={"upstreams.api.failure_rate": "0%..100%"})
        assert found is None, found.upstreams["api"].failure_rate

    See harness.explore.find.
    """
    from harness.explore.find import find_breaking
    from harness.format.loader import load_scenario
    from harness.format.scenario import Scenario

    def search(scenario: Scenario | str | Path, vary: Mapping[str, Any], **options: Any) -> Any:
        if not isinstance(scenario, Scenario):
            path = Path(scenario)
            scenario = load_scenario(path if path.is_absolute() else request.config.rootpath / path)
        return find_breaking(scenario, vary, **options)

    return search
