"""Error budget spent and the multi-window, multi-burn-rate alerts (harness.verdicts.budget)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.events import BreakerState, Outcome
from harness.format.error_budget import MIN_PERIOD_NS, target_objective
from harness.format.objectives import parse_objective
from harness.format.units import NS_PER_S
from harness.verdicts.budget import budget_of, burn_rate, evaluate_budget
from harness.verdicts.metrics import SampleLog, Samples

HOUR = 3600 * NS_PER_S
# 93.75% leaves an allowed bad fraction of 1/16, exact in binary: the thresholds below are exact.
TARGET = parse_objective("success_rate >= 93.75%")


def one_per_second(seconds: int, bad_from: int, bad_to: int) -> Samples:
    """One request a second; those starting in [bad_from, bad_to) seconds fail."""
    log = SampleLog()
    for t in range(seconds):
        outcome = Outcome.HTTP_ERROR if bad_from <= t < bad_to else Outcome.SUCCESS
        log.record(t * NS_PER_S, 10**7, outcome, 200, BreakerState.CLOSED)
    return log.freeze()


def fired_seconds(samples: Samples, period_ns: int) -> list[list[tuple[float, float]]]:
    budget = budget_of(TARGET, samples, period_ns)
    return [[(a / NS_PER_S, b / NS_PER_S) for a, b in alert.fired] for alert in budget.alerts]


def test_a_hand_computed_outage_fires_the_fast_alert_54_seconds_in() -> None:
    # Period 12h scales every window by 1/60: 14.4x is 60s/5s, 6x 6m/30s, 3x 24m/2m, 1x 72m/6m.
    # Outage from 300s: the 60s window at t holds min(t-299, 60) bad of 60 requests; it burns
    # above 14.4 (more than 54 bad) from t = 354s. The 5s window is all bad from 304s.
    samples = one_per_second(600, 300, 600)
    budget = budget_of(TARGET, samples, 12 * HOUR)
    assert [(a.long_ns, a.short_ns) for a in budget.alerts] == [
        (60 * NS_PER_S, 5 * NS_PER_S),
        (360 * NS_PER_S, 30 * NS_PER_S),
        (1440 * NS_PER_S, 120 * NS_PER_S),
        (4320 * NS_PER_S, 360 * NS_PER_S),
    ]
    assert budget.bad == 300
    assert budget.spent == 8.0  # 300 / (600 / 16)
    assert burn_rate(TARGET, samples, 60 * NS_PER_S, 354 * NS_PER_S) == pytest.approx(
        55 / 60 * 16, abs=1e-12
    )  # 14.6667
    assert burn_rate(TARGET, samples, 60 * NS_PER_S, 353 * NS_PER_S) == pytest.approx(14.4)
    fast = fired_seconds(samples, 12 * HOUR)[0]
    assert fast == [(354.0, 599.0)]
    # 6x: 6m window at t >= 359 holds t-299 bad of 360, above 0.375·360 = 135 from t = 435.
    assert fired_seconds(samples, 12 * HOUR)[1] == [(435.0, 599.0)]


def test_a_blip_spends_a_hand_computed_budget_and_fires_the_slow_alert_over_the_run_so_far() -> (
    None
):
    # 30 bad seconds of 600: spent 30 / (600/16) = 0.8. The 1x alert's windows (72m/6m at 12h)
    # reach back before t = 0: they hold the run so far. At t they hold t+1 requests (1 per
    # second from 0s), min(t-299, 30) of them bad: 16·(t-299)/(t+1) > 1 from t = 320 s, and
    # 16·30/(t+1) > 1 until t = 478 s. The faster alerts' windows never burn that hard.
    samples = one_per_second(600, 300, 330)
    budget = budget_of(TARGET, samples, 12 * HOUR)
    assert budget.spent == pytest.approx(0.8, abs=1e-15)
    assert burn_rate(TARGET, samples, 4320 * NS_PER_S, 320 * NS_PER_S) == pytest.approx(
        21 / 321 * 16
    )  # 1.0467 > 1
    assert burn_rate(TARGET, samples, 4320 * NS_PER_S, 319 * NS_PER_S) == pytest.approx(1.0)
    assert fired_seconds(samples, 12 * HOUR) == [[], [], [], [(320.0, 478.0)]]


def test_one_bad_first_request_fires_nothing() -> None:
    # Over "what there is since t = 0" it would burn 16x at t = 0 and fire every alert.
    assert fired_seconds(one_per_second(600, 0, 1), 12 * HOUR) == [[], [], [], []]


def test_no_bad_events_fire_nothing_and_spend_nothing() -> None:
    samples = one_per_second(600, 0, 0)
    budget = budget_of(TARGET, samples, 12 * HOUR)
    assert budget.spent == 0.0
    assert all(not alert.fired for alert in budget.alerts)


def test_good_rate_counts_slow_successes_as_bad() -> None:
    log = SampleLog()
    for t, latency_ms in enumerate([100, 900, 100, 100]):
        log.record(t * NS_PER_S, latency_ms * 10**6, Outcome.SUCCESS, 200, BreakerState.CLOSED)
    target = parse_objective("good_rate(800ms) >= 50%")
    budget = budget_of(target, log.freeze(), None)
    assert (budget.bad, budget.spent) == (1, 0.5)
    verdict = evaluate_budget(parse_objective("budget_spent <= 25%"), budget)
    assert (verdict.observed, verdict.passed) == (0.5, False)


def test_the_target_is_the_first_success_or_good_rate_floor() -> None:
    objectives = [
        parse_objective(t) for t in ("p95 < 1s", "success_rate < 100%", "good_rate(1s) >= 99%")
    ]
    assert target_objective(objectives) == objectives[2]
    assert target_objective(objectives[:2]) is None


SCENARIO = """\
name: budget
duration: 10m
seed: 7
upstreams:
  api:
    latency: 20ms
    timeline:
      - {{name: outage, from: 5m, to: 6m, failure_rate: 100%}}
    traffic: {{rate: 5/s}}
{period}    slo: [{slo}]
"""


def run_json(tmp_path: Path, slo: str, period: str) -> tuple[int, dict[str, object]]:
    path = tmp_path / "budget.yaml"
    path.write_text(
        SCENARIO.format(slo=slo, period=f"    slo_period: {period}\n" if period else "")
    )
    report = tmp_path / "r.json"
    code = main(["run", str(path), "--json", str(report)])
    [result] = json.loads(report.read_text())["results"]
    return code, result


def test_a_scenario_reports_its_budget_and_alerts_in_the_json_deterministically(
    tmp_path: Path,
) -> None:
    code, result = run_json(tmp_path, "success_rate >= 99%, budget_spent <= 25%", "12h")
    upstream = result["upstreams"]["api"]  # type: ignore[index]
    budget = upstream["budget"]
    # 1 minute of 10 is bad: 10% bad against 1% allowed is 10x the budget.
    assert budget["spent"] == pytest.approx(10, rel=0.1)
    assert code == 1
    fast = budget["alerts"][0]
    assert fast["factor"] == 14.4
    assert fast["fired"], "a hard outage must fire the fast-burn alert"
    assert 300_000 <= fast["fired"][0]["from_ms"] <= 300_000 + 5 * 60_000
    again = run_json(tmp_path, "success_rate >= 99%, budget_spent <= 25%", "12h")[1]
    for res in (result, again):
        res.pop("run_info", None)
    assert json.dumps(result, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_no_budget_asked_means_no_budget_in_the_json(tmp_path: Path) -> None:
    _, result = run_json(tmp_path, "success_rate >= 50%", "")
    assert "budget" not in result["upstreams"]["api"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("slo", "period", "message"),
    [
        ("budget_spent <= 25%", "", "needs a target objective"),
        ("p95 < 1s", "1h", "needs a target objective"),
        ("success_rate >= 99%", "10m", "slo_period 10m is too short"),
    ],
)
def test_a_budget_without_a_target_or_with_a_tiny_period_is_a_located_error(
    slo: str, period: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "budget.yaml"
    path.write_text(
        SCENARIO.format(slo=slo, period=f"    slo_period: {period}\n" if period else "")
    )
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err
    assert message in err
    assert "Traceback" not in err


def test_the_shortest_period_is_14m24s() -> None:
    assert MIN_PERIOD_NS == (14 * 60 + 24) * NS_PER_S
