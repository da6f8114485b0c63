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

import httpx
from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from harness.breaker_settings import BreakerConfig
from harness.expectations import ExpectationField
from harness.fault_settings import ErrorMix, FixedLatency, Latency
from harness.fields import Count, Duration, Rate, exactly
from harness.fields import StrictModel as _Strict
from harness.fields import unit_field as _unit_field
from harness.overrides import apply_override
from harness.slo import GRAMMAR_HINT, Objective, parse_objective
from harness.units import (
    NS_PER_S,
    THROUGHPUT_PATTERN,
    format_duration,
    format_throughput,
    parse_throughput,
)
from harness.yamlsource import SourceMap

__all__ = ["Burst", "Phase", "Scenario", "Traffic", "Upstream"]

FORMAT_VERSION: Literal[1] = 1
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
"""An upstream's name: 1-64 ASCII letters, digits, '_', '-' or '.'."""
_NAME = re.compile(NAME_PATTERN)
# A base URL: http(s), a host, an optional path; no query or fragment (a path is appended to it).
_URL = re.compile(r"https?://[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+(?:/[^\s?#]*)?", re.ASCII)
# A path relative to the URL: no scheme, no whitespace, no fragment, no "." or ".." segment
# (which would leave the upstream's URL, possibly for another upstream's).
_PATH = re.compile(r"(?!/?[A-Za-z][A-Za-z0-9+.-]*://)[^\s#]*", re.ASCII)
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|\?|$)")


Throughput = Annotated[
    Fraction,
    PlainValidator(_unit_field(parse_throughput, "throughput").func),
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
    requests: Annotated[int, Strict(), Field(ge=1, le=1_000_000)]


class Traffic(_Strict):
    """The requests the harness sends to one upstream."""

    rate: Throughput
    arrivals: Literal["constant", "poisson"] = "constant"
    bursts: tuple[Burst, ...] = ()
    concurrency: Count | None = None
    timeout: Duration = 5 * NS_PER_S
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = "/"
    """Appended to the upstream's URL: ``/predict`` (or ``predict``) under ``…/v1/`` is
    ``…/v1/predict``."""

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("the client timeout must be above zero")
        return value

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        if not _PATH.fullmatch(value) or _DOT_SEGMENT.search(value):
            raise ValueError(
                "expected a path relative to the upstream's URL, like /v1/predict (no scheme, "
                f"spaces, '#', '.' or '..' segments), got {value!r}"
            )
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
        if value is not None and not (_URL.fullmatch(value) and _normal_url(value)):
            raise ValueError(
                "expected an http(s) URL like https://vertex.test/ or https://api.test/v1 (no "
                f"query or fragment), got {value!r}"
            )
        return value


class Scenario(_Strict):
    """A complete scenario: what to inject, what traffic to send and what must hold."""

    version: Annotated[Literal[1], exactly(1)] = FORMAT_VERSION
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0, lt=2**63)] = 0
    duration: Duration
    percentile_method: Literal["nearest_rank", "linear"] = "nearest_rank"
    engine: Literal["http", "direct"] = "http"
    upstreams: dict[str, Upstream]

    @field_validator("duration")
    @classmethod
    def _positive_duration(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("the scenario's duration must be above zero")
        return value

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
        """Return the base URL of ``upstream`` (``https://NAME.test/`` unless given), always
        ending in ``/``: ``traffic.path`` is relative to it, so joining never glues segments."""
        given = self.upstreams[upstream].url or f"https://{upstream}.test/"
        url = _normal_url(given) or given
        return url if url.endswith("/") else f"{url}/"

    def override(self, changes: Mapping[str, Any]) -> Scenario:
        """Return a copy with dotted-path ``changes`` applied, validated like a file.

        ``scenario.override({"seed": 7, "upstreams.vertex.failure_rate": "50%"})``. Each path
        must name a key that exists, or a key the format allows there (a model's field, or a
        new entry of a mapping such as ``upstreams.NEW``); anything else is a ScenarioError
        naming the path and the keys there.
        """
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=False)
        where = f"<override of {self.name}>"
        for dotted, value in changes.items():
            apply_override(data, type(self), dotted, value, where)
        from harness.loader import validate_data  # the loader imports this module

        return validate_data(data, SourceMap(file=where))


def _normal_url(url: str) -> str:
    """Return ``url`` as httpx sends it (host in lower case, path percent-encoded), so a
    request's URL starts with its upstream's; "" if httpx refuses it."""
    try:
        return str(httpx.URL(url))
    except (httpx.InvalidURL, ValueError):
        return ""
