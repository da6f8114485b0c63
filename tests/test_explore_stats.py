"""The exact binomial interval and the percentiles a sweep reports."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.explore.stats import binomial_tail_at_least, clopper_pearson, percentile


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # R's binom.test(x, n)$conf.int, the reference implementation of the interval.
        (5, 10, 0.1870860, 0.8129140),
        (7, 20, 0.1539092, 0.5921885),
        (0, 10, 0.0, 0.3084971),
        (10, 10, 0.6915029, 1.0),
    ],
)
def test_clopper_pearson_matches_published_values(
    successes: int, trials: int, low: float, high: float
) -> None:
    interval = clopper_pearson(successes, trials)
    assert interval.low == pytest.approx(low, abs=5e-8)
    assert interval.high == pytest.approx(high, abs=5e-8)


@pytest.mark.parametrize("trials", [1, 7, 200, 5000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_closed_forms_at_the_ends(trials: int, confidence: float) -> None:
    tail = (1 - confidence) / 2
    assert clopper_pearson(0, trials, confidence).high == pytest.approx(1 - tail ** (1 / trials))
    assert clopper_pearson(trials, trials, confidence).low == pytest.approx(tail ** (1 / trials))


def _exact_tail(k: int, n: int, p: Fraction) -> Fraction:
    return sum((math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)), Fraction(0))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 60), data=st.data(), p=st.fractions(0, 1, max_denominator=1000))
def test_binomial_tail_equals_the_exact_sum(n: int, data: st.DataObject, p: Fraction) -> None:
    k = data.draw(st.integers(0, n + 1))
    exact = _exact_tail(k, n, p) if k <= n else Fraction(0)
    assert binomial_tail_at_least(k, n, float(p)) == pytest.approx(float(exact), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 3000), data=st.data())
def test_interval_bounds_solve_their_defining_equations(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    interval = clopper_pearson(k, n)
    assert interval.low <= k / n <= interval.high
    if k > 0:
        assert binomial_tail_at_least(k, n, interval.low) == pytest.approx(0.025, rel=1e-6)
    if k < n:
        assert 1 - binomial_tail_at_least(k + 1, n, interval.high) == pytest.approx(0.025, rel=1e-6)
    mirrored = clopper_pearson(n - k, n)  # failures' interval is the successes' one, mirrored
    assert mirrored.low == pytest.approx(1 - interval.high, abs=1e-12)


def test_large_counts_are_fast_and_narrow() -> None:
    interval = clopper_pearson(700_000, 1_000_000)
    assert 0.699 < interval.low < 0.7 < interval.high < 0.701


@pytest.mark.parametrize(
    ("successes", "trials", "confidence"), [(-1, 5, 0.95), (6, 5, 0.95), (0, 0, 0.95), (1, 2, 1.0)]
)
def test_impossible_counts_are_refused(successes: int, trials: int, confidence: float) -> None:
    with pytest.raises(ValueError, match=r"between|need"):
        clopper_pearson(successes, trials, confidence)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    q=st.sampled_from([1, 5, 50, 90, 95, 99, 100]),
)
def test_percentile_is_nearest_rank(values: list[float], q: int) -> None:
    expected = np.percentile(np.array(values), q, method="inverted_cdf")
    assert percentile(values, q) == expected
    assert percentile(values, 0) == min(values)
