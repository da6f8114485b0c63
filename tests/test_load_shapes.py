"""Load shapes: traffic stages (ramps of the rate) and repeating phases (flapping)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import ScenarioError, run
from harness.format.load_shapes import expected_requests
from harness.upstreams.streams import stream
from harness.upstreams.traffic import arrivals
from tests.support import scenario

SECOND = 10**9
MINUTE = 60 * SECOND


def staged(rate: str, stages: str, kind: str = "constant", duration: str = "1h"):  # type: ignore[no-untyped-def]
    loaded = scenario(
        f"duration: {duration}\nupstreams: {{u: {{traffic: {{rate: {rate}, arrivals: {kind},"
        f" stages: {stages}}}}}}}"
    )
    return loaded.upstreams["u"].traffic


def per_minute(times: list[int], minutes: int) -> list[int]:
    counts = np.bincount(np.array(times, dtype=np.int64) // MINUTE, minlength=minutes)
    return counts.tolist()  # type: ignore[no-any-return]


def test_a_ramp_sends_the_integral_of_its_rate_every_minute() -> None:
    ramp = staged("10/s", "[{duration: 10m, target: 100/s}]")
    times = list(arrivals(ramp, 10 * MINUTE, stream(0, "u", "arrivals")))
    # r(t) = 10 + 0.15·t per second; minute i holds 600 + 0.15·(60²)(2i + 1)/2 = 870 + 540·i.
    assert per_minute(times, 10) == [870 + 540 * i for i in range(10)]
    assert len(times) == 33_000 == expected_requests(ramp.rate, ramp.stages, 10 * MINUTE)
    assert times == sorted(times)
    assert times[:2] == [0, 99_925_112]  # 10t + 0.075t² = 1 at t = (√100.3 − 10)/0.15 = 0.09992511…


def test_arrivals_are_where_the_integral_reaches_each_whole_number() -> None:
    ramp = staged("7/s", "[{duration: 90s, target: 1/s}, {duration: 1m, target: 30/m}]")
    times = list(arrivals(ramp, 5 * MINUTE, stream(0, "u", "arrivals")))
    for k, at_ns in enumerate(times):
        # ⌊t_k⌋: N is still at or below k at the floor, and past it a nanosecond later.
        assert expected_requests(ramp.rate, ramp.stages, at_ns) <= k
        assert expected_requests(ramp.rate, ramp.stages, at_ns + 1) > k or at_ns == 0
    total = expected_requests(ramp.rate, ramp.stages, 5 * MINUTE)
    assert len(times) == int(np.ceil(float(total)))


def test_after_the_last_stage_the_rate_holds_and_flat_stages_change_nothing() -> None:
    flat = staged("10/s", "[{duration: 1m, target: 10/s}]")
    plain = scenario("duration: 1h\nupstreams: {u: {traffic: {rate: 10/s}}}")
    times = list(arrivals(flat, 3 * MINUTE, stream(0, "u", "arrivals")))
    assert times == list(arrivals(plain.upstreams["u"].traffic, 3 * MINUTE, stream(0, "u", "a")))
    down = staged("100/s", "[{duration: 1m, target: 10/s}]")
    times = list(arrivals(down, 3 * MINUTE, stream(0, "u", "arrivals")))
    assert per_minute(times, 3) == [3300, 600, 600]


def test_poisson_on_a_ramp_follows_the_rate_and_is_seeded() -> None:
    ramp = staged("10/s", "[{duration: 10m, target: 100/s}]", "poisson")
    times = list(arrivals(ramp, 10 * MINUTE, stream(4, "u", "arrivals")))
    assert times == list(arrivals(ramp, 10 * MINUTE, stream(4, "u", "arrivals")))
    counts = per_minute(times, 10)
    for i, count in enumerate(counts):
        expected = 870 + 540 * i
        assert abs(count - expected) < 5 * expected**0.5  # five standard deviations
    assert counts[-1] > 4 * counts[0]


@given(
    rate=st.integers(1, 500),
    targets=st.lists(st.tuples(st.integers(1, 120), st.integers(1, 500)), min_size=1, max_size=4),
)
@settings(max_examples=40, deadline=None)
def test_any_window_of_whole_nanoseconds_holds_the_integral_rounded_up(
    rate: int, targets: list[tuple[int, int]]
) -> None:
    stages = ", ".join(f"{{duration: {d}s, target: {t}/m}}" for d, t in targets)
    ramp = staged(f"{rate}/m", f"[{stages}]")
    end = sum(d for d, _ in targets) * SECOND + 30 * SECOND
    times = np.array(list(arrivals(ramp, end, stream(0, "u", "arrivals"))), dtype=np.int64)
    for a, b in [(0, end), (end // 3, end // 2), (7 * SECOND, end - 1)]:
        n_a = expected_requests(ramp.rate, ramp.stages, a)
        n_b = expected_requests(ramp.rate, ramp.stages, b)
        inside = int(((times >= a) & (times < b)).sum())
        assert inside == _ceil(n_b) - _ceil(n_a)


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def test_the_request_limit_counts_the_ramp() -> None:
    with pytest.raises(ScenarioError, match=r"about 150,000,050 requests"):
        scenario(
            "duration: 200s\nupstreams: {u: {traffic: {rate: 1/s, stages: "
            "[{duration: 100s, target: 1000000/s}]}}}"
        )


@pytest.mark.parametrize(
    ("stages", "where", "says"),
    [
        ("[{duration: 0s, target: 5/s}]", "stages[0].duration", "above zero"),
        ("[{duration: 1m, target: -5/s}]", "stages[0].target", "expected a request rate"),
        ("[{duration: 1m, target: 0/s}]", "stages[0].target", "above zero"),
        ("[{duration: 1m, targt: 5/s}]", "stages[0].targt", "did you mean 'target'?"),
        ("[{duration: 1m}]", "stages[0]", "'target' is missing"),
        ("{duration: 1m, target: 5/s}", "stages", "expected a list"),
    ],
)
def test_bad_stages_are_located_errors(stages: str, where: str, says: str) -> None:
    text = f"duration: 1h\nupstreams:\n  u:\n    traffic: {{rate: 1/s, stages: {stages}}}\n"
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    assert f"upstreams.u.traffic.{where}" in str(caught.value)
    assert says in str(caught.value)


FLAPPING = """\
duration: 10m
seed: 4
upstreams:
  api:
    latency: 10ms
    timeline:
      - {name: flap, from: 1m, every: 1m, for: 30s, times: 6, failure_rate: 100%,
         errors: {503: 100%}}
    traffic: {rate: 10/s}
    slo: [success_rate >= 50%]
"""


@pytest.mark.parametrize("engine", ["http", "direct"])
def test_a_repeating_phase_flaps_the_upstream(engine: str) -> None:
    result = run(scenario(FLAPPING), engine=engine)
    samples = result.upstreams["api"].samples
    failed = samples.start_ns[samples.outcome != 0] // (30 * SECOND)
    # Half-minutes 2, 4, … 12 (from 1m, every minute, six times) failed entirely; none else.
    assert sorted(set(failed.tolist())) == [2, 4, 6, 8, 10, 12]
    assert len(failed) == 6 * 300
    phases = result.to_dict(run_info=False)["upstreams"]["api"]["phases"]
    assert [(p["name"], p["from_ms"], p["to_ms"]) for p in phases][::5] == [
        ("flap #1", 60_000.0, 90_000.0),
        ("flap #6", 360_000.0, 390_000.0),
    ]


def test_both_engines_agree_on_ramps_and_flapping() -> None:
    text = FLAPPING.replace("rate: 10/s}", "rate: 2/s, stages: [{duration: 5m, target: 40/s}]}")
    http, direct = (
        run(scenario(text), engine=engine).to_dict(run_info=False) for engine in ("http", "direct")
    )
    for result in (http, direct):
        result.pop("engine")
        result.pop("replay")
    assert http == direct


@pytest.mark.parametrize(
    ("phase", "where", "says"),
    [
        ("{from: 1m, every: 1m, for: 30s}", "timeline[0]", "both 'every' and 'times'"),
        ("{from: 1m, for: 30s, times: 3}", "timeline[0]", "both 'every' and 'times'"),
        ("{from: 1m, every: 30s, for: 30s, times: 3}", "timeline[0]", "would overlap"),
        ("{from: 1m, to: 2m, for: 30s}", "timeline[0]", "disagrees"),
        ("{from: 1m, for: 3x}", "timeline[0].for", "duration"),
        ("{from: 1m, every: 1m, for: 30s, times: 0}", "timeline[0].times", "at least 1"),
        ("{from: 1m, every: 1m, for: 30s, times: 9}", "timeline[0].times", "after the scenario"),
        ("{from: 1m, every: 1m, for: 30s, tims: 2}", "timeline[0].tims", "did you mean 'times'"),
    ],
)
def test_bad_repeating_phases_are_located_errors(phase: str, where: str, says: str) -> None:
    text = f"duration: 9m\nupstreams:\n  u:\n    timeline: [{phase}]\n"
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    assert f"upstreams.u.{where}" in str(caught.value)
    assert says in str(caught.value)
