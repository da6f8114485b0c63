"""Streamed answers as scenarios write them (an upstream's ``stream:``): server-sent events or a
chunked body, how many chunks, how long between them, and the faults of a stream in flight.

A streamed answer sends its headers after the upstream's drawn ``latency``, then ``chunks``
chunks, each after a delay drawn from ``chunk_latency`` (the latency grammar). Mid-stream faults,
each drawn per streamed answer: with ``drop_rate``, the connection drops right after
``drop_after`` chunks (0: a reset after the headers); with ``stall_rate``, the upstream pauses
an extra ``stall`` after ``stall_after`` chunks. Only successful answers stream; error statuses
answer their JSON body at once, as LLM APIs do.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from harness.format.fault_settings import FixedLatency, Latency
from harness.format.fields import Count, Duration, Rate, StrictModel, WholeNumber
from harness.format.units import NS_PER_S

__all__ = ["MAX_CHUNKS", "Stream"]

MAX_CHUNKS = 10_000
"""The most chunks a streamed answer may have (each costs a clock event)."""


class Stream(StrictModel):
    """How an upstream streams its successful answers, and how a stream in flight fails."""

    format: Literal["sse", "chunked"] = "sse"
    """``sse``: OpenAI's ``chat.completion.chunk`` events, one per chunk, then ``data: [DONE]``;
    ``chunked``: the success body, cut into ``chunks`` pieces of a chunked body."""
    chunks: Count = 10
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
        if self.chunks > MAX_CHUNKS:
            raise _at("chunks", f"chunks ({self.chunks}) must be at most {MAX_CHUNKS}")
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
