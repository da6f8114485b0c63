"""Paths and helpers shared by the tests."""

from __future__ import annotations

import math
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from harness import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


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
