"""slo-harness: declarative chaos scenarios and SLO verification for circuit breakers, run in
virtual time.

The public API is exactly ``__all__``; every other module may change.
"""

from __future__ import annotations

from harness.breakers.builtin import (
    AsyncCircuitBreaker,
    BreakerMetrics,
    CallOutcome,
    CircuitBreaker,
    CircuitOpenError,
)
from harness.clock import VirtualClock, VirtualEventLoop, WallClockPatch, running_clock
from harness.engines.runner import run
from harness.engines.service import Fallback, ServiceContext
from harness.errors import HarnessError, Problem, ScenarioError, SLOViolation, VirtualTimeError
from harness.events import BreakerState, Outcome, Transition
from harness.format.loader import json_schema, load_scenario, parse_scenario, scenario_from_data
from harness.format.objectives import Objective, parse_objective
from harness.format.scenario import Scenario
from harness.upstreams.guard import NetworkGuard, UnmockedHostError
from harness.upstreams.mocked import MockedUpstreams, UnmatchedRouteError
from harness.verdicts.metrics import View
from harness.verdicts.objectives import Verdict
from harness.verdicts.result import Result, ScenarioSource, UpstreamResult
from harness.version import __version__

__all__ = [
    "AsyncCircuitBreaker",
    "BreakerMetrics",
    "BreakerState",
    "CallOutcome",
    "CircuitBreaker",
    "CircuitOpenError",
    "Fallback",
    "HarnessError",
    "MockedUpstreams",
    "NetworkGuard",
    "Objective",
    "Outcome",
    "Problem",
    "Result",
    "SLOViolation",
    "Scenario",
    "ScenarioError",
    "ScenarioSource",
    "ServiceContext",
    "Transition",
    "UnmatchedRouteError",
    "UnmockedHostError",
    "UpstreamResult",
    "Verdict",
    "View",
    "VirtualClock",
    "VirtualEventLoop",
    "VirtualTimeError",
    "WallClockPatch",
    "__version__",
    "json_schema",
    "load_scenario",
    "parse_objective",
    "parse_scenario",
    "run",
    "running_clock",
    "scenario_from_data",
]
