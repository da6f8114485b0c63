"""The scenario format (v1): a typed, immutable model, its loading with located errors, and its
JSON Schema.

A scenario names upstreams; each has a fault profile (latency, failure rate, error mix), a
timeline of phases that override the profile for a window, traffic, an optional breaker and
objectives. See the README for the full reference.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from difflib import get_close_matches
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from harness.breaker_settings import (
    AiobreakerSettings,
    CircuitbreakerSettings,
    CustomBreakerSettings,
    PurgatorySettings,
    PybreakerSettings,
    breaker_tag,
    check_breaker_impl,
    library_problem,
    resolve_factory,
)
from harness.errors import KeyPath, Problem, ScenarioError
from harness.expectations import EXPECTATION_MODELS, ExpectationField, expectation_problems
from harness.fields import DURATION_SCHEMA as _DURATION_SCHEMA
from harness.fields import RATE_SCHEMA as _RATE_SCHEMA
from harness.fields import Duration, Rate
from harness.fields import StrictModel as _Strict
from harness.fields import unit_field as _unit_field
from harness.slo import GRAMMAR_HINT, Objective, parse_objective
from harness.units import (
    NS_PER_S,
    format_duration,
    format_rate,
    format_throughput,
    parse_duration,
    parse_rate,
    parse_throughput,
)
from harness.yamlsource import SourceMap, read_yaml, read_yaml_file

__all__ = [
    "Breaker",
    "Latency",
    "Phase",
    "Scenario",
    "Traffic",
    "Upstream",
    "json_schema",
    "load_scenario",
    "parse_scenario",
    "scenario_from_data",
]

FORMAT_VERSION: Literal[1] = 1
ERROR_KINDS = ("timeout", "connect_error", "connection_reset")
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


class FixedLatency(_Strict):
    """Every request takes exactly ``value``."""

    dist: Literal["fixed"] = "fixed"
    value: Duration


class UniformLatency(_Strict):
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


class NormalLatency(_Strict):
    """Latency drawn from a normal distribution, clamped at zero."""

    dist: Literal["normal"]
    mean: Duration
    stddev: Duration


class LognormalLatency(_Strict):
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
    if isinstance(value, int | float):
        parse_duration(value)  # raises the "unit is required" message
    if isinstance(value, str):
        return {"dist": "fixed", "value": value}
    if isinstance(value, Mapping) and "dist" not in value and "value" in value:
        return {"dist": "fixed", **value}
    return value


class _LatencySchema:
    """Document that a latency may also be written as a plain duration (fixed)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return {"anyOf": [_DURATION_SCHEMA, handler(core_schema)]}


_LATENCY_MODELS: dict[str, type[BaseModel]] = {
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
            "expected a mapping of error kinds to shares, e.g. {{503: 70%, timeout: 30%}}, "
            "got {value}",
            {"value": repr(value)},
        )
    mix: dict[str, float] = {}
    for key, share in value.items():
        name = _error_kind(key)
        try:
            mix[name] = parse_rate(share)
        except ValueError as error:
            raise PydanticCustomError(
                "rate", "{key}: {error}", {"key": str(key), "error": str(error)}
            ) from None
    total = sum(mix.values())
    if abs(total - 1.0) > 1e-9:
        raise PydanticCustomError(
            "error_mix",
            "the shares add up to {total}, expected 100%",
            {"total": format_rate(total)},
        )
    return mix


def _error_kind(key: object) -> str:
    text = str(key).strip()
    if text in ERROR_KINDS:
        return text
    if text.isdigit() and 400 <= int(text) <= 599:
        return text
    close = get_close_matches(text, ERROR_KINDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise PydanticCustomError(
        "error_kind",
        "unknown error kind {key}{hint} (expected an HTTP status 400-599 or one of {kinds})",
        {"key": repr(key), "hint": hint, "kinds": ", ".join(ERROR_KINDS)},
    )


ErrorMix = Annotated[
    dict[str, float],
    BeforeValidator(_error_mix),
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": r"^([45]\d\d|timeout|connect_error|connection_reset)$"},
            "additionalProperties": _RATE_SCHEMA,
            "examples": [{"503": "70%", "timeout": "30%"}],
        }
    ),
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


ERROR_CLASSES = ("4xx", "5xx")


def _error_selectors(value: Any) -> Any:
    """Validate the answers a breaker setting selects: 503, 5xx or an error kind."""
    if not isinstance(value, list | tuple):
        raise PydanticCustomError(
            "error_kind",
            "expected a list of HTTP statuses (503), status classes (5xx) or error kinds "
            "(timeout, connect_error, connection_reset), got {value}",
            {"value": repr(value)},
        )
    return tuple(_error_selector(item) for item in value)


def _error_selector(item: object) -> str:
    text = str(item).strip()
    if text in ERROR_CLASSES or text in ERROR_KINDS:
        return text
    if text.isdigit() and 400 <= int(text) <= 599:
        return text
    close = get_close_matches(text, [*ERROR_KINDS, *ERROR_CLASSES], n=1)
    raise PydanticCustomError(
        "error_kind",
        "unknown error {item}{hint} (expected an HTTP status 400-599, 4xx, 5xx, or one of {kinds})",
        {
            "item": repr(item),
            "hint": f"; did you mean {close[0]!r}?" if close else "",
            "kinds": ", ".join(ERROR_KINDS),
        },
    )


ErrorSelectors = Annotated[
    tuple[str, ...],
    BeforeValidator(_error_selectors),
    WithJsonSchema(
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "integer", "minimum": 400, "maximum": 599},
                    {
                        "type": "string",
                        "pattern": r"^([45]\d\d|[45]xx|timeout|connect_error|connection_reset)$",
                    },
                ]
            },
            "examples": [[500, 503, "timeout"], ["5xx", "connect_error"]],
        }
    ),
]
"""Answers selected by HTTP status (503), status class (5xx) or error kind (timeout)."""


class Breaker(_Strict):
    """The built-in circuit breaker's settings: resilience4j's names in snake_case (see the
    README's table), rates as percentages, durations with units.

    As in resilience4j, an answer in ``ignore_errors`` counts neither way, and an error answer
    not in ``record_errors`` (default: every error) counts as a success.
    """

    impl: Literal["builtin"] = "builtin"
    failure_rate_threshold: Rate = 0.5
    slow_call_rate_threshold: Rate = 1.0
    slow_call_duration_threshold: Duration = 60 * NS_PER_S
    sliding_window_type: Literal["count", "time"] = "count"
    sliding_window_size: Annotated[int, Field(ge=1)] = 100
    minimum_number_of_calls: Annotated[int, Field(ge=1)] = 100
    wait_duration_in_open_state: Duration = 60 * NS_PER_S
    enable_exponential_backoff: bool = False
    exponential_backoff_multiplier: Annotated[float, Field(ge=1)] = 1.5
    exponential_max_wait_duration_in_open_state: Duration | None = None
    permitted_number_of_calls_in_half_open_state: Annotated[int, Field(ge=1)] = 10
    max_wait_duration_in_half_open_state: Duration = 0
    record_errors: ErrorSelectors = (*ERROR_CLASSES, *ERROR_KINDS)
    ignore_errors: ErrorSelectors = ()

    @field_validator("failure_rate_threshold", "slow_call_rate_threshold")
    @classmethod
    def _positive_threshold(cls, value: float, info: pydantic.ValidationInfo) -> float:
        if value <= 0:
            raise ValueError(f"{info.field_name} must be above 0%, or the breaker never closes")
        return value

    @field_validator("wait_duration_in_open_state")
    @classmethod
    def _positive_wait(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("wait_duration_in_open_state must be above zero")
        return value

    @field_validator(
        "exponential_backoff_multiplier", "exponential_max_wait_duration_in_open_state"
    )
    @classmethod
    def _backoff_enabled(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        default = cls.model_fields[str(info.field_name)].default
        if value != default and not info.data.get("enable_exponential_backoff"):
            raise ValueError(
                f"{info.field_name} has no effect unless enable_exponential_backoff is true"
            )
        wait = info.data.get("wait_duration_in_open_state")
        is_cap = info.field_name == "exponential_max_wait_duration_in_open_state"
        if is_cap and value is not None and wait is not None and value < wait:
            raise ValueError(
                f"the cap ({format_duration(value)}) is below wait_duration_in_open_state "
                f"({format_duration(wait)})"
            )
        return value

    @field_validator("ignore_errors")
    @classmethod
    def _not_both(cls, value: tuple[str, ...], info: pydantic.ValidationInfo) -> tuple[str, ...]:
        recorded = info.data.get("record_errors")
        if recorded is None or recorded == cls.model_fields["record_errors"].default:
            return value  # ignoring part of "every error" is what ignore_errors is for
        both = [item for item in value if item in recorded]
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both recorded and ignored")
        return value


BreakerConfig = Annotated[
    Annotated[Breaker, Tag("builtin")]
    | Annotated[PybreakerSettings, Tag("pybreaker")]
    | Annotated[AiobreakerSettings, Tag("aiobreaker")]
    | Annotated[CircuitbreakerSettings, Tag("circuitbreaker")]
    | Annotated[PurgatorySettings, Tag("purgatory")]
    | Annotated[CustomBreakerSettings, Tag("custom")],
    Discriminator(breaker_tag),
    BeforeValidator(check_breaker_impl),
]
"""The breaker under test: the built-in one unless ``impl`` names another."""
_BREAKER_MODELS: dict[str, type[BaseModel]] = {
    "builtin": Breaker,
    "pybreaker": PybreakerSettings,
    "aiobreaker": AiobreakerSettings,
    "circuitbreaker": CircuitbreakerSettings,
    "purgatory": PurgatorySettings,
    "custom": CustomBreakerSettings,
}


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
        return _validate(data, SourceMap(file=f"<override of {self.name}>"))


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    target: Any = data
    keys = dotted.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    if isinstance(target, list):
        target[int(keys[-1])] = value
    else:
        target[keys[-1]] = value


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a scenario file, recorded with results so a run can be replayed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate the scenario file at ``path``; raise ScenarioError with locations."""
    path = Path(path)
    source = read_yaml_file(path)
    return _from_source(source.data, source.source_map, default_name=path.stem)


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML held in a string."""
    source = read_yaml(text, file)
    return _from_source(source.data, source.source_map, default_name=Path(file).stem)


def scenario_from_data(data: Any, file: str = "<data>") -> Scenario:
    """Validate plain data (as a YAML file would hold it) into a Scenario."""
    return _from_source(data, SourceMap(file), default_name=Path(file).stem or "scenario")


def _from_source(data: Any, source_map: SourceMap, *, default_name: str) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(
            [source_map.problem((), f"expected a mapping of scenario keys, got {_kind(data)}")]
        )
    if "name" not in data:
        data = {"name": default_name, **data}
    return _validate(data, source_map)


def _validate(data: dict[str, Any], source_map: SourceMap) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except pydantic.ValidationError as error:
        raise ScenarioError(_problems(error, data, source_map)) from None
    problems = [source_map.problem(path, message) for path, message in _cross_checks(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


def _cross_checks(scenario: Scenario) -> list[tuple[KeyPath, str]]:
    """Return problems no single field can see: windows against the duration, and so on."""
    found: list[tuple[KeyPath, str]] = []
    for name, upstream in scenario.upstreams.items():
        for index, phase in enumerate(upstream.timeline):
            if phase.end > scenario.duration:
                found.append(
                    (
                        ("upstreams", name, "timeline", index, "to"),
                        f"the phase ends at {format_duration(phase.end)}, after the scenario's "
                        f"duration of {format_duration(scenario.duration)}",
                    )
                )
        for index, objective in enumerate(upstream.slo):
            if objective.metric in ("final_state", "opens", "time_open") and not upstream.breaker:
                found.append(
                    (
                        ("upstreams", name, "slo", index),
                        f"{objective.text!r} needs a breaker, and upstream {name!r} has none",
                    )
                )
        for index, burst in enumerate(upstream.traffic.bursts if upstream.traffic else ()):
            if burst.at >= scenario.duration:
                found.append(
                    (
                        ("upstreams", name, "traffic", "bursts", index, "at"),
                        f"the burst is at {format_duration(burst.at)}, not before the end of the "
                        f"scenario ({format_duration(scenario.duration)})",
                    )
                )
        found.extend(_breaker_checks(name, upstream))
        if upstream.slo and upstream.traffic is None:
            found.append(
                (
                    ("upstreams", name, "slo"),
                    f"upstream {name!r} has objectives but no traffic to measure them on",
                )
            )
    return found


def _breaker_checks(name: str, upstream: Upstream) -> list[tuple[KeyPath, str]]:
    """Return problems with the breaker's library and the upstream's expectations."""
    found = [
        (("upstreams", name, *path), message)
        for path, message in expectation_problems(
            upstream.expect,
            upstream.timeline,
            has_breaker=upstream.breaker is not None,
            has_traffic=upstream.traffic is not None,
        )
    ]
    impl = upstream.breaker.impl if upstream.breaker is not None else None
    problem = library_problem(impl) if impl else None
    if isinstance(upstream.breaker, CustomBreakerSettings):
        try:
            resolve_factory(upstream.breaker.impl)
        except ValueError as error:
            problem = str(error)
    if problem:
        found.append((("upstreams", name, "breaker", "impl"), problem))
    return found


def _problems(error: pydantic.ValidationError, data: Any, source_map: SourceMap) -> list[Problem]:
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        path = _data_path(loc, data)
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = _unknown_key_message(loc)
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            path = (*path, "dist") if kind == "union_tag_invalid" else path
            message = (
                f"expected a plain duration like 6ms or a mapping with 'dist' set to one of "
                f"{', '.join(_LATENCY_MODELS)}"
                + (f", got {detail['input'].get('dist')!r}" if kind == "union_tag_invalid" else "")
            )
        elif kind in ("breaker_impl", "expectation_kind"):
            key = detail["ctx"]["key"]
            path, message = (path if key is None else (*path, key)), str(detail["msg"])
        elif kind == "missing":
            message = f"the required key {loc[-1]!r} is missing"
        else:
            message = _message(detail)
        at_key = kind in ("extra_forbidden", "expectation_kind")
        problems.append(source_map.problem(path, message, at_key=at_key))
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.column or 0))


def _unknown_key_message(loc: tuple[int | str, ...]) -> str:
    key = loc[-1]
    known = _known_keys(loc[:-1])
    close = get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    allowed = f" (allowed here: {', '.join(known)})" if known else ""
    return f"unknown key {key!r}{hint}{allowed}"


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """Return the keys the model at pydantic location ``loc`` accepts."""
    annotation: Any = Scenario
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = _model_of(annotation)
    if model is None:
        return []
    return sorted(field.alias or name for name, field in model.model_fields.items())


def _step(annotation: Any, part: int | str) -> Any:
    model = _model_of(annotation)
    if model is not None:
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        return None if field is None else field.annotation
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    origin = get_origin(annotation)
    if origin is dict:
        return args[1]
    if origin is tuple or origin is list:
        return args[0]
    tagged = {**_LATENCY_MODELS, **_BREAKER_MODELS, **EXPECTATION_MODELS}
    if isinstance(part, str) and part in tagged:
        return tagged[part]
    return _step(args[0], part) if len(args) == 1 else None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is Annotated:
        return _model_of(get_args(annotation)[0])
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if len(args) == 1:
        return _model_of(args[0])
    return None


def _data_path(loc: tuple[int | str, ...], data: Any) -> KeyPath:
    """Map a pydantic error location onto the YAML data, skipping pydantic's own segments."""
    path: list[str | int] = []
    node = data
    for part in loc:
        key = _matching_key(node, part)
        if key is None:
            continue  # a union tag or validator name, not a key in the file
        path.append(key)
        node = node[key]
    return tuple(path)


def _matching_key(node: Any, part: int | str) -> str | int | None:
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return part
    if isinstance(node, dict):
        for candidate in (part, str(part)):
            if candidate in node:
                return candidate
        if isinstance(part, str) and part.isdigit() and int(part) in node:
            return int(part)
    return None


def _message(detail: Any) -> str:
    kind = detail["type"]
    message = str(detail["msg"]).removeprefix("Value error, ")
    if kind in ("duration", "rate", "throughput", "objective", "error_mix", "error_kind"):
        return message
    if kind in ("value_error", "assertion_error"):
        return message
    return f"{message[0].lower()}{message[1:]}, got {_show(detail.get('input'))}"


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return _kind(value)
    return repr(value)


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the scenario format, for editors' YAML language servers."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["required"] = [key for key in schema["required"] if key != "name"]  # file stem
    _spell_duration_defaults(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://slo-harness.invalid/schema/scenario-v1.json",
        "title": "slo-harness scenario (format v1)",
        **schema,
    }


def _spell_duration_defaults(node: Any) -> None:
    """Write duration defaults as the file would ("60s"), not as nanoseconds."""
    if isinstance(node, dict):
        if node.get("pattern") == _DURATION_SCHEMA["pattern"] and isinstance(
            node.get("default"), int
        ):
            node["default"] = format_duration(node["default"])
        for value in node.values():
            _spell_duration_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _spell_duration_defaults(value)
