"""Fault settings as scenarios write them: latency distributions and error mixes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from harness.format.fields import DURATION_SCHEMA, RATE_SCHEMA, Duration, StrictModel
from harness.format.units import format_duration, format_rate, parse_duration, parse_rate, shown

__all__ = [
    "ERROR_KINDS",
    "FAULT_KINDS",
    "LATENCY_MODELS",
    "STATUS_PATTERN",
    "ErrorMix",
    "FixedLatency",
    "Latency",
    "LognormalLatency",
    "NormalLatency",
    "UniformLatency",
]

ERROR_KINDS = ("timeout", "connect_error", "connection_reset")
"""The kinds of failure a client (and a breaker's ``record_errors``) tells apart."""
FAULT_KINDS = (*ERROR_KINDS, "dns_error", "tls_error")
"""The error kinds an ``errors`` mix may inject: a DNS or TLS failure is a connect error to the
client (``httpx.ConnectError``), raised with the message a real resolver or handshake gives."""
STATUS_PATTERN = "[45][0-9][0-9]"
"""An HTTP error status as the format writes it: 400-599, three ASCII digits."""
_LATENCY_HINT = "a plain duration like 6ms or a mapping with 'dist' set to one of {dists}"


class FixedLatency(StrictModel):
    """Every request takes exactly ``value``."""

    dist: Literal["fixed"] = "fixed"
    value: Duration


class UniformLatency(StrictModel):
    """Latency drawn uniformly between ``min`` and ``max``."""

    dist: Literal["uniform"]
    min: Duration
    max: Duration

    @model_validator(mode="after")
    def _ordered(self) -> UniformLatency:
        if self.min > self.max:
            raise ValueError(
                f"min ({format_duration(self.min)}) is above max ({format_duration(self.max)})"
            )
        return self


class NormalLatency(StrictModel):
    """Latency drawn from a normal distribution, clamped at zero."""

    dist: Literal["normal"]
    mean: Duration
    stddev: Duration


class LognormalLatency(StrictModel):
    """Latency drawn from a lognormal distribution given by its median and 95th percentile."""

    dist: Literal["lognormal"]
    p50: Duration
    p95: Duration

    @model_validator(mode="after")
    def _ordered(self) -> LognormalLatency:
        if self.p50 <= 0:
            raise ValueError("p50 must be above zero for a lognormal latency")
        if self.p95 < self.p50:
            raise ValueError(
                f"p95 ({format_duration(self.p95)}) is below p50 ({format_duration(self.p50)})"
            )
        return self


def _latency_shorthand(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parse_duration(value)
        except ValueError as error:  # the "unit is required" message
            raise PydanticCustomError("duration", str(error)) from None
    if isinstance(value, str):
        return {"dist": "fixed", "value": value}
    if isinstance(value, BaseModel):
        return value
    if not isinstance(value, Mapping):
        raise _latency_error(shown(value), None)
    if "dist" not in value:
        if "value" not in value:
            raise _latency_error("a mapping without 'dist'", None)
        return {"dist": "fixed", **value}
    if not isinstance(value["dist"], str) or value["dist"] not in LATENCY_MODELS:
        raise _latency_error(shown(value["dist"]), "dist")
    return value


def _latency_error(got: str, key: str | None) -> PydanticCustomError:
    hint = _LATENCY_HINT.format(dists=", ".join(LATENCY_MODELS))
    return PydanticCustomError(
        "latency", "expected {hint}, got {value}", {"hint": hint, "value": got, "key": key}
    )


class _LatencySchema:
    """Document that a latency may also be written as a plain duration (fixed)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return {"anyOf": [DURATION_SCHEMA, handler(core_schema)]}


LATENCY_MODELS: dict[str, type[BaseModel]] = {
    "fixed": FixedLatency,
    "uniform": UniformLatency,
    "normal": NormalLatency,
    "lognormal": LognormalLatency,
}
Latency = Annotated[
    FixedLatency | UniformLatency | NormalLatency | LognormalLatency,
    Field(discriminator="dist"),
    BeforeValidator(_latency_shorthand),
    _LatencySchema,
]


def _error_mix(value: Any) -> Any:
    if not isinstance(value, Mapping) or not value:
        raise PydanticCustomError(
            "error_mix",
            "expected a mapping of error kinds to shares, e.g. {example}, got {value}",
            {"example": "{503: 70%, timeout: 30%}", "value": _shape(value)},
        )
    mix: dict[str, float] = {}
    for key, share in value.items():
        name = _error_kind(key)
        try:
            mix[name] = parse_rate(share)
        except ValueError as error:
            raise PydanticCustomError(
                "rate", "{error}", {"key": str(key), "error": str(error)}
            ) from None
    total = sum(mix.values())
    if abs(total - 1.0) > 1e-9:
        raise PydanticCustomError(
            "error_mix",
            "the shares add up to {total}, expected 100%",
            {"total": format_rate(total)},
        )
    return mix


def _shape(value: Any) -> str:
    return "an empty mapping" if isinstance(value, Mapping) and not value else shown(value)


def _error_kind(key: object) -> str:
    text = str(key) if isinstance(key, str | int) and not isinstance(key, bool) else ""
    if text in FAULT_KINDS or re.fullmatch(STATUS_PATTERN, text):
        return text
    close = get_close_matches(text, FAULT_KINDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise PydanticCustomError(
        "error_kind",
        "unknown error kind {name}{hint} (expected an HTTP status 400-599 or one of {kinds})",
        {"name": shown(key), "hint": hint, "kinds": ", ".join(FAULT_KINDS), "key": str(key)},
    )


ErrorMix = Annotated[
    dict[str, float],
    BeforeValidator(_error_mix),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": rf"^(?:{STATUS_PATTERN}|{'|'.join(FAULT_KINDS)})$"},
            "additionalProperties": RATE_SCHEMA,
            "examples": [{"503": "70%", "timeout": "30%"}],
        }
    ),
]
