"""Confidence-aware verdicts: distribution-free bounds, PASS/FAIL/INCONCLUSIVE, exit code 3."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.events import BreakerState, Outcome
from harness.format.objectives import parse_objective
from harness.verdicts.confidence import (
    binomial_cdf,
    percentile_ranks,
    rate_bounds,
    samples_to_bound,
)
from harness.verdicts.metrics import SampleLog, View, view_stats
from harness.verdicts.objectives import evaluate

TRIALS = 2000


def exact_cdf(k: int, n: int, p: Fraction) -> Fraction:
    """P(Binomial(n, p) <= k) summed in exact rationals: the reference for the tables."""
    return exact_cdfs(n, p)[k]


def exact_cdfs(n: int, p: Fraction) -> list[Fraction]:
    """[P(B <= 0), …, P(B <= n)] for B ~ Binomial(n, p), in exact rationals."""
    total, found = Fraction(0), []
    for i in range(n + 1):
        total += math.comb(n, i) * p**i * (1 - p) ** (n - i)
        found.append(total)
    return found


@pytest.mark.parametrize("n", [20, 58, 59, 100, 299, 300])
@pytest.mark.parametrize(
    ("q", "c"), [(95, Fraction(95, 100)), (99, Fraction(95, 100)), (50, Fraction(9, 10))]
)
def test_order_statistic_ranks_match_the_exact_binomial_tables(n: int, q: int, c: Fraction) -> None:
    lower, upper = percentile_ranks(n, Fraction(q), float(c))
    cdf = exact_cdfs(n, Fraction(q, 100))
    # upper: the least u with P(B <= u - 1) >= c, or None when even u = n falls short
    ranks = [u for u in range(1, n + 1) if cdf[u - 1] >= c]
    assert upper == (ranks[0] if ranks else None)
    ranks = [rank for rank in range(1, n + 1) if 1 - cdf[rank - 1] >= c]
    assert lower == (ranks[-1] if ranks else None)


def test_the_fewest_samples_that_bound_p95_and_p99_at_95_percent() -> None:
    assert (samples_to_bound(95, 0.95), samples_to_bound(99, 0.95)) == (59, 299)
    assert percentile_ranks(58, Fraction(95), 0.95)[1] is None
    assert percentile_ranks(59, Fraction(95), 0.95)[1] == 59  # the maximum bounds it
    assert percentile_ranks(298, Fraction(99), 0.95)[1] is None
    assert percentile_ranks(299, Fraction(99), 0.95)[1] == 299


def test_binomial_cdf_is_exact_to_float_precision() -> None:
    for k, n, p in [(3, 10, "0.3"), (94, 100, "0.95"), (290, 300, "0.99"), (0, 7, "0.5")]:
        assert binomial_cdf(k, n, float(p)) == pytest.approx(
            float(exact_cdf(k, n, Fraction(p))), rel=1e-10
        )


@pytest.mark.parametrize(("n", "q", "confidence"), [(40, 90, 0.9), (100, 95, 0.95), (400, 99, 0.9)])
def test_percentile_bounds_cover_the_true_value_at_their_stated_rate(
    n: int, q: int, confidence: float
) -> None:
    # Exponential(1): the true q-th percentile is -ln(1 - q/100).
    truth = -math.log(1 - q / 100)
    lower, upper = percentile_ranks(n, Fraction(q), confidence)
    rng = np.random.default_rng(20261203)
    ordered = np.sort(rng.exponential(1.0, (TRIALS, n)), axis=1)
    slack = 3 * math.sqrt(confidence * (1 - confidence) / TRIALS)  # ~3 standard errors
    if upper is not None:
        assert np.mean(ordered[:, upper - 1] >= truth) >= confidence - slack
    if lower is not None:
        assert np.mean(ordered[:, lower - 1] <= truth) >= confidence - slack
    # The point estimate alone covers about half the time: the bounds are what makes the rate.
    point = ordered[:, math.ceil(q * n / 100) - 1]
    assert np.mean(point >= truth) < confidence - slack


@pytest.mark.parametrize(("n", "p"), [(50, 0.9), (400, 0.99), (1000, 0.999), (30, 0.5)])
def test_clopper_pearson_bounds_cover_the_true_rate_at_their_stated_rate(n: int, p: float) -> None:
    confidence = 0.95
    successes = np.random.default_rng(7).binomial(n, p, TRIALS)
    bounds = {k: rate_bounds(int(k), n, confidence) for k in set(successes.tolist())}
    slack = 3 * math.sqrt(confidence * (1 - confidence) / TRIALS)
    assert np.mean([bounds[k][0] <= p for k in successes]) >= confidence - slack
    assert np.mean([bounds[k][1] >= p for k in successes]) >= confidence - slack


def stats_of(latencies_ms: list[float]) -> dict[View, object]:
    log = SampleLog()
    for i, latency in enumerate(latencies_ms):
        log.record(i * 10**6, int(latency * 10**6), Outcome.SUCCESS, 200, BreakerState.CLOSED)
    samples = log.freeze()
    return {view: view_stats(samples, view, "nearest_rank") for view in View}


def test_a_40_sample_p95_near_its_threshold_is_inconclusive_and_more_samples_decide() -> None:
    objective = parse_objective("p95 < 500ms @ 95%")
    rng = np.random.default_rng(3)
    small = evaluate(objective, stats_of(list(rng.uniform(100, 480, 40))), None)  # type: ignore[arg-type]
    assert (small.outcome, small.passed, small.inconclusive) == ("INCONCLUSIVE", False, True)
    assert small.bounds is not None
    assert small.bounds[1] is None  # 40 < 59: no upper bound
    assert small.note is not None
    assert "needs n >= 59" in small.note
    large = evaluate(objective, stats_of(list(rng.uniform(100, 480, 400))), None)  # type: ignore[arg-type]
    assert large.outcome == "PASS"
    slow = evaluate(objective, stats_of(list(rng.uniform(600, 900, 40))), None)  # type: ignore[arg-type]
    assert slow.outcome == "FAIL"  # even the lower bound is over 500 ms
    data = slow.to_dict()
    assert (data["outcome"], data["confidence"]) == ("FAIL", 0.95)
    assert isinstance(data["bounds"][0], float)  # type: ignore[index]
    assert data["bounds"][1] is None  # numbers stay numbers; no bound is null


def test_a_rate_objective_is_decided_on_clopper_pearson_bounds() -> None:
    objective = parse_objective("success_rate >= 99% @ 95%")
    stats = stats_of([1.0] * 100)
    verdict = evaluate(objective, stats, None)  # type: ignore[arg-type]
    # 100 of 100: the lower bound is 0.05^(1/100) = 97.05%, below 99%: cannot tell yet.
    assert verdict.outcome == "INCONCLUSIVE"
    assert verdict.bounds is not None
    assert verdict.bounds[0] == pytest.approx(0.05 ** (1 / 100), rel=1e-9)
    assert evaluate(objective, stats_of([1.0] * 400), None).outcome == "PASS"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95 < 1s @ 100%", "strictly between 0% and 100%"),
        ("p95 < 1s @ 0%", "strictly between 0% and 100%"),
        ("p95 < 1s @ -5%", "strictly between 0% and 100%"),
        ("final_state == CLOSED @ 95%", "'final_state' has no confidence interval"),
        ("opens <= 3 @ 95%", "'opens' has no confidence interval"),
        ("avg < 1s @ 95%", "'avg' has no confidence interval"),
        ("success_rate == 100% @ 95%", "needs <, <=, > or >="),
    ],
)
def test_a_confidence_level_that_means_nothing_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_objective(text)


SCENARIO = """\
name: few
duration: 20s
upstreams:
  api:
    latency: {{dist: uniform, min: 100ms, max: 480ms}}
    traffic: {{rate: 2/s}}
    slo: [{slo}]
"""


@pytest.mark.parametrize(
    ("slo", "code"),
    [("p95 < 500ms @ 95%", 3), ("p95 < 500ms", 0), ("p95 < 500ms @ 95%, p50 < 1ms", 1)],
)
def test_the_command_line_exits_3_only_when_inconclusive_and_nothing_failed(
    slo: str, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "few.yaml"
    path.write_text(SCENARIO.format(slo=slo))
    assert main(["run", str(path)]) == code
    out = capsys.readouterr().out
    assert ("INCONCLUSIVE" in out) is ("@" in slo)


def test_a_bad_confidence_level_in_a_file_is_a_located_error_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(slo="final_state == CLOSED @ 95%"))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:7:" in err
    assert "no confidence interval" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("mode", "outcome"), [("fail", "failed"), ("skip", "skipped")])
def test_under_pytest_inconclusive_is_a_failure_or_a_skip_with_its_reason(
    pytester: pytest.Pytester, mode: str, outcome: str
) -> None:
    pytester.makeini(
        f"[pytest]\nasyncio_default_fixture_loop_scope = function\nslo_inconclusive = {mode}\n"
    )
    folder = pytester.mkdir("scenarios")
    (folder / "few.yaml").write_text(SCENARIO.format(slo="p95 < 500ms @ 95%"))
    result = pytester.runpytest("scenarios/", "-rs")
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines(
        [
            "*scenario 'few' (seed 0) could not decide its objectives:*",
            "*INCONCLUSIVE  api: p95 < 500ms @ 95%*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    usage = pytester.runpytest("scenarios/", "--slo-inconclusive=maybe")
    assert usage.ret == pytest.ExitCode.USAGE_ERROR


def test_until_decided_extends_a_40_sample_run_until_its_p95_is_decided(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "few.yaml"
    path.write_text(SCENARIO.format(slo="p95 < 500ms @ 95%"))
    report = tmp_path / "r.json"
    assert main(["run", str(path), "--until-decided", "--json", str(report)]) == 0
    assert "until-decided: ran 2x the written duration (cap 16x)" in capsys.readouterr().out
    [result] = json.loads(report.read_text())["results"]
    assert result["until_decided"] == {
        "factor": 2,
        "max_factor": 16,
        "written_duration_ms": 20_000.0,
        "decided": True,
    }
    assert result["upstreams"]["api"]["objectives"][0]["samples"] == 80  # 40 could not decide
    assert result["replay"].endswith("--seed 0 --until-decided 16")
    # A cap too low to decide says so and stays inconclusive.
    assert main(["run", str(path), "--until-decided", "1"]) == 3
    assert "still inconclusive" in capsys.readouterr().out


def test_until_decided_without_a_confidence_objective_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pytester: pytest.Pytester
) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(SCENARIO.format(slo="p95 < 500ms"))
    assert main(["run", str(path), "--until-decided"]) == 2
    assert "needs an objective with a confidence level" in capsys.readouterr().err
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    folder = pytester.mkdir("scenarios")
    (folder / "plain.yaml").write_text(SCENARIO.format(slo="p95 < 500ms"))
    result = pytester.runpytest("scenarios/", "--slo-until-decided")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    (folder / "few.yaml").write_text(SCENARIO.format(slo="p95 < 500ms @ 95%"))
    pytester.runpytest("scenarios/", "--slo-until-decided").assert_outcomes(passed=2)
