"""Fuzz the loader: whatever a file holds, loading it gives a Scenario or a ScenarioError.

Three sources of input: random YAML text built from nasty tokens, random plain data, and
mutations of the shipped scenarios (a value replaced, a line dropped or doubled, text cut).
The oracle is the loader's contract: ``parse_scenario`` returns a Scenario or raises a
ScenarioError whose every line is located and short — never any other exception.

The suite runs a fast profile; ``nox -s fuzz`` runs the deep one (``SLO_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ScenarioError
from harness.format.loader import parse_scenario, scenario_from_data

EXAMPLES = int(os.environ.get("SLO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
TEXTS = [path.read_text(encoding="utf-8") for path in SCENARIOS]
MESSAGE_LIMIT = 2_000  # a line of an error: long values are shortened, never repeated whole

# Tokens that broke the loader once, or that YAML 1.1 reads in surprising ways.
NASTY = [
    "!!int",
    "!!float",
    "!!bool",
    "!!str",
    "!!null",
    "!!int ''",
    "!!binary aGk=",
    "!!python/object:os.system",
    "!!timestamp 2001-12-14",
    "1:30",
    "1:30.5",
    "0b101",
    "0x1F",
    "017",
    "0o17",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "-1",
    "1e400",
    "9" * 400,
    "-" + "9" * 400,
    '"' + "9" * 400 + '%"',
    '"' + "9" * 5000 + 'ms"',
    '"1' + "0" * 200 + '/s"',
    '"\\udc80"',
    '"\\ud800x"',
    '"\\e[2J\\r\\nPASS"',
    '"\\0"',
    "~",
    "null",
    "yes",
    "on",
    "[]",
    "{}",
    "[[[[[[]]]]]]",
    "{a: {b: {c: 1}}}",
    "&a [*a]",
    "*nope",
    "<<: 1",
    "'",
    '"',
    "? a",
    "- - -",
    "100%",
    "101%",
    "0.3",
    "30 percent",
    "1h30m",
    "30m1h",
    "5ms5ms",
    "720h",
    "721h",
    "0s",
    "1/s",
    "0/s",
    "2000000/s",
    "p95 < 500ms",
    "p95 <",
    "pybreaker",
    "os:system",
    "harness.format.loader:load_scenario",
    "a.b:c.d",
    "CLOSED",
    "https://t1.test/",
    "https://t1.test/v1?x=1",
]
SCALARS = st.sampled_from(NASTY) | st.text(max_size=20).map(lambda text: yaml.safe_dump(text))
KEYS = st.sampled_from(
    [
        "duration",
        "seed",
        "name",
        "description",
        "upstreams",
        "t1",
        "vertex",
        "traffic",
        "rate",
        "bursts",
        "breaker",
        "impl",
        "latency",
        "timeline",
        "slo",
        "expect",
        "failure_rate",
        "errors",
        "url",
        "concurrency",
        "timeout",
        "engine",
        "version",
    ]
)


def _assert_contract(load: Any, *args: Any) -> None:
    try:
        load(*args)
    except ScenarioError as error:
        problems, text = error.problems, str(error)
    else:
        return
    assert problems, "a ScenarioError names at least one problem"
    for line in text.splitlines():
        assert len(line) <= MESSAGE_LIMIT, line[:200]


@FUZZ
@given(
    st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
            | st.dictionaries(KEYS, inner, max_size=4).map(
                lambda mapping: (
                    "{" + ", ".join(f"{key}: {value}" for key, value in mapping.items()) + "}"
                )
            )
        ),
        max_leaves=20,
    )
)
def test_random_yaml_loads_or_raises_a_scenario_error(text: str) -> None:
    _assert_contract(parse_scenario, text, "fuzz.yaml")
    _assert_contract(parse_scenario, f"duration: 1m\nupstreams: {text}\n", "fuzz.yaml")


@FUZZ
@given(
    st.sampled_from(TEXTS),
    st.lists(
        st.tuples(
            st.sampled_from(["value", "drop", "double", "cut", "insert"]),
            st.integers(min_value=0, max_value=10_000),
            SCALARS,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_shipped_scenarios_load_or_raise_a_scenario_error(
    text: str, mutations: list[tuple[str, int, str]]
) -> None:
    for kind, where, token in mutations:
        text = _mutate(text, kind, where, token)
    _assert_contract(parse_scenario, text, "fuzz.yaml")


def _mutate(text: str, kind: str, where: int, token: str) -> str:
    lines = text.splitlines()
    index = where % max(len(lines), 1)
    line = lines[index] if lines else ""
    if kind == "value" and ":" in line:
        lines[index] = line[: line.index(":") + 1] + " " + token
    elif kind == "drop" and lines:
        del lines[index]
    elif kind == "double" and lines:
        lines.insert(index, line)
    elif kind == "cut":
        return text[: where % (len(text) + 1)]
    else:
        column = where % (len(line) + 1)
        lines[index : index + 1] = [line[:column] + token + line[column:]]
    return "\n".join(lines) + "\n"


JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["1s", "30%", "1/s", "\udc80", "\x1b[2J", 10**400]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner),
    max_leaves=25,
)


@FUZZ
@given(st.sampled_from(TEXTS), st.lists(st.tuples(st.integers(0, 10_000), JSON_LIKE), max_size=3))
def test_shipped_scenarios_with_random_values_load_or_raise_a_scenario_error(
    text: str, replacements: list[tuple[int, Any]]
) -> None:
    data = yaml.safe_load(text)
    for where, value in replacements:
        _replace(data, where, value)
    _assert_contract(scenario_from_data, data, "fuzz.yaml")


def _replace(data: Any, where: int, value: Any) -> None:
    """Replace the ``where``-th value found walking ``data`` (modulo their number)."""
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(items):
            slots.append((node, key))
            if isinstance(item, dict | list):
                walk(item)

    walk(data)
    container, key = slots[where % len(slots)]
    container[key] = value
