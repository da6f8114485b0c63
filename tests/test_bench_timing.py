"""The benchmarks' timing helpers: paired ratios and goals with their margins."""

from __future__ import annotations

import pytest

from benchmarks.timing import Goal, paired, paired_ratio


def test_paired_rounds_give_one_ratio_per_round_and_their_median() -> None:
    calls: list[str] = []
    found = paired({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, "a", rounds=5)
    assert sorted(calls) == ["a"] * 5 + ["b"] * 5  # every case once per round
    assert found["a"]["ratios"] == [1.0] * 5  # a round's ratio pairs times of that round
    assert found["a"]["ratio"] == 1.0
    ratios = found["b"]["ratios"]
    assert len(ratios) == 5
    assert ratios == [
        b / a for a, b in zip(found["a"]["seconds"], found["b"]["seconds"], strict=True)
    ]
    assert found["b"]["ratio"] == sorted(ratios)[2]


@pytest.mark.parametrize(
    ("goal", "met", "margin"),
    [
        (Goal("ratio", 1.2, 1.5), True, 0.2),
        (Goal("ratio", 1.8, 1.5), False, -0.2),
        (Goal("rate", 300.0, 250.0, at_most=False), True, 0.2),
        (Goal("rate", 200.0, 250.0, at_most=False), False, -0.2),
    ],
)
def test_a_goal_says_whether_it_is_met_and_by_what_margin(
    goal: Goal, met: bool, margin: float
) -> None:
    assert goal.met is met
    assert goal.margin == pytest.approx(margin)
    assert ("met" if met else "MISSED") in goal.line()
    assert goal.to_dict()["margin"] == pytest.approx(margin)


def test_a_ratio_between_any_two_cases_pairs_their_rounds() -> None:
    found = {
        "a": {"seconds": [1.0, 2.0, 4.0]},
        "b": {"seconds": [2.0, 2.0, 2.0]},
    }
    # Per round: 0.5, 1.0, 2.0 — the ratio of the medians would be 2/2 = 1.0 by chance only.
    assert paired_ratio(found, "a", "b") == 1.0
    found["b"]["seconds"] = [4.0, 1.0, 1.0]  # medians 2 and 1; per-round ratios 0.25, 2, 4
    assert paired_ratio(found, "a", "b") == 2.0
    assert paired_ratio(found, "b", "a") == 0.5
