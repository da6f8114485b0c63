"""Burn-rate alert expectations (alert_fires, no_alert_during): syntax, located errors,
verdicts computed by hand, the minimum requests per window, and every report showing them."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from harness import ScenarioError, load_scenario, run
from harness.cli import main
from harness.format.error_budget import target_objective
from harness.format.objectives import parse_objective
from harness.verdicts.budget import default_min_requests
from tests.support import SCENARIOS, scenario

# One request a second (constant arrivals at k s), none failing but where a phase says 100%.
# 93.75% allows 1/16 bad, exact in binary; slo_period 12h scales the windows by 1/60:
# 14.4x is 60s/5s, 6x 6m/30s, 3x 24m/2m, 1x 72m/6m.
OUTAGE = """
name: alerts
duration: 10m
engine: direct
upstreams:
  api:
    latency: 10ms
    timeline:
      - {name: calm, from: 0s, to: 5m, latency: 10ms}
      - {name: outage, from: 5m, to: 10m, failure_rate: 100%}
    traffic: {rate: 1/s}
    slo_period: 12h
    slo: ["success_rate >= 93.75%"]
"""


def expecting(base: str, *items: str, extra: str = "") -> Any:
    lines = "".join(f"      - {item}\n" for item in items)
    return scenario(f"{base}{extra}    expect:\n{lines}", "alerts.yaml")


def checked(base: str, *items: str, extra: str = "") -> list[Any]:
    return list(run(expecting(base, *items, extra=extra)).upstreams["api"].expectations)


def summary(verdict: Any) -> tuple[Any, ...]:
    return verdict.passed, verdict.observed, verdict.note


def test_an_outage_without_a_breaker_fires_the_alerts_at_hand_computed_times() -> None:
    # Outage from 300 s: at t the 60 s window holds min(t-299, 60) bad of 60; above 14.4x
    # (more than 0.9·60 = 54 bad) from t = 354 s; the 5 s window is all bad from 304 s.
    # 6x: the 6m window at t >= 359 holds t-299 bad of 360, above 0.375·360 = 135 from 435 s.
    # 1x: its windows reach back before t = 0 and hold the run so far, t+1 requests of which
    # t-299 bad: 16(t-299) > t+1 from t = 320 s.
    found = checked(
        OUTAGE,
        "alert_fires: {factor: 14.4, within: 54s, after_start_of: outage}",
        "alert_fires: {factor: 14.4, within: 53s, after_start_of: outage}",
        "alert_fires: {factor: 6, within: 2m15s, after_start_of: outage}",
        "alert_fires: {within: 20s, after_start_of: outage}",
        "no_alert_during: {phase: calm}",
    )
    assert [summary(verdict) for verdict in found] == [
        (True, 54_000.0, "the 14.4× alert fired at 354s, 54s after 'outage' starts at 300s"),
        (False, 54_000.0, "the 14.4× alert fired at 354s, 54s after 'outage' starts at 300s"),
        (True, 135_000.0, "the 6× alert fired at 435s, 135s after 'outage' starts at 300s"),
        (True, 20_000.0, "the 1× alert fired at 320s, 20s after 'outage' starts at 300s"),
        (True, 0.0, "no alert fired during 'calm' (0s to 300s)"),
    ]
    assert [verdict.text for verdict in found[:1] + found[3:]] == [
        "the 14.4× alert fires within 54s after 'outage' starts",
        "an alert fires within 20s after 'outage' starts",
        "no alert fires during 'calm'",
    ]
    assert [verdict.check for verdict in found] == ["alert_fires"] * 4 + ["no_alert_during"]


def test_an_alert_already_firing_when_the_phase_starts_counts_as_at_once() -> None:
    later = OUTAGE.replace("{name: calm, from: 0s, to: 5m", "{name: calm, from: 6m, to: 7m")
    [verdict] = checked(later, "alert_fires: {factor: 14.4, within: 1s, after_start_of: calm}")
    assert summary(verdict) == (
        True,
        0.0,
        "the 14.4× alert was already firing when 'calm' starts at 360s (since 354s)",
    )


# A brown-out from 2m to 4m: the request at every 4th second fails (120 s, 124 s, … 236 s),
# 25% of the traffic: 4x the 1/16 allowed. The 14.4x, 6x and 3x alerts never burn that hard
# over both windows; the 1x alert's windows hold the run so far, (k+1) bad of 121+4k requests
# at t = 120+4k s: above 1/16 from k = 9 (156 s), below it at 159 s (10 of 160), above it
# again from 160 s on.
BROWNOUT = """
name: brownout
duration: 6m
engine: direct
upstreams:
  api:
    latency: 10ms
    timeline:
      - {name: brownout, from: 2m, to: 4m, latency: 10ms}
      - {name: blips, from: 2m, for: 1s, every: 4s, times: 30, failure_rate: 100%}
    traffic: {rate: 1/s}
    slo_period: 12h
    slo: ["success_rate >= 93.75%"]
"""


def test_a_brownout_that_burns_4x_fires_only_the_slow_alert() -> None:
    found = checked(
        BROWNOUT,
        "no_alert_during: {phase: brownout, factor: 14.4}",
        "no_alert_during: {phase: brownout, factor: 6}",
        "no_alert_during: {phase: brownout, factor: 3}",
        "no_alert_during: {phase: brownout}",
        "no_alert_during: {phase: brownout, factor: 1}",
    )
    quiet = "the {}× alert never fired during 'brownout' (120s to 240s)"
    fired = "during 'brownout' (120s to 240s): the 1× alert fired at 156s (to 158s)"
    assert [summary(verdict) for verdict in found] == [
        (True, 0.0, quiet.format("14.4")),
        (True, 0.0, quiet.format("6")),
        (True, 0.0, quiet.format("3")),
        (False, 1.0, fired),
        (False, 1.0, fired),
    ]
    budget = run(expecting(BROWNOUT, "no_alert_during: {phase: brownout}")).upstreams["api"].budget
    assert budget is not None
    assert [alert.fired for alert in budget.alerts][-1] == (
        (156 * 10**9, 158 * 10**9),
        (160 * 10**9, 359 * 10**9),  # 30 bad of t+1 stays above 1/16 until t = 478 s
    )


def test_a_lighter_brownout_fires_nothing() -> None:
    # Every 20th second fails: at most 6 of 121+ requests (5%), under 1/16 in every window.
    light = BROWNOUT.replace("every: 4s, times: 30", "every: 20s, times: 6")
    [verdict] = checked(light, "no_alert_during: {phase: brownout}")
    assert summary(verdict) == (True, 0.0, "no alert fired during 'brownout' (120s to 240s)")


# 99.9% at 20 requests a second (a request every 50 ms from 0): the 14.4x alert's windows
# (60s/5s at 12h) hold 1200 and 100 requests. The request at 0 s fails; the outage from 5m
# fails every request: the 18th bad one (at 300.85 s) is the first above 14.4 · 0.001 · 1200 =
# 17.28 in the long window.
EARLY = """
name: early
duration: 6m
engine: direct
upstreams:
  api:
    latency: 10ms
    timeline:
      - {name: baseline, from: 0s, to: 5m, latency: 10ms}
      - {name: first, from: 0s, to: 50ms, failure_rate: 100%}
      - {name: outage, from: 5m, to: 6m, failure_rate: 100%}
    traffic: {rate: 20/s}
    slo_period: 12h
    slo: ["success_rate >= 99.9%"]
"""
EARLY_CHECKS = (
    "no_alert_during: {phase: baseline, factor: 14.4}",
    "alert_fires: {factor: 14.4, within: 1s, after_start_of: outage}",
)
FIRES_AT_850MS = (
    True,
    850.0,
    "the 14.4× alert fired at 300.85s, 850ms after 'outage' starts at 300s",
)


def test_the_default_minimum_keeps_one_early_failure_from_firing_but_not_an_outage() -> None:
    # By default a window needs ceil(1 / (14.4 · 0.001)) = 70 requests: one bad among 70 burns
    # 14.29x, under 14.4x. With no minimum (1), the first request alone burns 1000x, and one bad
    # among n stays above 14.4x while n <= 69: the alert fires from 0 s to 3.4 s (the 69th).
    assert default_min_requests(14.4, 0.001) == 70
    quiet, fires = checked(EARLY, *EARLY_CHECKS)
    assert summary(quiet) == (
        True,
        0.0,
        "the 14.4× alert never fired during 'baseline' (0s to 300s)",
    )
    assert summary(fires) == FIRES_AT_850MS
    noisy, fires = checked(EARLY, *EARLY_CHECKS, extra="    alert_min_requests: 1\n")
    assert summary(noisy) == (
        False,
        1.0,
        "during 'baseline' (0s to 300s): the 14.4× alert fired at 0s (to 3.4s)",
    )
    assert summary(fires) == FIRES_AT_850MS


def test_a_minimum_the_windows_never_reach_suppresses_the_alert_and_says_why() -> None:
    # The 5 s window holds at most 100 requests: with 101 the fast alert cannot fire at all.
    [fires] = checked(EARLY, EARLY_CHECKS[1], extra="    alert_min_requests: 100\n")
    assert summary(fires) == FIRES_AT_850MS
    [late] = checked(EARLY, EARLY_CHECKS[1], extra="    alert_min_requests: 101\n")
    assert summary(late) == (
        False,
        None,
        "the 14.4× alert never fired after 'outage' starts at 300s; the 14.4× alert needs both "
        "its 1m and 5s windows above 14.4× with at least 101 request(s) in each (its 5s window "
        "held at most 100)",
    )


@pytest.mark.parametrize(
    ("target", "factor", "least"),
    [
        ("99.9%", 14.4, 70),
        ("99.9%", 6, 167),
        ("99.9%", 1, 1000),
        ("99%", 14.4, 7),
        ("93.75%", 1, 16),
        ("93.75%", 14.4, 2),
        ("50%", 3, 1),
    ],
)
def test_the_default_minimum_is_the_fewest_requests_one_bad_one_cannot_fire(
    target: str, factor: float, least: int
) -> None:
    objective = target_objective([parse_objective(f"success_rate >= {target}")])
    assert objective is not None
    assert isinstance(objective.threshold, float)
    allowed = round(1 - objective.threshold, 12)
    assert default_min_requests(factor, allowed) == least
    assert factor * allowed * least >= 1  # one bad among `least` does not burn above the factor
    assert least == 1 or factor * allowed * (least - 1) < 1  # among one fewer, it does


def problem(base: str, *items: str, extra: str = "") -> str:
    with pytest.raises(ScenarioError) as caught:
        expecting(base, *items, extra=extra)
    return str(caught.value)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            "alert_fires: {factor: 14.4, within: 5m, after_start_of: outgae}",
            "alerts.yaml:15:65: upstreams.api.expect[0].alert_fires.after_start_of: no phase "
            "named 'outgae' in this upstream's timeline; did you mean 'outage'? (named phases: "
            "calm, outage)",
        ),
        (
            "no_alert_during: {phase: clam}",
            "alerts.yaml:15:34: upstreams.api.expect[0].no_alert_during.phase: no phase named "
            "'clam' in this upstream's timeline; did you mean 'calm'? (named phases: calm, "
            "outage)",
        ),
        (
            "alert_fires: {factor: 14, within: 5m, after_start_of: outage}",
            "alerts.yaml:15:31: upstreams.api.expect[0].alert_fires.factor: no burn-rate alert "
            "has the factor 14; did you mean 14.4? (the alerts' factors: 14.4, 6, 3, 1)",
        ),
        (
            "no_alert_during: {phase: calm, factor: 2}",
            "alerts.yaml:15:48: upstreams.api.expect[0].no_alert_during.factor: no burn-rate "
            "alert has the factor 2; did you mean 3? (the alerts' factors: 14.4, 6, 3, 1)",
        ),
        (
            "alert_fires: {factor: 6, within: 0s, after_start_of: outage}",
            "alerts.yaml:15:42: upstreams.api.expect[0].alert_fires.within: an alert needs time "
            "to fire: give a deadline above zero",
        ),
        (
            "alert_fires: {factor: 6, within: 1m}",
            "alerts.yaml:15:22: upstreams.api.expect[0].alert_fires: give exactly one of "
            "after_start_of or after_end_of (a phase name)",
        ),
        (
            "no_alert_during: {phase: calm, facter: 6}",
            "alerts.yaml:15:40: upstreams.api.expect[0].no_alert_during.facter: unknown key "
            "'facter'; did you mean 'factor'? (allowed here: factor, phase)",
        ),
    ],
)
def test_mistakes_are_located(item: str, expected: str) -> None:
    assert problem(OUTAGE, item) == expected


def test_alerts_need_an_error_budget() -> None:
    no_period = OUTAGE.replace("    slo_period: 12h\n", "")
    assert problem(no_period, "no_alert_during: {phase: calm}") == (
        "alerts.yaml:14:26: upstreams.api.expect[0].no_alert_during: burn-rate alerts need an "
        "error budget: add slo_period (the period the alert windows scale by)"
    )
    neither = no_period.replace('slo: ["success_rate >= 93.75%"]', 'slo: ["p95 < 1s"]')
    assert problem(neither, "alert_fires: {within: 1m, after_start_of: outage}") == (
        "alerts.yaml:14:22: upstreams.api.expect[0].alert_fires: burn-rate alerts need an error "
        "budget: add slo_period (the period the alert windows scale by) and a target objective "
        "in slo, like 'success_rate >= 99.9%'"
    )
    assert problem(no_period, "no_alert_during: {phase: calm}", extra="").startswith(
        "alerts.yaml:14:26"
    )
    assert problem(
        OUTAGE, "no_alert_during: {phase: calm}", extra="    alert_min_requests: 0\n"
    ) == ("alerts.yaml:14:25: upstreams.api.alert_min_requests: must be at least 1, got 0")


def test_alert_min_requests_needs_slo_period() -> None:
    no_period = OUTAGE.replace("    slo_period: 12h\n", "    alert_min_requests: 10\n")
    with pytest.raises(ScenarioError) as caught:
        scenario(no_period, "alerts.yaml")
    assert str(caught.value) == (
        "alerts.yaml:12:25: upstreams.api.alert_min_requests: alert_min_requests needs "
        "slo_period: without it no alert is evaluated"
    )


def test_a_breaker_expectation_still_needs_a_breaker_beside_alert_ones() -> None:
    assert problem(OUTAGE, "no_alert_during: {phase: calm}", "no_upstream_calls_while_open") == (
        "alerts.yaml:15:7: upstreams.api.expect: expectations need a breaker, and this upstream "
        "has none"
    )


def test_every_report_shows_the_verdicts_and_when(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table fits the terminal: keep the texts whole
    path = tmp_path / "alerts.yaml"
    path.write_text(
        OUTAGE
        + "    expect:\n"
        + "      - alert_fires: {factor: 14.4, within: 53s, after_start_of: outage}\n"
        + "      - no_alert_during: {phase: calm}\n"
    )
    reports = tmp_path / "reports"
    code = main(["run", str(path), "--reports", str(reports)])
    out = {kind: next(reports.glob(f"*.{kind}")) for kind in ("json", "xml", "html")}
    assert code == 1
    [result] = json.loads(out["json"].read_text())["results"]
    expectations = result["upstreams"]["api"]["expectations"]
    assert [(e["check"], e["passed"], e["observed"], e["threshold"]) for e in expectations] == [
        ("alert_fires", False, 54_000.0, 53_000.0),
        ("no_alert_during", True, 0.0, 0.0),
    ]
    fired = "the 14.4× alert fired at 354s, 54s after 'outage' starts at 300s"
    terminal = capsys.readouterr().out
    assert "FAIL     api       expect the 14.4× alert fires within 53s after 'outage' starts" in (
        terminal
    )
    assert f"      {fired}\n" in terminal
    for kind in ("xml", "html"):
        text = html.unescape(out[kind].read_text())
        assert "the 14.4× alert fires within 53s after" in text, kind
        assert fired in text, kind
        assert "no alert fired during" in text, kind


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7])
def test_the_shipped_scenario_passes_over_seeds(seed: int) -> None:
    result = run(load_scenario(SCENARIOS / "api-burn-alerts.yaml"), seed=seed)
    api = result.upstreams["api"]
    assert result.passed
    assert [verdict.check for verdict in api.expectations] == ["no_alert_during", "alert_fires"]
    assert api.breaker is None
    fired = api.expectations[1].observed
    assert fired is not None
    assert 10_000 <= fired <= 20_000  # 65 of the 30 s window's 150 requests: about 13 s in


def test_alert_and_breaker_expectations_mix_on_an_upstream_with_a_breaker() -> None:
    # Short-circuited requests are bad events too: the breaker sheds load, not the budget.
    breaker = "    breaker: {sliding_window_size: 4, minimum_number_of_calls: 4}\n"
    opens, fires = checked(
        OUTAGE,
        "opens: {within: 5s, after_start_of: outage}",
        "alert_fires: {factor: 14.4, within: 54s, after_start_of: outage}",
        extra=breaker,
    )
    assert opens.passed
    assert opens.check == "opens"
    assert summary(fires) == (
        True,
        54_000.0,
        "the 14.4× alert fired at 354s, 54s after 'outage' starts at 300s",
    )
