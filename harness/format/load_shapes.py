"""Load shapes as scenarios write them: traffic ``stages`` that ramp the request rate.

``traffic.rate`` is the rate at the start; each stage then moves the rate linearly to its
``target`` over its ``duration`` (as k6's stages do), one after the other; after the last stage
the rate holds at its target until the scenario ends. The rate is a piecewise-linear function
of time, and :func:`rate_segments` gives its pieces with the number of requests expected
before each (its integral), exactly, as fractions.

``traffic.diurnal`` instead makes the rate a day's curve for long soaks: a sinusoid
r(t) = mid + amp·cos(2π(t − peak_at)/period) between ``min`` and ``max`` (mid and amp halfway
between them and half their difference), peaking at ``peak_at`` (a time of day, the run
starting at 00:00) and repeating every ``period`` (24h by default). Its integral is in closed
form (:meth:`Diurnal.requests_until`), in floating point: a sinusoid's is not rational.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from harness.format.fields import DURATION_SCHEMA, Duration, StrictModel, unit_field
from harness.format.units import (
    NS_PER_S,
    THROUGHPUT_PATTERN,
    format_duration,
    format_throughput,
    parse_throughput,
)

__all__ = [
    "Diurnal",
    "RateSegment",
    "Stage",
    "Throughput",
    "expected_requests",
    "rate_segments",
]

Throughput = Annotated[
    Fraction,
    PlainValidator(unit_field(parse_throughput, "throughput").func),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": THROUGHPUT_PATTERN,
            "description": "a request rate up to 1000000/s",
            "examples": ["20/s", "600/m", "90/h"],
        }
    ),
    PlainSerializer(format_throughput, return_type=str),
]
"""A request rate (``"20/s"``), held exactly as requests per second."""


class Stage(StrictModel):
    """Move the request rate linearly to ``target`` over ``duration``."""

    duration: Duration
    target: Throughput

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("a stage's duration must be above zero")
        return value


@dataclass(frozen=True, slots=True)
class RateSegment:
    """A piece of the rate: from ``rate_at_start`` to ``rate_at_end`` (requests per second)
    over ``[start_ns, start_ns + length_ns)`` (``length_ns`` None: for ever, flat), with
    ``requests_before`` requests expected before it."""

    start_ns: int
    length_ns: int | None
    rate_at_start: Fraction
    rate_at_end: Fraction
    requests_before: Fraction

    def requests_within(self, offset_ns: int) -> Fraction:
        """Return the requests expected in the first ``offset_ns`` of the segment."""
        if self.length_ns is None:
            return self.rate_at_start * Fraction(offset_ns, NS_PER_S)
        slope = (self.rate_at_end - self.rate_at_start) / self.length_ns
        mean_rate = self.rate_at_start + slope * offset_ns / 2
        return mean_rate * Fraction(offset_ns, NS_PER_S)


def rate_segments(rate: Fraction, stages: tuple[Stage, ...]) -> list[RateSegment]:
    """Return the pieces of the rate starting at ``rate`` and moved by ``stages``; the last
    piece holds the final rate for ever."""
    segments: list[RateSegment] = []
    start_ns, before = 0, Fraction(0)
    for stage in stages:
        segment = RateSegment(start_ns, stage.duration, rate, stage.target, before)
        segments.append(segment)
        before += segment.requests_within(stage.duration)
        start_ns += stage.duration
        rate = stage.target
    segments.append(RateSegment(start_ns, None, rate, rate, before))
    return segments


def expected_requests(rate: Fraction, stages: tuple[Stage, ...], until_ns: int) -> Fraction:
    """Return the requests the rate sends in ``[0, until_ns)``: its integral, exactly."""
    for segment in reversed(rate_segments(rate, stages)):
        if segment.start_ns <= until_ns:
            return segment.requests_before + segment.requests_within(until_ns - segment.start_ns)
    raise AssertionError("the first segment starts at 0")  # pragma: no cover


def _time_of_day(value: object) -> object:
    """Read ``14:00`` / ``14:00:30`` (hours from the run's start) or a duration (``14h``)."""
    if isinstance(value, str) and _CLOCK.fullmatch(value):
        hours, minutes, *seconds = (int(part) for part in value.split(":"))
        return format_duration(((hours * 60 + minutes) * 60 + sum(seconds)) * NS_PER_S)
    return value


_CLOCK = re.compile(r"[0-9]{1,3}:[0-5][0-9](?::[0-5][0-9])?")


class Diurnal(StrictModel):
    """A request rate following a day's curve: a sinusoid between ``min`` and ``max`` with its
    peak at ``peak_at`` (the run starts at 00:00), repeating every ``period``."""

    low: Throughput = Field(alias="min")
    high: Throughput = Field(alias="max")
    peak_at: Annotated[
        Duration,
        BeforeValidator(_time_of_day),
        WithJsonSchema(
            {
                "anyOf": [
                    DURATION_SCHEMA,
                    {"type": "string", "pattern": f"^{_CLOCK.pattern}$"},
                ],
                "examples": ["14:00", "14h"],
            }
        ),
    ] = 12 * 3600 * NS_PER_S
    """When the rate peaks, as a time of day (``14:00``) or a duration from the start."""
    period: Duration = 24 * 3600 * NS_PER_S

    @model_validator(mode="after")
    def _ordered(self) -> Diurnal:
        if self.low > self.high:
            raise ValueError(
                f"min ({format_throughput(self.low)}) is above max ({format_throughput(self.high)})"
            )
        if self.period <= 0:
            raise ValueError("the period must be above zero")
        if self.peak_at >= self.period:
            raise ValueError(
                f"peak_at ({format_duration(self.peak_at)}) must be within the period "
                f"({format_duration(self.period)})"
            )
        return self

    def rate_at(self, at_ns: int) -> float:
        """Return the rate (requests per second) at ``at_ns``:
        mid + amp·cos(2π(t − peak_at)/period), mid and amp halfway between and half of
        ``min`` and ``max``."""
        return self.curve()[0](at_ns)

    def requests_until(self, at_ns: int) -> float:
        """Return the requests expected in ``[0, at_ns)``, the rate's integral:
        mid·t + amp·period/2π·(sin(2π(t − peak_at)/period) − sin(−2π·peak_at/period))."""
        return self.curve()[1](at_ns)

    def curve(self) -> tuple[Callable[[int], float], Callable[[int], float]]:
        """Return ``(rate_at, requests_until)`` as fast functions of whole nanoseconds."""
        mid, amp = float(self.low + self.high) / 2, float(self.high - self.low) / 2
        period, peak = self.period, self.peak_at
        turn = 2 * math.pi / period
        swing = amp * period / NS_PER_S / (2 * math.pi)
        mid_per_ns = mid / NS_PER_S
        sin, cos = math.sin, math.cos

        # The angle is reduced in whole nanoseconds first: exact to a nanosecond at any t.
        def rate_at(at_ns: int) -> float:
            return mid + amp * cos(((at_ns - peak) % period) * turn)

        offset = sin(((0 - peak) % period) * turn)

        def requests_until(at_ns: int) -> float:
            return mid_per_ns * at_ns + swing * (sin(((at_ns - peak) % period) * turn) - offset)

        return rate_at, requests_until
