"""How values read in every report: enough digits to be honest, and to tell a failure apart."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import parse_objective
from harness.format.values import format_value
from harness.verdicts.checks import Check
from harness.verdicts.objectives import Verdict


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (11.1071234, "ms", "11.107ms"),
        (0.968823, "ratio", "96.882%"),
        (180854.0, "duration_ms", "180.854s"),
        (6.0, "count", "6"),
        (0.07, "ratio", "7%"),  # exact decimal scaling: never 7.000000000000001%
        (0.3, "ratio", "30%"),
        (0.999996, "ratio", "99.9996%"),  # once "100%"
        (0.9999999, "ratio", "99.99999%"),
        (1e-6, "ms", "0.000001ms"),  # 1 ns: once "0ms"
        (0.000123456, "ms", "0.0001235ms"),  # four significant digits
        (1999.9996, "ms", "1.9999996s"),  # once "2000ms"
        (1459.3397, "ms", "1.459s"),  # automatic units: never 1459.3397ms beside 1.459s
        (1115.021, "ms", "1.115s"),
        (523.4, "ms", "523.4ms"),
        (999.9, "ms", "999.9ms"),
        (1000.0, "ms", "1s"),
        (500.0, "duration_ms", "500ms"),
        (1.1948994970000002, "ratio", "119.4899%"),  # no float artefacts
        (0.0, "ms", "0ms"),
        ("CLOSED", "state", "CLOSED"),
        (None, "ms", "no data"),
    ],
)
def test_values_keep_the_digits_that_matter(value: Any, unit: str, shown: str) -> None:
    assert format_value(value, unit) == shown


@pytest.mark.parametrize(
    ("objective", "observed"),
    [
        ("success_rate >= 99.9999%", 0.999996),  # the review's case: "100%" against "100%"
        ("p95 < 1ns", 0.0000011),
        ("p95 <= 500ms", 500.0004),
        ("p95 <= 500.0004ms", 500.0003),
        ("upstream.success_rate > 65%", 0.6499999999),
    ],
)
def test_a_failing_observed_value_never_reads_as_its_threshold(
    objective: str, observed: float
) -> None:
    parsed = parse_objective(objective)
    check = _check(parsed.text, parsed.kind.value, observed, parsed.threshold)
    assert check.observed_text != check.threshold_text


def _check(text: str, unit: str, observed: float, threshold: Any) -> Check:
    return Check("v", "objective", text, False, observed, threshold, unit, 10, None)


@given(
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.sampled_from(["ms", "duration_ms", "ratio"]),
)
def test_different_values_shown_side_by_side_always_read_differently(
    observed: float, threshold: float, unit: str
) -> None:
    check = _check("p95 < 1ms", unit, observed, threshold)
    assert (check.observed_text == check.threshold_text) == (observed == threshold)


@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False))
def test_a_shown_value_is_never_further_off_than_its_last_digit(value: float) -> None:
    text = format_value(value, "ms")
    shown, scale = (text[:-2], 1) if text.endswith("ms") else (text.removesuffix("s"), 1000)
    decimals = len(shown.partition(".")[2])
    error = abs(float(shown) * scale - value)
    assert error <= (0.5 * 10**-decimals * (1 + 1e-9) + abs(value / scale) * 1e-15) * scale


def test_the_terminal_formats_as_every_report_does() -> None:
    parsed = parse_objective("success_rate >= 99.9999%")
    assert Verdict(parsed, 0.999996, 10, False).observed_text == "99.9996%"
    assert parsed.threshold_text == "99.9999%"
