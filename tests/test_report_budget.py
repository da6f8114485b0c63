"""Every report shows an upstream's error budget and when its burn-rate alerts would have fired:
the HTML timeline (a lane per alert on the shared time axis) and its budget block, the terminal
table, the metrics files and JUnit's properties. An upstream without a budget shows none of it.

The shipped ``api-burn-alerts`` runs 5 requests/s evenly spaced (one each 0.2 s from t = 0) and
fails every request of its outage (900 s to 930 s). Its 14.4× alert, scaled by 6h/30d to
windows of 30 s and 2.5 s, needs more than 14.4 × 3% = 43.2% bad requests in both:

- it starts firing when the 30 s window (150 requests) holds 65 bad ones (> 64.8): the outage's
  65th request, at 900 + 64 × 0.2 = 912.8 s;
- it stops once the 2.5 s window (13 requests) holds 5 bad (≤ 5.616): at 931.4 s the window
  (928.9 s, 931.4 s] holds only 929.0…929.8 s of the outage; at 931.2 s it held 6. So it fired
  from 912.8 s to 931.2 s.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest

from harness import Outcome, Result, load_scenario, parse_objective, run
from harness.report.digest import digest
from harness.report.text import budget_lines, result_table
from harness.verdicts.budget import burn_rate
from tests.reporting import JUNIT_XSD, pair, run_text
from tests.support import SCENARIOS

FIRED_14_4 = (912_800.0, 931_200.0)  # hand-derived above, in ms of virtual time

QUIET = """\
name: quiet-budget
duration: 1m
seed: 3
upstreams:
  api:
    latency: 20ms
    traffic: {rate: 5/s}
    slo_period: 6h
    slo: ["success_rate >= 97%"]
"""


@pytest.fixture(scope="module")
def burn() -> Result:
    return run(load_scenario(SCENARIOS / "api-burn-alerts.yaml"))


@pytest.fixture(scope="module")
def steady() -> Result:
    return run(load_scenario(SCENARIOS / "t1-steady.yaml"))


def _budget(result: Result) -> dict[str, Any]:
    budget: dict[str, Any] = pair(result)[0]["upstreams"]["api"]["budget"]
    return budget


def _alert(result: Result, factor: float) -> dict[str, Any]:
    return next(a for a in _budget(result)["alerts"] if a["factor"] == factor)


def test_the_results_hold_the_hand_derived_firing_of_the_fast_alert(burn: Result) -> None:
    alert = _alert(burn, 14.4)
    assert (alert["long_window_ms"], alert["short_window_ms"]) == (30_000.0, 2_500.0)
    assert [(s["from_ms"], s["to_ms"]) for s in alert["fired"]] == [FIRED_14_4]
    # Independently: both windows burn above 14.4× at its first firing, not one request before.
    target = parse_objective("success_rate >= 97%")
    samples = burn.upstreams["api"].samples
    at = round(FIRED_14_4[0] * 1e6)
    for window in (30_000_000_000, 2_500_000_000):
        assert (burn_rate(target, samples, window, at) or 0) > 14.4
    assert (burn_rate(target, samples, 30_000_000_000, at - 200_000_000) or 0) <= 14.4


# --- HTML ---------------------------------------------------------------------------------

FIGURE_PT = 10.5 * 72  # the timeline's width in points, as its SVG says
LEFT, RIGHT = 0.075 * FIGURE_PT, 0.78 * FIGURE_PT  # its axes, with room for SLO labels


def _page(entry: dict[str, Any], data: dict[str, Any]) -> str:
    html = pytest.importorskip("harness.report.html", reason="needs the report extra")
    page: str = html.html_document([(entry, data)])
    return page


def _bar_x(page: str, gid: str) -> tuple[float, float]:
    """Return the leftmost and rightmost x (pt) of the path drawn under the SVG id ``gid``."""
    found = re.search(rf'<g id="{re.escape(gid)}">\s*<path d="([^"]+)"', page)
    assert found, gid
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", found.group(1))]
    xs = numbers[::2]
    return min(xs), max(xs)


def test_the_timeline_draws_each_firing_span_at_its_time(burn: Result) -> None:
    entry, data = pair(burn)
    page = _page(entry, data)
    assert re.search(rf'width="{FIGURE_PT:g}pt"', page)
    end = entry["end_ms"]
    drawn = 0
    for alert in entry["upstreams"]["api"]["budget"]["alerts"]:
        key = f"{alert['factor']:g}"
        for index, span in enumerate(alert["fired"]):
            left, right = _bar_x(page, f"scenario-1-0-timeline-alert-{key}-span-{index}")
            width = max(span["to_ms"] - span["from_ms"], end / 400)  # a sliver at least
            assert left == pytest.approx(LEFT + span["from_ms"] / end * (RIGHT - LEFT), abs=0.1)
            right_ms = span["from_ms"] + width
            assert right == pytest.approx(LEFT + right_ms / end * (RIGHT - LEFT), abs=0.1)
            drawn += 1
        assert f"-timeline-alert-{key}-span-{len(alert['fired'])}" not in page
    assert drawn == 2  # 14.4× and 1×
    # The 14.4× bar sits at the hand-derived 912.8 s: 15m12.8s of the 30-minute axis.
    left, _ = _bar_x(page, "scenario-1-0-timeline-alert-14.4-span-0")
    assert left == pytest.approx(LEFT + 912.8 / 1800 * (RIGHT - LEFT), abs=0.1)
    labels = [
        re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", page)
    ]
    for text in ("14.4× (30s/2.5s)", "6× (3m/15s) never fired", "3× (12m/1m) never fired"):
        assert text in labels


def test_the_budget_block_lists_spent_and_each_alerts_spans(burn: Result) -> None:
    entry, data = pair(burn)
    page = _page(entry, data)
    budget = entry["upstreams"]["api"]["budget"]
    bad = sum(
        n for outcome, n in entry["upstreams"]["api"]["outcomes"].items() if outcome != "success"
    )
    assert budget["spent"] == pytest.approx(bad / (0.03 * 9000))
    assert f'data-spent="{budget["spent"]}"' in page
    assert f"<strong>{budget['spent'] * 100:.3f}%</strong> spent: {bad} bad of 9,000" in page
    row = re.search(r'<tr class="alert" data-factor="14.4">(.*?)</tr>', page, re.DOTALL)
    assert row
    assert 'data-from-ms="912800.0" data-to-ms="931200.0">15m12.8s–15m31.2s<' in row.group(1)
    quiet = re.search(r'<tr class="alert" data-factor="6">(.*?)</tr>', page, re.DOTALL)
    assert quiet
    assert "never" in quiet.group(1)
    assert "a lane per burn-rate alert" in page


def test_the_burn_down_counts_bad_requests_over_the_whole_allowance(burn: Result) -> None:
    display = digest(burn)["upstreams"]["api"]["display"]
    spent = display["budget_spent"]
    assert len(spent) == len(display["t_ms"]) == 360
    samples = burn.upstreams["api"].samples
    for index in (0, 59, 179, 180, 185, 359):  # before, in and after the outage
        end = (index + 1) * display["bucket_ms"] * 1_000_000
        started = samples.start_ns < end
        bad = int(np.count_nonzero(started & (samples.outcome != Outcome.SUCCESS)))
        assert spent[index] == pytest.approx(bad / (0.03 * 9000), abs=1e-12), index
    assert spent[-1] == _budget(burn)["spent"]
    # The outage (900 s to 930 s: 150 requests, all bad) spends 150 / 270 of it in 30 s.
    assert spent[185] - spent[179] == pytest.approx(150 / 270, abs=2 / 270)


def test_the_burn_down_panel_draws_the_budget_spent_limit(burn: Result) -> None:
    page = _page(*pair(burn))
    assert "SLO budget_spent &lt;= 75% (PASS)" in page
    assert "Not drawn" not in page  # budget_spent is drawn now
    assert "the error budget spent so far" in page


def test_a_budget_without_a_period_has_a_burn_down_and_no_alert_lanes() -> None:
    text = QUIET.replace("    slo_period: 6h\n", "").replace(
        '["success_rate >= 97%"]', '["success_rate >= 97%", "budget_spent <= 50%"]'
    )
    entry, data = pair(run_text(text, "scenarios/spent.yaml"))
    assert entry["upstreams"]["api"]["budget"]["alerts"] == []
    assert data["upstreams"]["api"]["display"]["budget_spent"][-1] == 0
    page = _page(entry, data)
    assert "SLO budget_spent &lt;= 50% (PASS)" in page
    assert "-alert-" not in page
    assert "burn-rate alert" not in page


def test_an_upstream_without_a_budget_draws_no_alerts(burn: Result, steady: Result) -> None:
    entry, data = pair(burn)
    del entry["upstreams"]["api"]["budget"]
    page = _page(entry, data)
    assert "-alert-" not in page
    assert "Error budget" not in page
    assert "burn-rate" not in page
    assert "budget" not in _page(*pair(steady)).lower()
    assert all("budget_spent" not in up["display"] for up in digest(steady)["upstreams"].values())


# --- terminal -----------------------------------------------------------------------------


def test_the_terminal_table_says_budget_spent_and_each_alert_that_fired(burn: Result) -> None:
    budget = _budget(burn)
    one = _alert(burn, 1.0)["fired"]
    assert len(one) == 1
    lines = result_table(burn).splitlines()
    at = lines.index(
        f"  api: error budget {budget['spent'] * 100:.3f}% spent: {budget['bad']} bad of 9000 "
        "requests against success_rate >= 97%"
    )
    assert lines[at + 1 : at + 3] == [
        "    alert 14.4× (30s/2.5s) fired 912.8s–931.2s",
        f"    alert 1× (36m/3m) fired {one[0]['from_ms'] / 1000:g}s–{one[0]['to_ms'] / 1000:g}s",
    ]
    assert at + 3 == len(lines)  # 6× and 3× never fired: no line
    assert all(len(line) <= 60 for line in result_table(burn, width=60).splitlines())


def test_with_alerts_none_of_which_fired_the_table_says_so() -> None:
    quiet = run_text(QUIET, "scenarios/quiet.yaml")
    assert result_table(quiet).splitlines()[-2:] == [
        "  api: error budget 0% spent: 0 bad of 300 requests against success_rate >= 97%",
        "    no burn-rate alert fired",
    ]


def test_without_a_budget_the_table_has_no_budget_lines(steady: Result) -> None:
    assert "budget" not in result_table(steady)
    assert "alert" not in result_table(steady)


# --- metrics and JUnit --------------------------------------------------------------------


def test_metrics_carry_budget_spent_and_alert_firings(burn: Result, steady: Result) -> None:
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    openmetrics = pytest.importorskip("harness.report.openmetrics")
    entry = pair(burn)[0]
    text = openmetrics.openmetrics_text([entry])
    samples = {
        (sample.name, sample.labels.get("factor")): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("upstream") == "api"
    }
    assert samples["slo_budget_spent_ratio", None] == _budget(burn)["spent"]
    firings = {f: v for (n, f), v in samples.items() if n == "slo_burn_alert_firings_total"}
    assert firings == {"14.4": 1, "6": 0, "3": 0, "1": 1}
    first = {f: v for (n, f), v in samples.items() if n == "slo_burn_alert_first_firing_seconds"}
    assert first == {"14.4": 912.8, "1": _alert(burn, 1.0)["fired"][0]["from_ms"] / 1000}
    assert 'alert="14.4× (30s/2.5s)"' in openmetrics.prometheus_text([entry])
    plain = openmetrics.prometheus_text([pair(steady)[0]])
    assert "budget" not in plain
    assert "burn" not in plain
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    checked = subprocess.run(
        [promtool, "check", "metrics"],
        input=openmetrics.prometheus_text([entry]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_junit_properties_carry_budget_spent_and_alert_spans(burn: Result, steady: Result) -> None:
    from harness.report.junit import junit_document

    root = ET.fromstring(junit_document([pair(burn)[0]]).encode())
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["api: budget :: spent"] == repr(_budget(burn)["spent"])
    assert properties["api: alert 14.4× (30s/2.5s) :: fired"] == "912.8s–931.2s"
    assert properties["api: alert 6× (3m/15s) :: fired"] == "never"
    assert "budget" not in junit_document([pair(steady)[0]])


def test_a_flapping_alert_lists_its_first_spans_and_draws_them_all(burn: Result) -> None:
    entry, data = pair(burn)
    flaps = [{"from_ms": 60_000.0 * k, "to_ms": 60_000.0 * k + 5_000.0} for k in range(1, 16)]
    entry["upstreams"]["api"]["budget"]["alerts"][1]["fired"] = flaps  # the 6× alert
    lines = budget_lines(entry)
    assert len(lines) == 4  # spent, 14.4×, 6×, 1×
    line = lines[2]
    assert line.startswith("    alert 6× (3m/15s) fired 60s–65s, 120s–125s, ")
    assert line.endswith(", 720s–725s, … (15 spans in all)")
    page = _page(entry, data)
    assert len(re.findall(r'id="scenario-1-0-timeline-alert-6-span-\d+"', page)) == 15
    row = re.search(r'<tr class="alert" data-factor="6">(.*?)</tr>', page, re.DOTALL)
    assert row
    assert row.group(1).count("data-from-ms=") == 12
    assert row.group(1).endswith(", … (15 spans in all)</td>")


def test_junit_with_budget_properties_validates_against_the_common_schema(burn: Result) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    from harness.report.junit import junit_document

    root = ET.fromstring(junit_document([pair(burn)[0]]).encode())
    for case in root.iter("testcase"):  # the two attributes pytest's xunit1 family adds
        case.attrib.pop("line", None)
        case.attrib.pop("file", None)
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(ET.tostring(root, "unicode"))


def test_past_30_minutes_the_burn_down_follows_the_wider_buckets() -> None:
    text = QUIET.replace("duration: 1m", "duration: 40m").replace(
        "latency: 20ms", "latency: 20ms\n    failure_rate: 5%"
    )
    result = run_text(text, "scenarios/long-budget.yaml")
    display = digest(result)["upstreams"]["api"]["display"]
    assert display["bucket_ms"] == 10_000  # 480 five-second buckets would be over 360
    spent = display["budget_spent"]
    assert len(spent) == len(display["t_ms"]) == 240
    samples = result.upstreams["api"].samples
    for index in (0, 100, 239):
        started = samples.start_ns < (index + 1) * 10_000_000_000
        bad = int(np.count_nonzero(started & (samples.outcome != Outcome.SUCCESS)))
        assert spent[index] == pytest.approx(bad / (0.03 * len(samples)), abs=1e-12)
    assert spent[-1] == pair(result)[0]["upstreams"]["api"]["budget"]["spent"] > 1  # overspent
