from __future__ import annotations

import pytest

from harness.upstreams.streams import stream
from harness.upstreams.traffic import arrivals
from tests.support import scenario

SECOND = 10**9


def traffic(rate: str, kind: str = "constant"):  # type: ignore[no-untyped-def]
    loaded = scenario(
        f"duration: 1h\nupstreams: {{u: {{traffic: {{rate: {rate}, arrivals: {kind}}}}}}}"
    )
    return loaded.upstreams["u"].traffic


def test_constant_rate_gives_exactly_rate_times_duration() -> None:
    times = list(arrivals(traffic("10/s"), 60 * SECOND, stream(0, "u", "arrivals")))
    assert len(times) == 600
    assert times[:3] == [0, 100_000_000, 200_000_000]
    assert times[-1] == 59_900_000_000


def test_constant_rate_with_a_fractional_period_stays_exact() -> None:
    times = list(arrivals(traffic("3/s"), 10 * SECOND, stream(0, "u", "arrivals")))
    assert len(times) == 30
    assert times[1] == 333_333_333
    assert times[3] == SECOND


def test_per_minute_and_per_hour_rates() -> None:
    assert len(list(arrivals(traffic("90/h"), 3600 * SECOND, stream(0, "u", "a")))) == 90
    assert len(list(arrivals(traffic("30/m"), 60 * SECOND, stream(0, "u", "a")))) == 30


def test_poisson_arrivals_have_the_requested_mean_rate_and_are_seeded() -> None:
    poisson = traffic("20/s", "poisson")
    times = list(arrivals(poisson, 600 * SECOND, stream(5, "u", "arrivals")))
    assert len(times) == pytest.approx(12_000, rel=0.03)
    assert times == sorted(times)
    assert times[0] > 0
    assert times[-1] < 600 * SECOND
    assert times == list(arrivals(poisson, 600 * SECOND, stream(5, "u", "arrivals")))
    assert times != list(arrivals(poisson, 600 * SECOND, stream(6, "u", "arrivals")))
