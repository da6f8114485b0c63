from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.format.yamlsource import MAX_DEPTH, MAX_NODES, read_yaml


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed: !!int abc\n", "f.yaml:1:7: seed: 'abc' is not a valid !!int"),
        ("seed: !!float abc\n", "f.yaml:1:7: seed: 'abc' is not a valid !!float"),
        ("seed: !!bool abc\n", "f.yaml:1:7: seed: 'abc' is not a valid !!bool"),
        ("a: 1\n!!int abc: 3\n", "f.yaml:2:1: 'abc' is not a valid !!int"),
        ("!!bool abc: 3\n", "f.yaml:1:1: 'abc' is not a valid !!bool"),
    ],
)
def test_a_tag_that_does_not_fit_its_value_is_located(text: str, expected: str) -> None:
    assert error_of(text) == expected


@pytest.mark.parametrize(
    ("character", "code"), [("\x00", "0000"), ("\x07", "0007"), ("\x1b", "001B")]
)
def test_control_characters_are_located(character: str, code: str) -> None:
    assert error_of(f"a: 1\nb: x{character}y\n") == (
        f"f.yaml:2:5: the file holds the control character U+{code}, which YAML does not allow"
    )


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused_before_python_runs_out_of_stack(opening: str) -> None:
    assert f"nested deeper than {MAX_DEPTH} levels" in error_of("x: " + opening * 5000)


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 2
    data = read_yaml("x: " + "[" * depth + "]" * depth, "f.yaml").data
    for _ in range(depth):
        data = data["x"] if isinstance(data, dict) else data[0]
    assert data == []


def test_aliases_cannot_nest_past_the_limit() -> None:
    lines = ["a0: &a0 [" + "[" * 40 + "]" * 40 + "]"]
    lines += [f"a{i}: &a{i} [" + "[" * 40 + f"*a{i - 1}" + "]" * 40 + "]" for i in range(1, 4)]
    assert f"nested deeper than {MAX_DEPTH} levels" in error_of("\n".join(lines))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [*a]\n", "f.yaml:1:4: a[0]: an alias here refers to a node that contains it"),
        ("a: &a {b: *a}\n", "f.yaml:1:4: a.b: an alias here refers to a node that contains it"),
        (
            "a: &a {x: 1, <<: *a}\n",
            "f.yaml:1:14: a: a merge key (<<) here merges a mapping into itself",
        ),
    ],
)
def test_an_alias_to_its_own_container_is_located(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_a_long_chain_of_merge_keys_is_read() -> None:
    lines = ["m0: &m0 {x: 1}"] + [f"m{i}: &m{i} {{<<: *m{i - 1}}}" for i in range(1, 2000)]
    assert read_yaml("\n".join(lines), "f.yaml").data["m1999"] == {"x": 1}


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "true", "False", "null", "~"])
def test_a_yaml_11_word_as_a_key_says_to_quote_it(word: str) -> None:
    message = error_of(f"upstreams:\n  {word}: {{}}\n")
    assert message.startswith("f.yaml:2:3: upstreams: a key must be a string or number, got ")
    assert f"quote it: '{word}'" in message


def test_a_quoted_yaml_11_word_is_a_name() -> None:
    assert read_yaml("upstreams: {'on': {}}\n", "f.yaml").data == {"upstreams": {"on": {}}}
