from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.format.units import (
    DURATION_PATTERN,
    RATE_PATTERN,
    THROUGHPUT_PATTERN,
    format_duration,
    format_rate,
    format_throughput,
    parse_duration,
    parse_rate,
    parse_throughput,
)


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("500ms", 500_000_000),
        ("1.5s", 1_500_000_000),
        ("2m", 120_000_000_000),
        ("1h", 3_600_000_000_000),
        ("1h30m", 5_400_000_000_000),
        ("250us", 250_000),
        ("250µs", 250_000),
        ("7ns", 7),
        ("0s", 0),
        (".5s", 500_000_000),
        ("1m 30s", 90_000_000_000),
        ("500 ms", 500_000_000),
        ("720h", 30 * 24 * 3600 * 10**9),
    ],
)
def test_parse_duration(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "the unit is required"),
        (1.5, "the unit is required"),
        ("-5s", "cannot be negative"),
        ("5 parsecs", "expected a duration"),
        ("5", "the unit is required"),
        ("1.5ns", "whole number of nanoseconds"),
        (True, "expected a duration"),
        (None, "expected a duration"),
    ],
)
def test_parse_duration_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


@given(st.integers(min_value=0, max_value=10**15))
def test_duration_round_trips(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns


def test_format_duration_picks_the_largest_exact_unit() -> None:
    assert format_duration(3_600_000_000_000) == "1h"
    assert format_duration(90_000_000_000) == "90s"
    assert format_duration(1_500_000_000) == "1500ms"
    assert format_duration(0) == "0s"


@pytest.mark.parametrize(
    ("value", "fraction"),
    [("30%", 0.3), (0.3, 0.3), ("0.3", 0.3), ("100%", 1.0), (0, 0.0), (1, 1.0), ("12.5 %", 0.125)],
)
def test_parse_rate(value: object, fraction: float) -> None:
    assert parse_rate(value) == fraction


@pytest.mark.parametrize("value", ["150%", 1.5, -0.1, "-3%", "30 percent", True, None, "nan%"])
def test_parse_rate_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(value)


@given(st.integers(min_value=0, max_value=10_000))
def test_rate_round_trips_through_percent(basis_points: int) -> None:
    fraction = basis_points / 10_000
    assert parse_rate(format_rate(fraction)) == pytest.approx(fraction, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("20/s", Fraction(20)),
        ("600/m", Fraction(10)),
        ("90/h", Fraction(1, 40)),
        ("2.5/s", Fraction(5, 2)),
    ],
)
def test_parse_throughput(text: str, per_second: Fraction) -> None:
    assert parse_throughput(text) == per_second


@pytest.mark.parametrize("value", ["20", 20, "0/s", "fast", "-3/s", "20/d"])
def test_parse_throughput_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="request rate"):
        parse_throughput(value)


@given(st.fractions(min_value=Fraction(1, 3600), max_value=Fraction(10**6)).filter(lambda f: f > 0))
def test_throughput_round_trips_when_exact(rate: Fraction) -> None:
    text = format_throughput(rate)
    parsed = parse_throughput(text)
    if "e" not in text and (rate * 3600).denominator == 1:
        assert parsed == rate
    else:
        assert float(parsed) == pytest.approx(float(rate), rel=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5ms5ms", "each unit at most once"),
        ("1h1h", "each unit at most once"),
        ("1s1h", "units from the largest to the smallest"),
        ("30m1h", "units from the largest to the smallest"),
        ("٥ms", "expected a duration"),
        ("5 m s", "expected a duration"),
        (" 90s", "expected a duration"),
        ("1e3s", "expected a duration"),
        ("721h", "at most 30 days"),
        ("99999999999999999999999h", "at most 30 days"),
    ],
)
def test_compound_durations_are_strict(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize("value", ["٣٠%", "３０%", "1e-1", "+30%", " 30%", "0.3 "])
def test_rates_take_ascii_decimals_only(value: str) -> None:
    with pytest.raises(ValueError, match="expected a rate"):
        parse_rate(value)


def test_request_rates_are_bounded() -> None:
    assert parse_throughput("1000000/s") == 1_000_000
    with pytest.raises(ValueError, match=r"at most 1,000,000/s, got '1000001/s'"):
        parse_throughput("1000001/s")
    with pytest.raises(ValueError, match="expected a request rate"):
        parse_throughput("٢٠/s")


def test_tiny_request_rates_format_without_an_exponent() -> None:
    rate = parse_throughput("0.001/h")
    assert parse_throughput(format_throughput(rate)) == rate
    assert "e" not in format_throughput(rate)


# What the loader accepts is exactly what the JSON Schema's pattern matches (as a validator's
# re.search would), rules about the value (bounds, whole nanoseconds) aside.
_VALUE_RULES = (
    "at most 30 days",
    "at most 1,000,000/s",
    "whole number of nanoseconds",
    "above zero",
)


def _agree(parse: object, pattern: str, text: str) -> None:
    try:
        parse(text)  # type: ignore[operator]
        loaded = True
    except ValueError as error:
        if any(rule in str(error) for rule in _VALUE_RULES):
            assert re.search(pattern, text), text
            return
        loaded = False
    assert loaded == bool(re.search(pattern, text)), text


@given(st.text(alphabet="0123456789. hmsnuµ٥", max_size=10))
def test_the_duration_pattern_is_the_loaders_grammar(text: str) -> None:
    _agree(parse_duration, DURATION_PATTERN, text)


@given(st.text(alphabet="0123456789. %+-e٣", max_size=8))
def test_the_rate_pattern_is_the_loaders_grammar(text: str) -> None:
    _agree(parse_rate, RATE_PATTERN, text)


@given(st.text(alphabet="0123456789. /smhinec٢", max_size=9))
def test_the_request_rate_pattern_is_the_loaders_grammar(text: str) -> None:
    _agree(parse_throughput, THROUGHPUT_PATTERN, text)
