"""slo-harness: declarative chaos scenarios and SLO verification for circuit breakers, run in
virtual time.

The public API is exactly ``__all__``; every other module may change.
"""

from __future__ import annotations

from harness.errors import HarnessError, Problem, ScenarioError
from harness.scenario import Scenario, json_schema, load_scenario, parse_scenario
from harness.slo import Objective, parse_objective

__version__ = "0.1.0"

__all__ = [
    "HarnessError",
    "Objective",
    "Problem",
    "Scenario",
    "ScenarioError",
    "__version__",
    "json_schema",
    "load_scenario",
    "parse_objective",
    "parse_scenario",
]
