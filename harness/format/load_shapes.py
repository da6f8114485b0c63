"""Load shapes as scenarios write them: traffic ``stages`` that ramp the request rate.

``traffic.rate`` is the rate at the start; each stage then moves the rate linearly to its
``target`` over its ``duration`` (as k6's stages do), one after the other; after the last stage
the rate holds at its target until the scenario ends. The rate is a piecewise-linear function
of time, and :func:`rate_segments` gives its pieces with the number of requests expected
before each (its integral), exactly, as fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema, field_validator

from harness.format.fields import Duration, StrictModel, unit_field
from harness.format.units import (
    NS_PER_S,
    THROUGHPUT_PATTERN,
    format_throughput,
    parse_throughput,
)

__all__ = ["RateSegment", "Stage", "Throughput", "expected_requests", "rate_segments"]

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
