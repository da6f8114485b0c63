"""slo-harness: declarative chaos scenarios and SLO verification for circuit breakers, run in
virtual time.

The public API is exactly ``__all__``; every other module may change.
"""

from __future__ import annotations

from harness.breaker import (
    AsyncCircuitBreaker,
    BreakerMetrics,
    CallOutcome,
    CircuitBreaker,
    CircuitOpenError,
)
from harness.clock import VirtualClock, VirtualEventLoop, WallClockPatch, running_clock
from harness.errors import HarnessError, Problem, ScenarioError, SLOViolation, VirtualTimeError
from harness.events import BreakerState, Outcome, Transition
from harness.loader import json_schema, load_scenario, parse_scenario, scenario_from_data
from harness.metrics import View
from harness.result import Result, ScenarioSource, UpstreamResult
from harness.runner import run
from harness.scenario import Scenario
from harness.slo import Objective, Verdict, parse_objective
from harness.upstreams import MockedUpstreams

__version__ = "0.1.0"

__all__ = [
    "AsyncCircuitBreaker",
    "BreakerMetrics",
    "BreakerState",
    "CallOutcome",
    "CircuitBreaker",
    "CircuitOpenError",
    "HarnessError",
    "MockedUpstreams",
    "Objective",
    "Outcome",
    "Problem",
    "Result",
    "SLOViolation",
    "Scenario",
    "ScenarioError",
    "ScenarioSource",
    "Transition",
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
