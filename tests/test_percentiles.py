"""Exact percentiles: nearest rank by the README's definition, in rational arithmetic."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.verdicts.percentiles import bounded_percentiles, nearest_rank, percentile, percentiles

# q with up to 4 decimals, as text (how an objective writes it) from 0 to 100.
four_decimals = st.integers(0, 1_000_000).map(lambda k: str(Decimal(k).scaleb(-4)))


def satisfies_definition(values: np.ndarray, q: Fraction, result: float) -> bool:
    """The README's definition: ``result`` is the smallest sample with at least q% of the
    samples at or below it, checked with exact rationals (counts are integers)."""
    n = values.size
    at_or_below = int(np.count_nonzero(values <= result))
    below = int(np.count_nonzero(values < result))
    # The largest sample under ``result`` has exactly ``below`` samples at or below it.
    return result in values and at_or_below * 100 >= q * n and (below == 0 or below * 100 < q * n)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**6), four_decimals, st.integers(0, 2**32 - 1), st.integers(1, 10**6))
def test_nearest_rank_is_the_definition_for_n_up_to_a_million(
    n: int, q: str, seed: int, spread: int
) -> None:
    # ``spread`` small gives many ties, large gives mostly distinct values.
    values = np.random.default_rng(seed).integers(0, spread, n).astype(np.float64)
    exact = Fraction(Decimal(q))
    result = percentile(values, q, "nearest_rank")
    assert satisfies_definition(values, exact, result)
    assert percentile(values, float(q), "nearest_rank") == result  # the float 99.9 is "99.9"


@pytest.mark.parametrize(
    ("n", "q", "rank"),
    [(1000, "99.9", 999), (100, "55", 55), (2000, "99.9", 1998), (10**6, "99.9", 999_000)],
)
def test_ranks_where_floating_point_lands_one_too_high(n: int, q: str, rank: int) -> None:
    values = np.arange(1, n + 1, dtype=np.float64)
    assert nearest_rank(n, q) == rank
    assert percentile(values, float(q), "nearest_rank") == rank
    # numpy computes q/100·n in floats (0.999·1000 = 999.0000000000001) and takes the next one.
    assert np.percentile(values, float(q), method="inverted_cdf") == rank + 1


@given(
    st.lists(st.integers(0, 50), min_size=1, max_size=300),
    st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_numpy_agrees_wherever_its_float_rank_is_exact(values: list[int], q: float) -> None:
    array = np.array(values, dtype=np.float64)
    exact_rank = max(1, math.ceil(Fraction(q) * len(values) / 100))
    float_rank = max(1, math.ceil(q / 100 * len(values)))
    if exact_rank == float_rank:
        expected = np.percentile(array, q, method="inverted_cdf")
        assert percentile(array, Fraction(q), "nearest_rank") == expected
    assert percentile(array, q, "linear") == np.percentile(array, q, method="linear")


@given(st.lists(st.integers(0, 50), min_size=1, max_size=200), st.lists(four_decimals, max_size=6))
def test_one_partition_for_many_quantiles_gives_each_alone(
    values: list[int], qs: list[str]
) -> None:
    array = np.array(values, dtype=np.float64)
    for method in ("nearest_rank", "linear"):
        together = percentiles(array, qs, method)  # type: ignore[arg-type]
        assert together == [percentile(array, q, method) for q in qs]  # type: ignore[arg-type]


@given(
    st.lists(st.tuples(st.integers(1, 30), st.booleans()), min_size=1, max_size=200),
    four_decimals,
    st.integers(0, 100),
)
def test_a_percentile_is_exact_only_when_no_censored_value_could_move_it(
    rows: list[tuple[int, bool]], q: str, raise_by: int
) -> None:
    values = np.array([value for value, _ in rows], dtype=np.float64)
    censored = np.array([flag for _, flag in rows])
    [(value, exact)] = bounded_percentiles(values, censored, [q], "nearest_rank")
    assert value == percentile(values, q, "nearest_rank")
    # Censored samples are only known to be at least as large: raise them and see.
    raised = np.where(censored, values + raise_by, values)
    moved = percentile(raised, q, "nearest_rank")
    assert moved >= value
    if exact:
        assert moved == value  # no way of raising them moves an exact percentile
    else:
        infinite = np.where(censored, np.inf, values)
        assert percentile(infinite, q, "nearest_rank") > value  # some way does
