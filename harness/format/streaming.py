"""Streamed answers and body faults as scenarios write them (an upstream's ``stream:`` and
``body:``).

``stream``: server-sent events or a
chunked body, how many chunks, how long between them, and the faults of a stream in flight.

A streamed answer sends its headers after the upstream's drawn ``latency``, then ``chunks``
chunks, each after a delay drawn from ``chunk_latency`` (the latency grammar). Mid-stream faults,
each drawn per streamed answer: with ``drop_rate``, the connection drops right after
``drop_after`` chunks (0: a reset after the headers); with ``stall_rate``, the upstream pauses
an extra ``stall`` after ``stall_after`` chunks. Only successful answers stream; error statuses
answer their JSON body at once, as LLM APIs do.

``body``: toxiproxy's faults on an answer sent whole (any status): a ``bandwidth`` limit (the body
arrives ``size / bandwidth`` after the headers), a body cut short (``cut_rate``: the headers
announce every byte, ``cut_at`` of them are sent, then the connection closes) and a reset right
after the headers (``reset_rate``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, Strict, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from harness.format.fault_settings import FixedLatency, Latency
from harness.format.fields import Duration, Rate, StrictModel, WholeNumber, unit_field
from harness.format.units import NS_PER_S, NUMBER, shown

__all__ = ["BANDWIDTH_PATTERN", "MAX_CHUNKS", "BodyFaults", "Stream", "parse_bandwidth"]

MAX_CHUNKS = 10_000
"""The most chunks a streamed answer may have (each costs a clock event)."""


class Stream(StrictModel):
    """How an upstream streams its successful answers, and how a stream in flight fails."""

    format: Literal["sse", "chunked"] = "sse"
    """``sse``: OpenAI's ``chat.completion.chunk`` events, one per chunk, then ``data: [DONE]``;
    ``chunked``: the success body, cut into ``chunks`` pieces of a chunked body."""
    chunks: Annotated[int, Strict(), Field(ge=1, le=MAX_CHUNKS)] = 10
    chunk_latency: Latency = FixedLatency(value="0s")
    """The delay before each chunk (after the headers, then after the previous chunk)."""
    drop_rate: Rate = 0.0
    """The share of streamed answers whose connection drops after ``drop_after`` chunks."""
    drop_after: WholeNumber = 0
    stall_rate: Rate = 0.0
    """The share of streamed answers that pause ``stall`` after ``stall_after`` chunks."""
    stall: Duration = 10 * NS_PER_S
    stall_after: WholeNumber = 0

    @model_validator(mode="after")
    def _within_the_stream(self) -> Stream:
        if self.drop_after >= self.chunks:
            raise _at(
                "drop_after",
                f"drop_after ({self.drop_after}) must be below chunks ({self.chunks}): the "
                "connection drops before the stream's end",
            )
        if self.stall_after >= self.chunks:
            raise _at(
                "stall_after",
                f"stall_after ({self.stall_after}) must be below chunks ({self.chunks}): the "
                "stall comes before a chunk",
            )
        return self


def _at(key: str, message: str) -> PydanticCustomError:
    """Return an error located at ``key`` of the stream mapping."""
    return PydanticCustomError("value_error", "{message}", {"message": message, "key": key})


BANDWIDTH_PATTERN = rf"^{NUMBER} *(?:B|KB|MB|GB|KiB|MiB|GiB)/s$"
"""A bandwidth: bytes per second with a unit, ``500B/s``, ``64KB/s``, ``1.5MiB/s``."""
_BANDWIDTH = re.compile(rf"({NUMBER}) *(B|KB|MB|GB|KiB|MiB|GiB)/s")
_BYTES = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
_BANDWIDTH_HINT = "a bandwidth like 64KB/s, 500B/s or 1MiB/s"


def parse_bandwidth(value: object) -> Fraction:
    """Return the bandwidth ``value`` (``"64KB/s"``) in bytes per second, exactly."""
    match = _BANDWIDTH.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected {_BANDWIDTH_HINT}, got {shown(value)}")
    try:
        per_second = Fraction(Decimal(match.group(1))) * _BYTES[match.group(2)]
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        raise ValueError(f"expected {_BANDWIDTH_HINT}, got {shown(value)}") from None
    if per_second <= 0:
        raise ValueError(f"a bandwidth must be above zero, got {value!r}")
    return per_second


def format_bandwidth(per_second: Fraction) -> str:
    """Return ``per_second`` as the format writes it, in bytes: ``64000B/s``, ``0.5B/s``."""
    if per_second.denominator == 1:
        return f"{per_second.numerator}B/s"
    exact = Decimal(per_second.numerator) / Decimal(per_second.denominator)  # a decimal's
    return f"{exact:f}B/s"


Bandwidth = Annotated[
    Fraction,
    unit_field(parse_bandwidth, "rate"),
    WithJsonSchema({"type": "string", "pattern": BANDWIDTH_PATTERN, "examples": ["64KB/s"]}),
    PlainSerializer(format_bandwidth, return_type=str),  # dumped as it is read back
]


class BodyFaults(StrictModel):
    """Toxiproxy's faults on an answer's body: slow, cut short, or reset after the headers."""

    bandwidth: Bandwidth | None = None
    """The body arrives ``size / bandwidth`` after the headers (in virtual time)."""
    cut_rate: Rate = 0.0
    """The share of answers whose body is cut short: ``content-length`` announces every byte,
    ``cut_at`` of them arrive, then the connection closes."""
    cut_at: Rate = 0.5
    reset_rate: Rate = 0.0
    """The share of answers whose connection is reset right after the headers."""

    @model_validator(mode="after")
    def _cut_short(self) -> BodyFaults:
        if self.cut_at >= 1:
            raise _at("cut_at", "cut_at must be below 100%: a cut body misses some bytes")
        if self.cut_rate + self.reset_rate > 1 + 1e-9:
            raise _at("reset_rate", "cut_rate and reset_rate add up to more than 100%")
        return self
