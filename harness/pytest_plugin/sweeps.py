"""Scenario items as seed sweeps under pytest (``--slo-seeds 1..50``).

With ``--slo-seeds`` (ini ``slo_seeds``), each scenario item runs the scenario over every seed
of the range (harness.explore.sweep, on ``--slo-workers`` processes, default 1: in the test's
own process, which is what pytest-xdist expects of a worker). The item fails when a
``--slo-require`` (ini ``slo_require``, one a line) is not met or, without requirements, when
any seed failed; the failure lists each check's pass probability with its interval and the
failing seeds' replay commands, without traceback.

Reports: the sweeps' JSON goes to ``slo-sweeps.json`` in the ``--slo-reports`` folder (and
beside ``--slo-json``); the usual reports hold one representative run per scenario: its first
failing seed, else its first seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.explore.sweep import Requirement
    from harness.format.scenario import Scenario
    from harness.verdicts.result import ScenarioSource

__all__ = [
    "SWEEP_ATTRIBUTE",
    "SweepFailed",
    "requirements_of",
    "run_sweep",
    "seeds_of",
    "sweep_failure_text",
    "workers_of",
]

from harness.pytest_plugin.session_reports import SWEEP_ATTRIBUTE


class SweepFailed(Exception):
    """A scenario's sweep did not meet its requirements (or a seed failed, without any)."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__(sweep_failure_text(report))
        self.report = report


def seeds_of(config: pytest.Config) -> range | None:
    """Return the ``--slo-seeds`` range (or the ``slo_seeds`` ini value), None when unset."""
    from harness.explore.sweep import parse_seed_range

    value = config.getoption("slo_seeds") or str(config.getini("slo_seeds")).strip()
    if not value:
        return None
    try:
        return parse_seed_range(value)
    except ValueError as error:
        raise pytest.UsageError(f"--slo-seeds: {error}") from None


def requirements_of(config: pytest.Config) -> tuple[Requirement, ...]:
    """Return the ``--slo-require`` requirements (or the ``slo_require`` ini lines)."""
    from harness.explore.sweep import parse_requirement

    texts = config.getoption("slo_require") or config.getini("slo_require")
    if texts and seeds_of(config) is None:
        raise pytest.UsageError("--slo-require needs --slo-seeds (a sweep to judge)")
    try:
        return tuple(parse_requirement(text) for text in texts)
    except ValueError as error:
        raise pytest.UsageError(f"--slo-require: {error}") from None


def workers_of(config: pytest.Config) -> int:
    """Return ``--slo-workers`` (default 1: each sweep runs in its test's process)."""
    value = config.getoption("slo_workers") or str(config.getini("slo_workers")).strip() or "1"
    if not value.isdigit() or not 1 <= int(value) <= 1024:
        raise pytest.UsageError(f"--slo-workers: expected a whole number from 1 to 1024: {value!r}")
    return int(value)


def run_sweep(
    config: pytest.Config, scenario: Scenario, source: ScenarioSource, engine: str | None
) -> dict[str, Any]:
    """Sweep ``scenario`` over the session's seeds; return the sweep's JSON form.

    Raises HarnessError (shown without traceback) for a requirement the scenario cannot take.
    """
    from harness.explore.executors import executor_for
    from harness.explore.sweep import SweepPlan, sweep

    seeds = seeds_of(config)
    assert seeds is not None  # only called when sweeping
    workers = workers_of(config)
    # Direct unless asked otherwise, as `python -m harness sweep` does: both engines give the
    # same Result, and a sweep is many runs.
    plan = SweepPlan(scenario, seeds, engine or "direct", source, requirements_of(config))
    with executor_for(workers) as executor:
        return sweep(plan, executor, workers)


def representative_seed(report: dict[str, Any]) -> int:
    """The seed whose run stands for the sweep in the usual reports: first failing, else first."""
    failing = report["failing_runs"]
    return int(failing[0]["seed"]) if failing else int(report["seeds"]["first"])


def sweep_failure_text(report: dict[str, Any]) -> str:
    """Return a failed sweep as the test failure shows it: the table, then the failing seeds."""
    from harness.explore.commands import sweep_text

    return "sweep " + sweep_text(report).rstrip("\n")
