"""One upstream in the scenario format: its faults, timeline phases, traffic, breaker,
objectives and expectations (the parts of :class:`harness.format.scenario.Scenario`)."""

from __future__ import annotations

import re
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

from harness.format.answers import AnswerMap
from harness.format.breaker_settings import BreakerConfig
from harness.format.entry_points import ENTRY_POINT_PATTERN, entry_point_problem
from harness.format.error_budget import budget_problem
from harness.format.expectations import ExpectationField
from harness.format.fault_settings import ErrorMix, FixedLatency, Latency
from harness.format.fields import Count, Duration, Rate
from harness.format.fields import StrictModel as _Strict
from harness.format.fields import unit_field as _unit_field
from harness.format.load_shapes import Stage, Throughput
from harness.format.objectives import GRAMMAR_HINT, Objective, parse_objective
from harness.format.policies import Fallback, Hedge, Retry, Timeouts
from harness.format.units import NS_PER_S, format_duration, parse_duration

__all__ = ["Burst", "Phase", "Traffic", "Upstream", "normal_url"]

# A base URL: http(s), a host, an optional path; no query or fragment (a path is appended to it).
_URL = re.compile(r"https?://[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]+(?:/[^\s?#]*)?", re.ASCII)
# A path relative to the URL: no scheme, no whitespace, no fragment, no "." or ".." segment
# (which would leave the upstream's URL, possibly for another upstream's).
_PATH = re.compile(r"(?!/?[A-Za-z][A-Za-z0-9+.-]*://)[^\s#]*", re.ASCII)
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|\?|$)")


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
    latency: Latency | None = None
    failure_rate: Rate | None = None
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


class Traffic(_Strict):
    """The requests the harness sends to one upstream."""

    rate: Throughput
    """The request rate (at the start, when ``stages`` move it)."""
    stages: tuple[Stage, ...] = ()
    """Ramps of the rate, one after the other (see :mod:`harness.format.load_shapes`)."""
    arrivals: Literal["constant", "poisson"] = "constant"
    bursts: tuple[Burst, ...] = ()
    concurrency: Count | None = None
    timeout: Duration = 5 * NS_PER_S
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = "/"
    """Appended to the upstream's URL: ``/predict`` (or ``predict``) under ``…/v1/`` is
    ``…/v1/predict``."""
    entry_point: (
        Annotated[str, Field(pattern=ENTRY_POINT_PATTERN, examples=["myservice.handlers:answer"])]
        | None
    ) = None
    """Your code under test, ``package.module:callable``: each arrival calls it (with a
    :class:`~harness.engines.service.ServiceContext`) instead of sending ``method path``."""
    wall_clock: Annotated[bool, Strict()] = False
    """Make ``time.*`` and ``datetime.now`` follow the virtual clock for the run (freezegun),
    for code under test that reads them (an entry point's own timeouts or breaker)."""

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
    answers: AnswerMap = Field(default_factory=dict)
    """What the upstream answers, by kind (see :mod:`harness.format.answers`)."""
    timeline: tuple[Phase, ...] = ()
    traffic: Traffic | None = None
    breaker: BreakerConfig | None = None
    slo: tuple[ObjectiveField, ...] = ()
    expect: tuple[ExpectationField, ...] = ()
    slo_period: Duration | None = None
    """The error budget's period: burn-rate alert windows scale by it / 30d."""
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
