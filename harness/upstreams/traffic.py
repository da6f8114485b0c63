"""Arrival times of the requests the harness sends to an upstream.

- ``constant``: request k arrives at exactly ``k / rate`` (k = 0, 1, …), floored to whole
  nanoseconds, so 10/s over 60 s is exactly 600 requests, at 0 s, 0.1 s, … 59.9 s;
- ``poisson``: gaps between arrivals are exponential with mean ``1 / rate``, drawn from the
  upstream's own seeded arrival stream; the first request arrives after the first gap;
- ``bursts``: on top of either, each burst adds its ``requests`` all at its ``at`` instant,
  after any steady arrival at that same instant.

Requests arrive in ``[0, duration)``; every request sent before the end is followed to its
completion, even when that is after the end.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator

from harness.format.scenario import Traffic
from harness.format.units import NS_PER_S

__all__ = ["arrivals"]


def arrivals(traffic: Traffic, duration_ns: int, rng: random.Random) -> Iterator[int]:
    """Yield the arrival times, in nanoseconds, of every request in ``[0, duration_ns)``."""
    steady = (
        _constant(traffic, duration_ns)
        if traffic.arrivals == "constant"
        else _poisson(traffic, duration_ns, rng)
    )
    if not traffic.bursts:
        return steady
    return heapq.merge(steady, _bursts(traffic, duration_ns))


def _bursts(traffic: Traffic, duration_ns: int) -> Iterator[int]:
    for burst in sorted(traffic.bursts, key=lambda burst: burst.at):
        if burst.at < duration_ns:
            yield from [burst.at] * burst.requests


def _constant(traffic: Traffic, duration_ns: int) -> Iterator[int]:
    numerator, denominator = traffic.rate.numerator, traffic.rate.denominator
    k = 0
    while (at_ns := k * NS_PER_S * denominator // numerator) < duration_ns:
        yield at_ns
        k += 1


def _poisson(traffic: Traffic, duration_ns: int, rng: random.Random) -> Iterator[int]:
    mean_gap_ns = NS_PER_S / float(traffic.rate)
    draw = rng.random
    at_ns = 0
    while True:
        at_ns += round(-math.log(1.0 - draw()) * mean_gap_ns)
        if at_ns >= duration_ns:
            return
        yield at_ns
