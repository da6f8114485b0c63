"""Run one scenario end to end and return its :class:`~harness.verdicts.result.Result`.

The traffic runs on one of the engines of :mod:`harness.engines` (``http`` by default, or as the
scenario or the caller chooses); the engine's columnar logs are then turned into statistics,
breaker summaries and verdicts. Everything in the Result is a pure function of (scenario, seed,
engine) except ``run_info``.
"""

from __future__ import annotations

import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime

import numpy as np

from harness.breakers.adapters import Guard, reads_wall_clock
from harness.clock import VirtualClock, WallClockPatch
from harness.engines import ENGINES, EngineOutput, TransitionHook, run_engine
from harness.engines.service import EntryPoints, ServiceOutput
from harness.errors import HarnessError
from harness.format.error_budget import BUDGET_METRICS
from harness.format.scenario import Scenario
from harness.upstreams.guard import NetworkGuard
from harness.upstreams.streams import stream
from harness.verdicts.budget import evaluate_budget, upstream_budget
from harness.verdicts.expectation_checks import check_expectations
from harness.verdicts.metrics import SampleLog, View, breaker_summary, ttfb_stats, view_stats
from harness.verdicts.objectives import evaluate, route_verdicts
from harness.verdicts.result import Result, RunInfo, ScenarioSource, UpstreamResult
from harness.verdicts.service import (
    SERVICE_METRICS,
    PhaseAmplification,
    ServiceStats,
    evaluate_phase,
    evaluate_service,
    phase_amplification,
)
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
    client: EntryPoints | None = None,
) -> Result:
    """Run ``scenario`` and return its Result.

    ``seed`` and ``engine`` ("http" or "direct") override the scenario's own. ``on_transition``
    is called as ``on_transition(upstream, at_ns, source, target)`` on every breaker transition,
    as it happens; ``on_progress(now_ns)`` each time virtual time passes another 1% of the
    scenario's duration. ``client`` is your code under test: a callable (async or not) every
    upstream's traffic calls instead of the built-in client, or a mapping of upstream name to
    callable; it takes precedence over ``traffic.entry_point`` (see
    :mod:`harness.engines.service`).
    """
    seed = scenario.seed if seed is None else _checked_seed(seed)
    engine = scenario.engine if engine is None else _checked_engine(engine)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    began = _REAL_CLOCK()
    clock = VirtualClock()
    if on_progress is not None:
        clock.add_listener(_every_percent(scenario.duration, on_progress))
    _check_entry_points(scenario, engine, client)
    with _wall_clock(scenario, clock), NetworkGuard(), _seeded_global_random(seed):
        output = run_engine(engine, scenario, seed, clock, on_transition, client)
    run_info = RunInfo(
        wall_time_s=_REAL_CLOCK() - began,
        started_at=started_at,
        python=sys.version.split()[0],
        platform=platform.platform(),
        harness_version=__version__,
    )
    service = _service_stats(scenario, output)
    upstreams = {
        name: _upstream_result(
            name,
            scenario,
            output.logs[name],
            output.guards[name],
            output.end_ns,
            output.reached[name],
            output.attempt_logs.get(name)
            if output.service is None
            else output.service.attempt_logs[name],
            service[name],
            output.routes.get(name),
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
    name: str,
    scenario: Scenario,
    log: SampleLog,
    guard: Guard,
    end_ns: int,
    reached: int,
    attempt_log: SampleLog | None = None,
    service: ServiceStats | None = None,
    routes: dict[str, int] | None = None,
) -> UpstreamResult:
    samples = log.freeze()
    # With entry points, the upstream view is every attempt that reached this upstream, from
    # whichever call made it, rather than the client rows that were sent.
    attempts = None if attempt_log is None else attempt_log.freeze()
    method = scenario.percentile_method
    latency_ms = samples.latency_ns / 1e6  # one array shared by the views and the time series
    objectives = scenario.objectives_of(name)
    views = {
        view: view_stats(
            samples if attempts is None or view is View.CLIENT else attempts,
            view,
            method,
            latency_ms if attempts is None or view is View.CLIENT else None,
            [
                o.quantile
                for o in objectives
                if o.view is view and o.quantile is not None and not o.metric.startswith("ttfb.")
            ],
        )
        for view in View
        # The issued view (shed requests at ~0 ms) only when an objective names it: a pass less.
        if view is not View.ISSUED or any(o.view is view for o in objectives)
    }
    breaker = None
    if guard.impl is not None:
        breaker = breaker_summary(guard.impl, guard.initial_state, samples.transitions, end_ns)
    upstream = scenario.upstreams[name]
    budget = upstream_budget(objectives, samples, upstream.slo_period, upstream.alert_min_requests)
    ttfb = ttfb_stats(samples, method)
    verdicts = tuple(
        evaluate_budget(objective, budget)
        if objective.metric in BUDGET_METRICS
        else evaluate_phase(objective, service)
        if objective.phase is not None
        else evaluate_service(objective, samples, views, service)
        if objective.metric in SERVICE_METRICS
        else evaluate(objective, views, breaker, ttfb)
        for objective in objectives
    )
    if scenario.assert_all_called and routes:
        verdicts += route_verdicts(routes)
    expectations = check_expectations(upstream.expect, samples, breaker, upstream.timeline, budget)
    return UpstreamResult(
        name=name,
        samples=samples,
        views=views,
        breaker=breaker,
        verdicts=verdicts,
        timeseries=timeseries(samples, breaker, end_ns, method, latency_ms=latency_ms),
        reached_upstream=reached,
        expectations=expectations,
        service=service,
        budget=budget,
        ttfb=ttfb,
        routes=routes,
    )


def _service_stats(scenario: Scenario, output: EngineOutput) -> dict[str, ServiceStats | None]:
    """Return each upstream's attempts per request, as a caller and as a callee."""
    service = output.service
    stats: dict[str, ServiceStats | None] = {}
    calls = 0 if service is None else sum(len(output.logs[lane]) for lane in service.attempts)
    for name, upstream in scenario.upstreams.items():
        requests = len(output.logs[name])
        if service is not None and name in service.attempts:
            attempts: dict[str, int] = service.attempts[name]
        elif upstream.traffic is not None:
            # The built-in client sends one attempt per request that passed its breaker.
            attempts = {name: output.reached[name]}
        else:
            attempts = {}
        stats[name] = ServiceStats(
            requests=requests,
            attempts=attempts,
            reached_by_calls=0
            if service is None
            else sum(lane_attempts[name] for lane_attempts in service.attempts.values()),
            calls=calls,
            entry_point=None if service is None else service.entry_points.get(name),
            exceptions={} if service is None else service.exceptions.get(name, {}),
            phases=() if service is None else _phases(scenario, name, output, service),
        )
    return stats


def _phases(
    scenario: Scenario, name: str, output: EngineOutput, service: ServiceOutput
) -> tuple[PhaseAmplification, ...]:
    """Amplification at ``name`` within each of its phases: its attempts per entry-point call."""
    timeline = scenario.upstreams[name].timeline
    if not timeline:
        return ()
    calls = np.concatenate(
        [np.frombuffer(output.logs[lane].start_ns, dtype=np.int64) for lane in service.attempts]
    )
    attempts = np.frombuffer(service.attempt_logs[name].start_ns, dtype=np.int64)
    windows = [(phase.label, start, end) for phase in timeline for start, end in phase.windows]
    return phase_amplification(windows, calls, attempts)


def _checked_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise HarnessError(f"seed must be a whole number from 0 to 2**63-1, got {seed!r}")
    return seed


def _checked_engine(engine: object) -> str:
    if engine not in ENGINES:
        raise HarnessError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return str(engine)


def _check_entry_points(scenario: Scenario, engine: str, client: EntryPoints | None) -> None:
    if (engine != "http" and client is not None) or (
        engine != "http"
        and any(
            upstream.traffic is not None and upstream.traffic.entry_point is not None
            for upstream in scenario.upstreams.values()
        )
    ):
        raise HarnessError(
            f"entry points run on the http engine only, not {engine!r}: "
            "your code needs the HTTP clients the direct engine does without"
        )


@contextmanager
def _seeded_global_random(seed: int) -> Iterator[None]:
    """Seed the global ``random`` module from the run's seed, and restore it afterwards.

    Code under test draws from it (tenacity's and the SDKs' retry jitter), so a run is
    reproducible only if it starts from the same state; restoring keeps the run from
    disturbing the caller's own sequence (as pytest-randomly reseeds per test).
    """
    saved = random.getstate()
    random.seed(stream(seed, "", "global random").getrandbits(64))
    try:
        yield
    finally:
        random.setstate(saved)


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
    """Make time.*/datetime.now follow ``clock`` for the run if a breaker under test reads them,
    or a traffic asks for it (``wall_clock: true``, for an entry point that reads them).

    Entered once per run, and only when needed: freezegun costs milliseconds to enter.
    """
    if any(
        reads_wall_clock(upstream.breaker)
        or (upstream.traffic is not None and upstream.traffic.wall_clock)
        for upstream in scenario.upstreams.values()
    ):
        return WallClockPatch(clock)
    return nullcontext()
