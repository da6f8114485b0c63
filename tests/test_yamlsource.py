from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.yamlsource import MAX_NODES, read_yaml


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        read_yaml(text, "f.yaml")
    return str(caught.value)


def test_positions_of_keys_and_values_are_one_based() -> None:
    source = read_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert source.data == {"a": 1, "b": ["x", {"c": 2}]}
    positions = source.source_map
    assert (positions.values[("a",)].line, positions.values[("a",)].column) == (1, 4)
    assert positions.values[("b", 1, "c")].line == 4
    assert positions.keys[("b",)].column == 1


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system {}",
        "a: !!python/object/apply:os.system ['ls']",
        "a: !!python/name:os.system",
        "a: !!binary aGk=",
        "a: !custom 3",
        "a: !!set {x}",
    ],
)
def test_unsafe_or_custom_tags_are_rejected_with_their_location(text: str) -> None:
    message = error_of(text)
    assert message.startswith("f.yaml:1:4: a: unsupported YAML tag")


def test_duplicate_keys_name_both_lines() -> None:
    assert error_of("a: 1\nb: 2\na: 3\n") == (
        "f.yaml:3:1: a: duplicate key 'a' (first defined on line 1)"
    )


def test_syntax_errors_are_located() -> None:
    assert error_of("a: [1, 2\nb: 3\n").startswith("f.yaml:2:")


def test_several_documents_are_rejected() -> None:
    assert "single document" in error_of("a: 1\n---\nb: 2\n")


def test_empty_file() -> None:
    assert "empty" in error_of("")
    assert "empty" in error_of("# only a comment\n")


def test_merge_keys_are_resolved() -> None:
    source = read_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "f.yaml")
    assert source.data["other"] == {"x": 1, "y": 3}


def test_alias_bomb_is_stopped() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        aliases = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{aliases}]")
    message = error_of("\n".join(lines))
    assert f"over {MAX_NODES} nodes" in message


def test_a_bare_date_stays_text() -> None:
    assert read_yaml("d: 2024-01-01\n", "f.yaml").data == {"d": "2024-01-01"}


def test_keys_must_be_plain_scalars() -> None:
    assert "a key must be" in error_of("? [1, 2]\n: 3\n")
