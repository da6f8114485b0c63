"""Load scenarios: YAML or plain data → a validated Scenario, every problem located; and the
format's JSON Schema.

Pydantic's errors are mapped back onto the file (``file:line:col: key.path: message``, with a
"did you mean" for unknown keys), then checks no single field can make (a phase past the
duration, an objective needing a breaker, a missing breaker library) are added.
"""

from __future__ import annotations

import hashlib
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pydantic
from pydantic import BaseModel

from harness.breaker_settings import (
    BREAKER_MODELS,
    CustomBreakerSettings,
    library_problem,
    resolve_factory,
)
from harness.errors import KeyPath, Problem, ScenarioError
from harness.expectations import EXPECTATION_MODELS, expectation_problems
from harness.fault_settings import LATENCY_MODELS
from harness.fields import DURATION_SCHEMA
from harness.scenario import Scenario, Upstream
from harness.units import format_duration
from harness.yamlsource import SourceMap, read_yaml, read_yaml_file

__all__ = [
    "file_sha256",
    "json_schema",
    "load_scenario",
    "parse_scenario",
    "scenario_from_data",
    "validate_data",
]


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
    return validate_data(data, source_map)


def validate_data(data: dict[str, Any], source_map: SourceMap) -> Scenario:
    """Validate ``data`` into a Scenario; raise ScenarioError locating every problem."""
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
                f"{', '.join(LATENCY_MODELS)}"
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
    tagged = {**LATENCY_MODELS, **BREAKER_MODELS, **EXPECTATION_MODELS}
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
        if node.get("pattern") == DURATION_SCHEMA["pattern"] and isinstance(
            node.get("default"), int
        ):
            node["default"] = format_duration(node["default"])
        for value in node.values():
            _spell_duration_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _spell_duration_defaults(value)
