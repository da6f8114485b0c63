"""A diurnal rate curve for day-long soaks: a sinusoid between min and max."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest

from harness import ScenarioError, parse_scenario, run
from harness.format.budget import estimate_bytes
from harness.upstreams.streams import stream
from harness.upstreams.traffic import arrivals
from tests.support import scenario

SECOND = 10**9
HOUR = 3600 * SECOND


def diurnal_traffic(curve: str, kind: str = "constant", duration: str = "24h"):  # type: ignore[no-untyped-def]
    loaded = scenario(
        f"duration: {duration}\nengine: direct\nupstreams:\n  u:\n"
        f"    traffic: {{arrivals: {kind}, diurnal: {curve}}}\n"
    )
    return loaded.upstreams["u"].traffic


def integral(low: float, high: float, peak_h: float, period_h: float, t_h: Decimal) -> Decimal:
    """∫₀ᵗ r, r(s) = mid + amp·cos(2π(s − peak)/P), per second, by a Taylor-free route: the
    closed form evaluated in 40-digit decimals (sin from its series), independent of the
    harness's floating-point code."""
    getcontext().prec = 40
    pi = Decimal("3.1415926535897932384626433832795028841971")
    mid, amp = Decimal(low + high) / 2, Decimal(high - low) / 2
    period = Decimal(period_h) * 3600
    peak = Decimal(peak_h) * 3600
    t = t_h * 3600

    def sin(x: Decimal) -> Decimal:
        x = x % (2 * pi)
        term, total, n = x, x, 1
        while abs(term) > Decimal(10) ** -38:
            term = -term * x * x / ((2 * n) * (2 * n + 1))
            total += term
            n += 1
        return total

    swing = amp * period / (2 * pi)
    return mid * t + swing * (sin(2 * pi * (t - peak) / period) - sin(2 * pi * (-peak) / period))


def ceil(value: Decimal) -> int:
    # 40 digits carry ~1e-34 of rounding: where N is whole (16:00 and 24:00 below) the sum reads
    # 316800.000…0001; rounded to 1e-20 first, it is whole again.
    return math.ceil(value.quantize(Decimal("1e-20")))


def test_counts_per_hour_match_the_integral() -> None:
    traffic = diurnal_traffic("{min: 1/s, max: 10/s, peak_at: 14:00, period: 24h}")
    times = np.fromiter(arrivals(traffic, 24 * HOUR, stream(0, "u", "arrivals")), np.int64)
    counts = np.bincount(times // HOUR, minlength=24).tolist()
    expected = [
        ceil(integral(1, 10, 14, 24, Decimal(h + 1))) - ceil(integral(1, 10, 14, 24, Decimal(h)))
        for h in range(24)
    ]
    assert counts == expected
    # The shape: least in the hour around 02:00, most in the hour around 14:00, and a day holds
    # mid · 24 h = 5.5/s · 86 400 s = 475 200 requests (the sine's whole period integrates to 0).
    assert sorted(counts)[:2] == sorted(counts[1:3])  # the hours either side of 02:00
    assert sorted(counts)[-2:] == sorted(counts[13:15])  # … and of 14:00
    assert len(times) == 475_200
    # The hour before the peak averages mid + amp·sin(π/12)/(π/12) = 9.9488…/s.
    assert abs(counts[13] - 3600 * (5.5 + 4.5 * math.sin(math.pi / 12) / (math.pi / 12))) < 1


def test_arrivals_are_where_the_integral_reaches_each_whole_number() -> None:
    traffic = diurnal_traffic("{min: 3/s, max: 7/s, peak_at: '00:30', period: 1h}", duration="2h")
    times = list(arrivals(traffic, 2 * HOUR, stream(0, "u", "arrivals")))
    curve = traffic.diurnal
    for k, at_ns in enumerate(times[:: len(times) // 500]):
        k *= len(times) // 500
        assert curve.requests_until(at_ns) <= k < curve.requests_until(at_ns + 1) or at_ns == 0


def test_poisson_arrivals_follow_the_curve_and_are_seeded() -> None:
    # 130 000 arrivals: at least ~3 600 an hour, so 5 standard deviations are within ±9%.
    traffic = diurnal_traffic("{min: 1/s, max: 5/s, peak_at: 6h, period: 12h}", "poisson", "12h")
    times = list(arrivals(traffic, 12 * HOUR, stream(7, "u", "arrivals")))
    assert times == list(arrivals(traffic, 12 * HOUR, stream(7, "u", "arrivals")))
    counts = np.bincount(np.array(times) // HOUR, minlength=12)
    for h, count in enumerate(counts.tolist()):
        mean = float(integral(1, 5, 6, 12, Decimal(h + 1)) - integral(1, 5, 6, 12, Decimal(h)))
        assert abs(count - mean) < 5 * math.sqrt(mean), h


def test_a_time_of_day_or_a_duration_and_defaults() -> None:
    for spelled in ("14:00", "'14:00'", "14h", "'14:00:00'", "840m"):
        traffic = diurnal_traffic(f"{{min: 1/s, max: 2/s, peak_at: {spelled}}}")
        assert traffic.diurnal.peak_at == 14 * HOUR
    traffic = diurnal_traffic("{min: 1/s, max: 2/s}")
    assert (traffic.diurnal.peak_at, traffic.diurnal.period) == (12 * HOUR, 24 * HOUR)
    assert traffic.diurnal.rate_at(12 * HOUR) == 2.0
    assert traffic.diurnal.rate_at(0) == 1.0


@pytest.mark.parametrize(
    ("traffic", "where", "says"),
    [
        ("{diurnal: {min: 1/s, max: 2/s, peak_at: 25:00}}", "traffic.diurnal", "within the period"),
        ("{diurnal: {min: 5/s, max: 2/s}}", "traffic.diurnal", "min (5/s) is above max"),
        ("{diurnal: {min: 0/s, max: 2/s}}", "traffic.diurnal.min", "above zero"),
        ("{diurnal: {min: 1/s, max: 2/s, peak: 3h}}", "traffic.diurnal.peak", "'peak_at'"),
        ("{diurnal: {min: 1/s, max: 2/s, peak_at: noon}}", "traffic.diurnal.peak_at", "duration"),
        ("{diurnl: {min: 1/s, max: 2/s}}", "traffic.diurnl", "did you mean 'diurnal'"),
        ("{rate: 1/s, diurnal: {min: 1/s, max: 2/s}}", "traffic", "not both"),
        ("{timeout: 1s}", "traffic", "'rate' (e.g. 10/s) or 'diurnal'"),
        (
            "{diurnal: {min: 1/s, max: 2/s}, stages: [{duration: 1m, target: 3/s}]}",
            "traffic",
            "'stages' or 'diurnal'",
        ),
    ],
)
def test_bad_diurnal_curves_are_located_errors(traffic: str, where: str, says: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario(f"duration: 1h\nupstreams:\n  u:\n    traffic: {traffic}\n")
    assert "test.yaml:4:" in str(caught.value)
    assert f"upstreams.u.{where}" in str(caught.value)
    assert says in str(caught.value)


def test_the_memory_estimate_counts_the_curve_at_its_peak() -> None:
    # At its 50 000/s peak, 10 s answers hold ~500 000 requests in flight (~4.5 GB on the HTTP
    # engine); the start (and the trough) at 1/s would hold 10.
    text = (
        "duration: 1h\nupstreams:\n  t1:\n    latency: 10s\n    traffic:\n      timeout: 30s\n"
        "      diurnal: {min: 1/s, max: 50000/s, peak_at: '00:30', period: 1h}\n"
    )
    with pytest.raises(ScenarioError, match="500,000 requests in flight at once"):
        parse_scenario(text)
    # The request count is the integral: 1.5/s · 3 600 s = 5 400 samples.
    loaded = parse_scenario(text.replace("50000/s", "2/s"))
    size, cause, _ = estimate_bytes(loaded)["t1"]
    assert cause == "726 time-series buckets"
    samples = 5_400 * 20
    in_flight = 20 * 9_000  # 2/s at the peak · 10 s
    assert size == 726 * 400 + samples + in_flight


def test_both_engines_agree_on_a_diurnal_soak() -> None:
    text = """\
    duration: 2h
    seed: 3
    upstreams:
      api:
        latency: {dist: lognormal, p50: 20ms, p95: 80ms}
        failure_rate: 20%
        traffic: {arrivals: poisson, diurnal: {min: 1/s, max: 5/s, peak_at: '01:00', period: 2h}}
        breaker: {failure_rate_threshold: 30%, sliding_window_size: 20, minimum_number_of_calls: 10}
    """
    http, direct = (
        run(scenario(text), engine=e).to_dict(run_info=False) for e in ("http", "direct")
    )
    for result in (http, direct):
        result.pop("engine")
        result.pop("replay")
    assert http == direct
    assert http["upstreams"]["api"]["requests"] > 15_000
