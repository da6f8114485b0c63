"""Paths and helpers shared by the tests."""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness import Scenario, parse_scenario
from harness.format.upstream import Upstream

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
DEEP = os.environ.get("SLO_TESTS_DEEP", "") == "1"
# The keys an upstream may have, as error messages list them (sorted, by their YAML names).
UPSTREAM_KEYS = ", ".join(
    sorted(field.alias or name for name, field in Upstream.model_fields.items())
)


@functools.cache
def noxfile() -> ModuleType:
    """The project's noxfile, loaded once (nox warns when a session is registered twice)."""
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The engines a costly per-engine test runs on: both under ``nox -s deep``; on every other run
# the direct engine only, where the engine-equality properties (tests/test_engines.py) already
# hold the HTTP engine to the same Result on the same feature.
ENGINES = ["http", "direct"] if DEEP else ["direct"]


# A costly check that a cheaper one already covers on every run, run in full only deep: the
# benchmarks' smoke runs, and the sweep under pytest-xdist (the shared xdist session of
# tests/shared_runs.py checks the plugin under xdist on every run).
only_deep = pytest.mark.skipif(not DEEP, reason="runs under nox -s deep (SLO_TESTS_DEEP=1)")


def examples(deep: int, fast: int) -> int:
    """How many examples a costly property test draws: ``deep`` under ``nox -s deep``
    (``SLO_TESTS_DEEP=1``, run once in CI), ``fast`` on every other run of the suite."""
    return deep if DEEP else fast


def scenario(text: str, file: str = "test.yaml") -> Scenario:
    """Parse dedented scenario YAML."""
    return parse_scenario(textwrap.dedent(text), file)


def nearest_rank(values: Any, q: float | str) -> float:
    """The README's definition, in exact arithmetic: the ceil(q·n/100)-th smallest value (at
    least the first), q read as the decimal it is written as (99.9 is 999/10)."""
    ordered = sorted(float(value) for value in values)
    exact = Fraction(Decimal(q if isinstance(q, str) else repr(q)))
    rank = max(1, math.ceil(exact * len(ordered) / 100))
    return ordered[rank - 1]
