"""Ramps of fault settings within a timeline phase: ``failure_rate: {from: 1%, to: 30%}`` and
``latency: {from: 50ms, to: 2s}``.

A ramp moves a setting linearly from its ``from`` value at the start of the phase's window to
its ``to`` value at the window's end, by the virtual time at which each request reaches the
upstream (in a repeating phase, over each occurrence of the window). A latency ramp's ends are
two latencies of the same distribution (plain durations are ``fixed`` ones); each of the
distribution's parameters moves on its own line (``p50`` and ``p95`` of a lognormal, ``min``
and ``max`` of a uniform …). A ramp replaces no draw: each request still takes the same three
draws from its upstream's fault stream (see :mod:`harness.upstreams.faults`), only the
thresholds they are compared with move.

Ramps are allowed in timeline phases only: a ramp needs a window to move over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from harness.format.fault_settings import (
    FixedLatency,
    Latency,
    LognormalLatency,
    NormalLatency,
    UniformLatency,
    _latency_shorthand,
    _LatencySchema,
)
from harness.format.fields import Rate, StrictModel
from harness.format.units import format_rate

__all__ = ["RAMP_MODELS", "LatencyRamp", "PhaseLatency", "PhaseRate", "RateRamp", "is_ramp"]

RAMP_KEYS = frozenset({"from", "to"})


class RateRamp(StrictModel):
    """A rate moving linearly from ``from`` to ``to`` over a phase's window."""

    start: Rate = Field(alias="from")
    end: Rate = Field(alias="to")

    def at(self, fraction: float) -> float:
        """Return the rate ``fraction`` (0 to 1) of the way through the window."""
        return self.start + (self.end - self.start) * fraction

    @property
    def highest(self) -> float:
        """Return the higher end."""
        return max(self.start, self.end)

    def __str__(self) -> str:
        return f"{format_rate(self.start)} → {format_rate(self.end)}"


class LatencyRamp(StrictModel):
    """A latency moving linearly from ``from`` to ``to`` (same distribution) over a window."""

    dist: Literal["ramp"] = "ramp"
    start: Latency = Field(alias="from")
    end: Latency = Field(alias="to")

    @model_validator(mode="after")
    def _same_distribution(self) -> LatencyRamp:
        if self.start.dist != self.end.dist:
            raise ValueError(
                f"a latency ramp moves between two latencies of the same distribution, got "
                f"'from' {self.start.dist} and 'to' {self.end.dist}"
            )
        return self


def _phase_latency(value: Any) -> Any:
    # `{from: …, to: …}` is a ramp (tagged so the discriminated union picks it); anything else
    # is read as a latency is everywhere.
    if isinstance(value, Mapping) and "dist" not in value and RAMP_KEYS & set(value):
        return {"dist": "ramp", **value}
    if isinstance(value, Mapping) and value.get("dist") == "ramp":
        return value
    return _latency_shorthand(value)


PhaseLatency = Annotated[
    FixedLatency | UniformLatency | NormalLatency | LognormalLatency | LatencyRamp,
    Field(discriminator="dist"),
    BeforeValidator(_phase_latency),
    _LatencySchema,
]
"""A phase's latency: a latency, or a ramp ``{from: LATENCY, to: LATENCY}``."""


def _rate_or_ramp(value: Any) -> str:
    return "rate_ramp" if isinstance(value, Mapping | RateRamp) else "rate"


PhaseRate = Annotated[
    Annotated[Rate, Tag("rate")] | Annotated[RateRamp, Tag("rate_ramp")],
    Discriminator(_rate_or_ramp),
]
"""A phase's failure rate: a rate, or a ramp ``{from: RATE, to: RATE}``."""

RAMP_MODELS: dict[str, type[BaseModel]] = {"ramp": LatencyRamp, "rate_ramp": RateRamp}
"""The ramps by the tag a validation error's location names them by."""


def is_ramp(setting: object) -> bool:
    """Return whether a phase's setting is a ramp."""
    return isinstance(setting, LatencyRamp | RateRamp)
