"""Arrival times of the requests the harness sends to an upstream.

- ``constant``: request k arrives at exactly ``k / rate`` (k = 0, 1, …), floored to whole
  nanoseconds, so 10/s over 60 s is exactly 600 requests, at 0 s, 0.1 s, … 59.9 s;
- ``poisson``: gaps between arrivals are exponential with mean ``1 / rate``, drawn from the
  upstream's own seeded arrival stream; the first request arrives after the first gap;
- ``bursts``: on top of either, each burst adds its ``requests`` all at its ``at`` instant,
  after any steady arrival at that same instant.

With ``stages`` the rate r(t) is piecewise linear and N(t) = ∫₀ᵗ r is the number of requests
expected by t (see :mod:`harness.format.load_shapes`). Arrivals are placed by inverting N:

- ``constant``: request k arrives at the instant N reaches k exactly, floored to whole
  nanoseconds (on a ramp, the root of a quadratic, found exactly in rational arithmetic), so
  any window [a, b) of whole nanoseconds holds exactly ⌈N(b)⌉ − ⌈N(a)⌉ requests — the integral
  itself wherever N is whole at a and b (a ramp from 10/s to 100/s over 10 m sends exactly
  870, 1410, … 5730 requests in its ten minutes). With no stages this is ``k / rate`` as above;
- ``poisson``: a unit-rate Poisson process in N's units (exponential gaps of mean 1, from the
  same seeded stream), each arrival placed where N reaches it: the time-change that makes a
  Poisson process of rate r(t).

With ``diurnal`` the rate is a sinusoid and N its integral in closed form (floating point);
arrivals invert N the same way, request k at the last whole nanosecond where N ≤ k, so a window
[a, b) holds ⌈N(b)⌉ − ⌈N(a)⌉ requests, N as the float formula computes it.

Requests arrive in ``[0, duration)``; every request sent before the end is followed to its
completion, even when that is after the end.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterator
from fractions import Fraction

from harness.format.load_shapes import Diurnal, RateSegment, rate_segments
from harness.format.scenario import Traffic
from harness.format.units import NS_PER_S

__all__ = ["arrivals"]


def arrivals(traffic: Traffic, duration_ns: int, rng: random.Random) -> Iterator[int]:
    """Yield the arrival times, in nanoseconds, of every request in ``[0, duration_ns)``."""
    if traffic.diurnal is not None:
        steady = _diurnal(traffic.diurnal, duration_ns, _float_marks(traffic, rng))
    elif traffic.stages:
        steady = _staged(traffic, duration_ns, _marks(traffic, rng))
    elif traffic.arrivals == "constant":
        steady = _constant(traffic, duration_ns)
    else:
        steady = _poisson(traffic, duration_ns, rng)
    if not traffic.bursts:
        return steady
    return heapq.merge(steady, _bursts(traffic, duration_ns))


def _bursts(traffic: Traffic, duration_ns: int) -> Iterator[int]:
    for burst in sorted(traffic.bursts, key=lambda burst: burst.at):
        if burst.at < duration_ns:
            yield from [burst.at] * burst.requests


def _constant(traffic: Traffic, duration_ns: int) -> Iterator[int]:
    numerator, denominator = traffic.start_rate.numerator, traffic.start_rate.denominator
    k = 0
    while (at_ns := k * NS_PER_S * denominator // numerator) < duration_ns:
        yield at_ns
        k += 1


def _poisson(traffic: Traffic, duration_ns: int, rng: random.Random) -> Iterator[int]:
    mean_gap_ns = NS_PER_S / float(traffic.start_rate)
    draw = rng.random
    at_ns = 0
    while True:
        at_ns += round(-math.log(1.0 - draw()) * mean_gap_ns)
        if at_ns >= duration_ns:
            return
        yield at_ns


def _marks(traffic: Traffic, rng: random.Random) -> Iterator[Fraction]:
    """Yield the values of N at which requests arrive: 0, 1, 2, … or a unit Poisson process."""
    if traffic.arrivals == "constant":
        k = 0
        while True:
            yield Fraction(k)
            k += 1
    draw = rng.random
    mark = 0.0
    while True:
        mark += -math.log(1.0 - draw())
        yield Fraction(mark)


def _staged(traffic: Traffic, duration_ns: int, marks: Iterator[Fraction]) -> Iterator[int]:
    segments = rate_segments(traffic.start_rate, traffic.stages)
    index = 0
    for mark in marks:
        while index + 1 < len(segments) and mark >= segments[index + 1].requests_before:
            index += 1
        at_ns = segments[index].start_ns + _offset_ns(segments[index], mark)
        if at_ns >= duration_ns:
            return
        yield at_ns


def _offset_ns(segment: RateSegment, mark: Fraction) -> int:
    """Return ⌊x⌋ for the x (ns into ``segment``) where N reaches ``mark``, exactly.

    Within the segment, N(x) − N(0) = (r0·x + (r1 − r0)·x²/2L) / 1e9; with a = r1 − r0,
    b = 2L·r0 and c = 2L·1e9·(mark − N(0)), x is the root of a·x² + b·x − c = 0 that lies in
    the segment, 2c / (b + √(b² + 4ac)) (the form that stays accurate as a → 0).
    """
    wanted = mark - segment.requests_before
    r0, length = segment.rate_at_start, segment.length_ns
    if length is None or segment.rate_at_end == r0:  # flat: x = wanted / r0 seconds
        return math.floor(wanted * NS_PER_S / r0)
    a, b, c = segment.rate_at_end - r0, 2 * length * r0, 2 * length * NS_PER_S * wanted
    guess = math.floor(2 * c / (b + math.sqrt(float(b * b + 4 * a * c))))

    def before(x: int) -> bool:  # N has not passed the mark by x: a·x² + b·x ≤ c
        return a * x * x + b * x <= c

    while guess > 0 and not before(guess):
        guess -= 1
    while before(guess + 1):
        guess += 1
    return guess


def _float_marks(traffic: Traffic, rng: random.Random) -> Iterator[float]:
    """Yield :func:`_marks`' values as floats (whole numbers are exact), made directly."""
    if traffic.arrivals == "constant":
        return map(float, itertools.count())
    return itertools.accumulate(-math.log(1.0 - draw()) for draw in itertools.repeat(rng.random))


def _diurnal(diurnal: Diurnal, duration_ns: int, marks: Iterator[float]) -> Iterator[int]:
    """Yield, for each mark m, the last whole nanosecond x at which N(x) ≤ m (N the diurnal
    curve's integral): Newton's method from the previous arrival, then whole-nanosecond steps
    to the exact crossing of the float N."""
    rate_at, requests_until = diurnal.curve()
    at_ns = 0
    for mark in marks:
        wanted = mark
        for _ in range(_NEWTON_STEPS):
            step = round((wanted - requests_until(at_ns)) / rate_at(at_ns) * NS_PER_S)
            if -2 <= step <= 2:  # within a few nanoseconds: the steps below finish it
                break
            at_ns = max(0, at_ns + step)
        at_ns = _last_at_or_below(requests_until, wanted, at_ns)
        if at_ns >= duration_ns:
            return
        yield at_ns


_NEWTON_STEPS = 8


def _last_at_or_below(integral: Callable[[int], float], wanted: float, guess: int) -> int:
    """Return the largest x ≥ 0 with integral(x) ≤ wanted, searching out from ``guess``
    (galloping, then halving: a guess a few nanoseconds off costs a few evaluations)."""
    if integral(guess) > wanted:
        low, high, gap = guess, guess, 1
        while low > 0 and integral(low) > wanted:
            high, low, gap = low, max(0, low - gap), gap * 2
        if integral(low) > wanted:
            return 0
    else:
        low, high, gap = guess, guess + 1, 1
        while integral(high) <= wanted:
            low, high, gap = high, high + gap, gap * 2
    while high - low > 1:  # integral(low) ≤ wanted < integral(high)
        middle = (low + high) // 2
        if integral(middle) <= wanted:
            low = middle
        else:
            high = middle
    return low
