"""Run one scenario end to end and return its :class:`~harness.verdicts.result.Result`.

The traffic runs on one of the engines of :mod:`harness.engines` (``http`` by default, or as the
scenario or the caller chooses); the engine's columnar logs are then turned into statistics,
breaker summaries and verdicts. Everything in the Result is a pure function of (scenario, seed,
engine) except ``run_info``.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime

from harness.breakers.adapters import Guard, reads_wall_clock
from harness.clock import VirtualClock, WallClockPatch
from harness.engines import ENGINES, TransitionHook, run_engine
from harness.errors import HarnessError
from harness.format.scenario import Scenario
from harness.verdicts.expectation_checks import check_expectations
from harness.verdicts.metrics import SampleLog, View, breaker_summary, view_stats
from harness.verdicts.objectives import evaluate
from harness.verdicts.result import Result, RunInfo, ScenarioSource, UpstreamResult
from harness.verdicts.timeseries import timeseries
from harness.version import __version__

__all__ = ["ProgressHook", "TransitionHook", "run"]

ProgressHook = Callable[[int], None]
"""Called as ``hook(now_ns)`` as virtual time moves on (see :func:`run`)."""

_REAL_CLOCK = time.perf_counter  # bound now: freezegun may patch time.* during a run


def run(
    scenario: Scenario,
    *,
    seed: int | None = None,
    engine: str | None = None,
    source: ScenarioSource | None = None,
    on_transition: TransitionHook | None = None,
    on_progress: ProgressHook | None = None,
) -> Result:
    """Run ``scenario`` and return its Result.

    ``seed`` and ``engine`` ("http" or "direct") override the scenario's own. ``on_transition``
    is called as ``on_transition(upstream, at_ns, source, target)`` on every breaker transition,
    as it happens; ``on_progress(now_ns)`` each time virtual time passes another 1% of the
    scenario's duration.
    """
    seed = scenario.seed if seed is None else _checked_seed(seed)
    engine = scenario.engine if engine is None else _checked_engine(engine)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    began = _REAL_CLOCK()
    clock = VirtualClock()
    if on_progress is not None:
        clock.add_listener(_every_percent(scenario.duration, on_progress))
    with _wall_clock(scenario, clock):
        output = run_engine(engine, scenario, seed, clock, on_transition)
    run_info = RunInfo(
        wall_time_s=_REAL_CLOCK() - began,
        started_at=started_at,
        python=sys.version.split()[0],
        platform=platform.platform(),
        harness_version=__version__,
    )
    upstreams = {
        name: _upstream_result(
            name,
            scenario,
            output.logs[name],
            output.guards[name],
            output.end_ns,
            output.reached[name],
        )
        for name in scenario.upstreams
    }
    return Result(
        scenario=scenario,
        seed=seed,
        engine=engine,
        end_ns=output.end_ns,
        upstreams=upstreams,
        source=source or ScenarioSource(None, None),
        run_info=run_info,
    )


def _upstream_result(
    name: str, scenario: Scenario, log: SampleLog, guard: Guard, end_ns: int, reached: int
) -> UpstreamResult:
    samples = log.freeze()
    method = scenario.percentile_method
    latency_ms = samples.latency_ns / 1e6  # one array shared by the views and the time series
    objectives = scenario.upstreams[name].slo
    views = {
        view: view_stats(
            samples,
            view,
            method,
            latency_ms,
            [o.quantile for o in objectives if o.view is view and o.quantile is not None],
        )
        for view in View
        # The issued view (shed requests at ~0 ms) only when an objective names it: a pass less.
        if view is not View.ISSUED or any(o.view is view for o in objectives)
    }
    breaker = None
    if guard.impl is not None:
        breaker = breaker_summary(guard.impl, guard.initial_state, samples.transitions, end_ns)
    verdicts = tuple(evaluate(objective, views, breaker) for objective in objectives)
    upstream = scenario.upstreams[name]
    expectations = check_expectations(upstream.expect, samples, breaker, upstream.timeline)
    return UpstreamResult(
        name=name,
        samples=samples,
        views=views,
        breaker=breaker,
        verdicts=verdicts,
        timeseries=timeseries(samples, breaker, end_ns, method, latency_ms=latency_ms),
        reached_upstream=reached,
        expectations=expectations,
    )


def _checked_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise HarnessError(f"seed must be a whole number from 0 to 2**63-1, got {seed!r}")
    return seed


def _checked_engine(engine: object) -> str:
    if engine not in ENGINES:
        raise HarnessError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return str(engine)


def _every_percent(duration_ns: int, hook: ProgressHook) -> Callable[[int], None]:
    """Return a clock listener that calls ``hook`` at most once per 1% of the duration."""
    step = max(1, duration_ns // 100)
    next_call = step

    def listen(now_ns: int) -> None:
        nonlocal next_call
        if now_ns >= next_call:
            next_call = (now_ns // step + 1) * step
            hook(now_ns)

    return listen


def _wall_clock(scenario: Scenario, clock: VirtualClock) -> AbstractContextManager[object]:
    """Make time.*/datetime.now follow ``clock`` for the run if a breaker under test reads them.

    Entered once per run, and only when needed: freezegun costs milliseconds to enter.
    """
    if any(reads_wall_clock(upstream.breaker) for upstream in scenario.upstreams.values()):
        return WallClockPatch(clock)
    return nullcontext()
