"""The scenario format (v1): a typed, immutable model of what a scenario file says.

A scenario names upstreams; each has a fault profile (latency, failure rate, error mix, see
:mod:`harness.fault_settings`), a timeline of phases that override the profile for a window,
traffic, an optional breaker (:mod:`harness.breaker_settings`), objectives and expectations.
Loading files, located errors and the JSON Schema live in :mod:`harness.loader`. See the README
for the full reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from harness.breaker_settings import BreakerConfig
from harness.expectations import ExpectationField
from harness.fault_settings import ErrorMix, FixedLatency, Latency
from harness.fields import Duration, Rate
from harness.fields import StrictModel as _Strict
from harness.fields import unit_field as _unit_field
from harness.slo import GRAMMAR_HINT, Objective, parse_objective
from harness.units import NS_PER_S, format_duration, format_throughput, parse_throughput
from harness.yamlsource import SourceMap

__all__ = ["Burst", "Phase", "Scenario", "Traffic", "Upstream"]

FORMAT_VERSION: Literal[1] = 1
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


Throughput = Annotated[
    Fraction,
    PlainValidator(_unit_field(parse_throughput, "throughput").func),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?\s*/\s*(s|sec|m|min|h)$"}),
    PlainSerializer(format_throughput, return_type=str),
]
ObjectiveField = Annotated[
    Objective,
    PlainValidator(_unit_field(parse_objective, "objective").func),
    WithJsonSchema({"type": "string", "description": GRAMMAR_HINT}),
    PlainSerializer(str, return_type=str),
]


class Phase(_Strict):
    """A window of the run in which some fault settings are overridden."""

    name: str | None = None
    start: Duration = Field(alias="from")
    end: Duration = Field(alias="to")
    latency: Latency | None = None
    failure_rate: Rate | None = None
    errors: ErrorMix | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.end <= self.start:
            raise ValueError(
                f"'to' ({format_duration(self.end)}) must be after 'from' "
                f"({format_duration(self.start)})"
            )
        return self

    @property
    def label(self) -> str:
        """Return the phase's name, or its window when unnamed."""
        return self.name or f"{format_duration(self.start)}–{format_duration(self.end)}"


class Burst(_Strict):
    """Extra requests that all arrive at the same instant, on top of the steady rate."""

    at: Duration
    requests: Annotated[int, Field(ge=1, le=1_000_000)]


class Traffic(_Strict):
    """The requests the harness sends to one upstream."""

    rate: Throughput
    arrivals: Literal["constant", "poisson"] = "constant"
    bursts: tuple[Burst, ...] = ()
    concurrency: Annotated[int, Field(ge=1)] | None = None
    timeout: Duration = 5 * NS_PER_S
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = "/"

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("the client timeout must be above zero")
        return value


class Upstream(_Strict):
    """One mocked upstream API: its faults, its traffic, its breaker and its objectives."""

    url: str | None = None
    latency: Latency = FixedLatency(value="0s")
    failure_rate: Rate = 0.0
    errors: ErrorMix = Field(default_factory=lambda: {"500": 1.0})
    timeline: tuple[Phase, ...] = ()
    traffic: Traffic | None = None
    breaker: BreakerConfig | None = None
    slo: tuple[ObjectiveField, ...] = ()
    expect: tuple[ExpectationField, ...] = ()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
            raise ValueError(f"expected an http(s) URL like https://vertex.test/, got {value!r}")
        return value


class Scenario(_Strict):
    """A complete scenario: what to inject, what traffic to send and what must hold."""

    version: Literal[1] = FORMAT_VERSION
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    duration: Duration
    percentile_method: Literal["nearest_rank", "linear"] = "nearest_rank"
    engine: Literal["http", "direct"] = "http"
    upstreams: dict[str, Upstream]

    @field_validator("upstreams")
    @classmethod
    def _upstream_names(cls, value: dict[str, Upstream]) -> dict[str, Upstream]:
        if not value:
            raise ValueError("at least one upstream is required")
        for name in value:
            if not _NAME.fullmatch(str(name)):
                raise ValueError(
                    f"upstream name {name!r} must be 1-64 letters, digits, '_', '-' or '.'"
                )
        return value

    def url_of(self, upstream: str) -> str:
        """Return the base URL of ``upstream`` (``https://NAME.test/`` unless given)."""
        return self.upstreams[upstream].url or f"https://{upstream}.test/"

    def override(self, changes: Mapping[str, Any]) -> Scenario:
        """Return a copy with dotted-path ``changes`` applied, validated like a file.

        ``scenario.override({"seed": 7, "upstreams.vertex.failure_rate": "50%"})``
        """
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=False)
        for dotted, value in changes.items():
            _set_dotted(data, dotted, value)
        from harness.loader import validate_data  # the loader imports this module

        return validate_data(data, SourceMap(file=f"<override of {self.name}>"))


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    target: Any = data
    keys = dotted.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    if isinstance(target, list):
        target[int(keys[-1])] = value
    else:
        target[keys[-1]] = value
