"""A scenario's memory is estimated when it is loaded, and one over the budget is refused with
the cause and the numbers; validating any file stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ScenarioError
from harness.format import cross_checks
from harness.format.budget import DEFAULT_MEMORY_BUDGET, memory_budget, parse_size
from harness.format.loader import parse_scenario
from harness.verdicts.timeseries import BUCKET_NS, MAX_BUCKETS, bucket_width

SLOW_BURST = """\
duration: 10m
upstreams:
  vertex:
    latency: 20m
    traffic: {rate: 1/s, timeout: 30m, bursts: [{at: 1m, requests: 1000000}]}
"""


def test_a_burst_held_in_flight_over_the_budget_is_refused_naming_it() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(SLOW_BURST, "x.yaml")
    message = str(caught.value)
    assert message.startswith("x.yaml:5:48: upstreams.vertex.traffic.bursts: ")
    assert "up to 1,000,600 requests in flight at once × ~9,000 bytes on the http engine" in message
    assert "over the budget of 2.0 GiB" in message


@pytest.mark.parametrize(
    "change",
    [
        "traffic: {rate: 1/s, timeout: 30m, concurrency: 1000, "
        "bursts: [{at: 1m, requests: 1000000}]}",
        "traffic: {rate: 1/s, timeout: 1s, bursts: [{at: 1m, requests: 100000}]}",
    ],
)
def test_a_cap_or_a_short_timeout_brings_it_within_the_budget(change: str) -> None:
    text = SLOW_BURST.replace(SLOW_BURST.splitlines()[4].strip(), change)
    parse_scenario(text)


def test_the_budget_is_set_per_run() -> None:
    with memory_budget(parse_size("20GiB")):
        parse_scenario(SLOW_BURST)
    with memory_budget(parse_size("1MB")), pytest.raises(ScenarioError, match="budget of 976"):
        parse_scenario("duration: 1h\nupstreams: {t1: {traffic: {rate: 100/s}}}\n")
    parse_scenario("duration: 1h\nupstreams: {t1: {traffic: {rate: 100/s}}}\n")


def test_the_command_line_takes_a_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "burst.yaml"
    path.write_text(SLOW_BURST)
    assert main(["validate", str(path)]) == 2
    assert "over the budget" in capsys.readouterr().err
    assert main(["validate", str(path), "--memory-budget", "20GiB"]) == 0


@pytest.mark.parametrize(
    ("text", "size"), [("4GiB", 4 * 2**30), ("500MB", 5 * 10**8), ("1000", 1000)]
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size
    assert DEFAULT_MEMORY_BUDGET == 2 * 2**30


def test_a_long_series_gets_wider_buckets_not_more() -> None:
    day = 24 * 3600 * 10**9
    assert bucket_width(day) == BUCKET_NS
    assert bucket_width(day + 1) == 2 * BUCKET_NS
    assert bucket_width(60 * day) == 60 * BUCKET_NS
    assert -(-60 * day // bucket_width(60 * day)) <= MAX_BUCKETS


def test_overlap_checks_of_many_upstreams_are_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"u{index}" for index in range(999)]
    body = "".join(f"  {name}: {{url: 'https://api.test/{name}x/'}}\n" for name in names)
    parsed: list[str] = []
    split = cross_checks.urlsplit
    monkeypatch.setattr(cross_checks, "urlsplit", lambda url: parsed.append(url) or split(url))
    parse_scenario("duration: 1s\nupstreams:\n" + body)
    # Each URL parsed a bounded number of times, not once per pair (which took 23 s for 1000).
    assert len(names) <= len(parsed) <= 3 * len(names)
    clash = body + "  extra: {url: 'https://api.test/u1x/more'}\n"
    with pytest.raises(
        ScenarioError,
        match=r"upstreams\.extra\.url: upstreams 'u1' \(https://api\.test/u1x/\) and 'extra'",
    ):
        parse_scenario("duration: 1s\nupstreams:\n" + clash)


def test_the_number_of_upstreams_is_bounded() -> None:
    body = "".join(f"  u{index}: {{}}\n" for index in range(1001))
    with pytest.raises(ScenarioError, match=r"x\.yaml:3:3: upstreams: 1,001 upstreams, over the"):
        parse_scenario("duration: 1s\nupstreams:\n" + body, "x.yaml")


def test_a_ramp_is_budgeted_at_its_peak_not_at_its_start_rate() -> None:
    # At its 100 000/s peak, 10 s answers hold ~1 000 000 requests in flight (~9 GB on the HTTP
    # engine); the start rate alone would hold 10.
    ramp = (
        "duration: 10m\nupstreams:\n  t1:\n    latency: 10s\n    traffic:\n"
        "      rate: 1/s\n      timeout: 30s\n"
        "      stages: [{duration: 10m, target: 100000/s}]\n"
    )
    with pytest.raises(ScenarioError, match="requests in flight at once"):
        parse_scenario(ramp)
    parse_scenario(ramp.replace("100000/s", "2/s"))
