"""Paths and helpers shared by the tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from harness import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def scenario(text: str, file: str = "test.yaml") -> Scenario:
    """Parse dedented scenario YAML."""
    return parse_scenario(textwrap.dedent(text), file)
