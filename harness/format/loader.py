"""Load scenarios: YAML or plain data → a validated Scenario, every problem located; and the
format's JSON Schema.

Pydantic's errors are said in the format's words and mapped back onto the file
(``file:line:col: key.path: message``, :mod:`harness.format.messages`), then the checks no single
field can make are added (:mod:`harness.format.cross_checks`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import ScenarioError
from harness.format.fields import DURATION_SCHEMA
from harness.format.scenario import NAME_PATTERN, Scenario, validate_data
from harness.format.units import format_duration, shorten, shown
from harness.format.yamlsource import SourceMap, read_yaml, read_yaml_file

__all__ = [
    "CHECK_KEYS",
    "check_lines",
    "check_lines_in",
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


CHECK_KEYS = ("slo", "expect")
"""An upstream's keys whose entries are checks (objectives, breaker expectations)."""


def check_lines(path: str | Path) -> dict[tuple[str, str, int], int]:
    """Return the line of every check in a scenario file: ``(upstream, "slo"|"expect", index)``
    → 1-based line, for reports that point at the YAML (JUnit, GitHub annotations).

    Read from the file's source map; a file that cannot be read or parsed gives no lines.
    """
    try:
        source = read_yaml_file(Path(path))
    except ScenarioError:
        return {}
    return check_lines_in(source.source_map)


def check_lines_in(source_map: SourceMap) -> dict[tuple[str, str, int], int]:
    """Return the line of every check a source map knows (see :func:`check_lines`)."""
    lines: dict[tuple[str, str, int], int] = {}
    for key, position in source_map.values.items():
        match key:
            case ("upstreams", str(upstream), str(kind), int(index)) if kind in CHECK_KEYS:
                lines[(upstream, kind, index)] = position.line
    return lines


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate the scenario file at ``path``; raise ScenarioError with locations."""
    path = Path(path)
    with _boundary(str(path)):
        source = read_yaml_file(path)
        return _from_source(source.data, source.source_map, default_name=path.stem)


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML held in a string."""
    with _boundary(file):
        source = read_yaml(text, file)
        return _from_source(source.data, source.source_map, default_name=Path(file).stem)


@contextmanager
def _boundary(file: str) -> Iterator[None]:
    """Turn anything but a ScenarioError raised while reading ``file`` into one: whatever a
    file holds, loading it ends in a Scenario or a ScenarioError, never a traceback (the
    checks inside locate every problem they know of; this catches what none foresaw)."""
    try:
        yield
    except ScenarioError:
        raise
    except Exception as error:  # by design: see the docstring
        reason = shorten(f"{type(error).__name__}: {error}", 200)
        raise ScenarioError.single(f"the file cannot be read ({reason})", file=file) from None


def scenario_from_data(data: Any, file: str = "<data>") -> Scenario:
    """Validate plain data (as a YAML file would hold it) into a Scenario."""
    return _from_source(data, SourceMap(file), default_name=Path(file).stem or "scenario")


def _from_source(data: Any, source_map: SourceMap, *, default_name: str) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(
            [source_map.problem((), f"expected a mapping of scenario keys, got {shown(data)}")]
        )
    if "name" not in data:
        data = {"name": default_name, **data}
    return validate_data(data, source_map)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the scenario format, for editors' YAML language servers."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["required"] = [key for key in schema["required"] if key != "name"]  # file stem
    schema["properties"]["upstreams"]["propertyNames"] = {"pattern": NAME_PATTERN}
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
