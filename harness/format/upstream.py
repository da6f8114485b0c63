"""One upstream in the scenario format: its faults, timeline phases, traffic, breaker,
objectives and expectations (the parts of :class:`harness.format.scenario.Scenario`)."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Annotated, Any, Literal

import httpx
from pydantic import (
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from harness.format.answers import AnswerMap
from harness.format.breaker_settings import BreakerConfig
from harness.format.entry_points import ENTRY_POINT_PATTERN, entry_point_problem
from harness.format.error_budget import budget_problem
from harness.format.expectations import ExpectationField
from harness.format.fault_settings import ErrorMix, FixedLatency, Latency
from harness.format.fields import Count, Duration, Rate
from harness.format.fields import StrictModel as _Strict
from harness.format.fields import unit_field as _unit_field
from harness.format.load_shapes import Diurnal, Stage, Throughput, expected_requests
from harness.format.objectives import GRAMMAR_HINT, Objective, parse_objective
from harness.format.policies import Fallback, Hedge, Retry, Timeouts
from harness.format.ramps import PhaseLatency, PhaseRate
from harness.format.routes import Route, path_problem
from harness.format.streaming import BodyFaults, Stream
from harness.format.units import NS_PER_S, format_duration, parse_duration

__all__ = ["Burst", "Phase", "Traffic", "Upstream", "normal_url"]

# A base URL: http(s), a host, an optional path; no query or fragment (a path is appended to it).
_URL = re.compile(r"https?://[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+(?:/[^\s?#]*)?", re.ASCII)


ObjectiveField = Annotated[
    Objective,
    PlainValidator(_unit_field(parse_objective, "objective").func),
    WithJsonSchema({"type": "string", "description": GRAMMAR_HINT}),
    PlainSerializer(str, return_type=str),
]


def _phase_schema(schema: dict[str, Any]) -> None:
    # `to` or `for` (the loader fills `to` in from `for`); `every` and `times` go together.
    schema["required"] = ["from"]
    schema["anyOf"] = [{"required": ["to"]}, {"required": ["for"]}]
    schema["dependentRequired"] = {"every": ["times"], "times": ["every"]}


class Phase(_Strict):
    """A window of the run in which some fault settings are overridden; with ``every`` and
    ``times``, a window that repeats (``start``/``end`` are its first occurrence)."""

    model_config = ConfigDict(**_Strict.model_config, json_schema_extra=_phase_schema)

    name: str | None = None
    start: Duration = Field(alias="from")
    end: Duration = Field(alias="to")
    length: Duration | None = Field(default=None, alias="for")
    """The window's length: another way to give ``to`` (``to`` = ``from`` + ``for``)."""
    every: Duration | None = None
    """Repeat the window this long after each start, ``times`` times in all."""
    times: Count | None = None
    latency: PhaseLatency | None = None
    """The latency in the window, or a ramp ``{from: 50ms, to: 2s}`` across it."""
    failure_rate: PhaseRate | None = None
    """The failure rate in the window, or a ramp ``{from: 1%, to: 30%}`` across it."""
    errors: ErrorMix | None = None

    @model_validator(mode="before")
    @classmethod
    def _to_from_for(cls, data: Any) -> Any:
        # `for` stands for `to`: fill `to` in when only `for` is given (and parses), so the
        # window's end is always `end`; a bad `for` is reported by its own field.
        if isinstance(data, dict) and "for" in data and "to" not in data and "end" not in data:
            try:
                end = parse_duration(data.get("from", data.get("start"))) + parse_duration(
                    data["for"]
                )
            except (TypeError, ValueError):
                return data
            return {**data, "to": format_duration(end)}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.end <= self.start:
            raise ValueError(
                f"'to' ({format_duration(self.end)}) must be after 'from' "
                f"({format_duration(self.start)})"
            )
        if self.length is not None and self.length != self.end - self.start:
            raise ValueError(
                f"'for' ({format_duration(self.length)}) disagrees with 'from' and 'to' "
                f"({format_duration(self.end - self.start)} apart): give one of 'to' or 'for'"
            )
        if (self.every is None) != (self.times is None):
            raise ValueError("a repeating phase needs both 'every' and 'times'")
        if self.every is not None and self.every <= self.end - self.start:
            raise ValueError(
                f"'every' ({format_duration(self.every)}) must be longer than the window "
                f"({format_duration(self.end - self.start)}), or the repeats would overlap"
            )
        return self

    @property
    def windows(self) -> tuple[tuple[int, int], ...]:
        """Return every occurrence of the window, ``(start_ns, end_ns)``, in time order."""
        every, times = self.every or 0, self.times or 1
        return tuple((self.start + k * every, self.end + k * every) for k in range(times))

    @property
    def last_end(self) -> int:
        """Return when the phase's last occurrence ends."""
        return self.windows[-1][1]

    @property
    def label(self) -> str:
        """Return the phase's name, or its window when unnamed."""
        return self.name or f"{format_duration(self.start)}–{format_duration(self.end)}"


class Burst(_Strict):
    """Extra requests that all arrive at the same instant, on top of the steady rate."""

    at: Duration
    requests: Annotated[int, Strict(), Field(ge=1, le=1_000_000)]


def _traffic_schema(schema: dict[str, Any]) -> None:
    # One of `rate` and `diurnal` sets the rate.
    schema["oneOf"] = [{"required": ["rate"]}, {"required": ["diurnal"]}]


class Traffic(_Strict):
    """The requests the harness sends to one upstream."""

    model_config = ConfigDict(**_Strict.model_config, json_schema_extra=_traffic_schema)

    rate: Throughput | None = None
    """The request rate (at the start, when ``stages`` move it); None with ``diurnal``."""
    stages: tuple[Stage, ...] = ()
    """Ramps of the rate, one after the other (see :mod:`harness.format.load_shapes`)."""
    diurnal: Diurnal | None = None
    """A day's curve of the rate instead of ``rate`` (see :mod:`harness.format.load_shapes`)."""
    arrivals: Literal["constant", "poisson"] = "constant"
    bursts: tuple[Burst, ...] = ()
    concurrency: Count | None = None
    timeout: Duration = 5 * NS_PER_S
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = "/"
    """Appended to the upstream's URL: ``/predict`` (or ``predict``) under ``…/v1/`` is
    ``…/v1/predict``."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Headers the built-in client sends with each request."""
    json_body: Any = Field(default=None, alias="json")
    """A JSON body the built-in client sends with each request."""
    body: str | None = None
    """A text body the built-in client sends with each request (UTF-8)."""
    entry_point: (
        Annotated[str, Field(pattern=ENTRY_POINT_PATTERN, examples=["myservice.handlers:answer"])]
        | None
    ) = None
    """Your code under test, ``package.module:callable``: each arrival calls it (with a
    :class:`~harness.engines.service.ServiceContext`) instead of sending ``method path``."""
    wall_clock: Annotated[bool, Strict()] = False
    """Make ``time.*`` and ``datetime.now`` follow the virtual clock for the run (freezegun),
    for code under test that reads them (an entry point's own timeouts or breaker)."""

    @model_validator(mode="after")
    def _one_rate(self) -> Traffic:
        if self.diurnal is None and self.rate is None:
            raise ValueError("give the request rate: 'rate' (e.g. 10/s) or 'diurnal'")
        if self.diurnal is not None and self.rate is not None:
            raise ValueError("give 'rate' or 'diurnal', not both: diurnal sets the rate")
        if self.json_body is not None and self.body is not None:
            raise ValueError("give 'json' or 'body', not both: each is the whole body")
        if self.diurnal is not None and self.stages:
            raise ValueError("give 'stages' or 'diurnal', not both: each shapes the rate")
        return self

    @property
    def start_rate(self) -> Fraction:
        """Return the rate at the start, in requests per second (a diurnal's, to the 1e-9)."""
        if self.diurnal is not None:
            return Fraction(round(self.diurnal.rate_at(0) * 10**9), 10**9)
        assert self.rate is not None
        return self.rate

    @property
    def peak_rate(self) -> Fraction:
        """Return the highest rate the traffic reaches, in requests per second."""
        if self.diurnal is not None:
            return self.diurnal.high
        return max([self.start_rate, *(stage.target for stage in self.stages)])

    def requests_until(self, at_ns: int) -> int:
        """Return how many steady requests (no bursts) arrive in ``[0, at_ns)`` at most: the
        rate's integral, rounded up."""
        if self.diurnal is not None:
            return math.ceil(self.diurnal.requests_until(at_ns))
        return math.ceil(expected_requests(self.start_rate, self.stages, at_ns))

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("the client timeout must be above zero")
        return value

    @field_validator("entry_point")
    @classmethod
    def _findable_entry_point(cls, value: str | None) -> str | None:
        problem = None if value is None else entry_point_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        problem = path_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Upstream(_Strict):
    """One mocked upstream API: its faults, its traffic, its breaker and its objectives."""

    url: str | None = None
    latency: Latency = FixedLatency(value="0s")
    failure_rate: Rate = 0.0
    errors: ErrorMix = Field(default_factory=lambda: {"500": 1.0})
    answers: AnswerMap = Field(default_factory=dict)
    """What the upstream answers, by kind (see :mod:`harness.format.answers`)."""
    stream: Stream | None = None
    """Stream successful answers (see :mod:`harness.format.streaming`)."""
    body: BodyFaults | None = None
    """Slow, cut or reset the bodies of answers sent whole (see :mod:`harness.format.streaming`)."""
    timeline: tuple[Phase, ...] = ()
    routes: tuple[Route, ...] = ()
    """Requests matched on method, path, headers and body (see :mod:`harness.format.routes`)."""
    traffic: Traffic | None = None
    breaker: BreakerConfig | None = None
    slo: tuple[ObjectiveField, ...] = ()
    expect: tuple[ExpectationField, ...] = ()
    slo_period: Duration | None = None
    """The error budget's period: burn-rate alert windows scale by it / 30d."""
    alert_min_requests: Count | None = None
    """The fewest requests each of an alert's windows must hold before it may fire (default:
    per alert, the fewest in which one bad request does not burn above its factor)."""

    @field_validator("latency", "failure_rate", mode="before")
    @classmethod
    def _no_ramp_outside_a_phase(cls, value: Any) -> Any:
        if isinstance(value, dict) and "dist" not in value and {"from", "to"} & set(value):
            raise ValueError(
                "a ramp ({from: …, to: …}) moves over a window: write it in a timeline phase, "
                "e.g. timeline: [{from: 0s, to: 10m, failure_rate: {from: 1%, to: 30%}}]"
            )
        return value

    pool: str | None = None
    """The ``pools`` entry (a bulkhead shared with other upstreams) this upstream's traffic uses."""
    retry: Retry | None = None
    """How the built-in client retries failed attempts (see :mod:`harness.format.policies`)."""
    fallback: Fallback | None = None
    """Which failed requests the built-in client answers with a fallback."""
    timeout: Timeouts | None = None
    """The built-in client's timeouts per attempt and overall."""
    hedge: Hedge | None = None
    """A second request for an attempt the upstream is slow to answer."""

    @property
    def has_policies(self) -> bool:
        """Return whether the traffic to this upstream goes through a pool, retries, a
        fallback or timeouts of their own."""
        return any(
            policy is not None
            for policy in (self.pool, self.retry, self.fallback, self.timeout, self.hedge)
        )

    @model_validator(mode="after")
    def _budget(self) -> Upstream:
        problem = budget_problem(self.slo, self.slo_period)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _streams(self) -> Upstream:
        if self.body is not None and self.stream is not None:
            raise PydanticCustomError(
                "value_error",
                "body faults apply to answers sent whole; a stream has its own (drop_rate, "
                "stall_rate): give the upstream one of 'body' or 'stream'",
                {"key": "body"},
            )
        if self.stream is None:
            for index, objective in enumerate(self.slo):
                if objective.metric.startswith("ttfb."):
                    raise PydanticCustomError(
                        "objective",
                        "{text} measures time to first byte, which only streamed answers have: "
                        "give the upstream a 'stream', such as 'stream: {chunks: 20}'",
                        {"text": repr(objective.text), "key": ("slo", index)},
                    )
        return self

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not (_URL.fullmatch(value) and normal_url(value)):
            raise ValueError(
                "expected an http(s) URL like https://vertex.test/ or https://api.test/v1 (no "
                f"query or fragment), got {value!r}"
            )
        return value


def normal_url(url: str) -> str:
    """Return ``url`` as httpx sends it (host in lower case, path percent-encoded), so a
    request's URL starts with its upstream's; "" if httpx refuses it."""
    try:
        return str(httpx.URL(url))
    except (httpx.InvalidURL, ValueError):
        return ""
