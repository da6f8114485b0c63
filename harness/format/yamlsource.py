"""Read YAML into plain data plus the position of every key and value.

Only plain data is accepted: mappings, sequences, strings, numbers, booleans and null. Tags that
build objects (``!!python/object``, ``!!binary``, custom ``!tags``), duplicate keys, several
documents in one file, control characters, nesting deeper than :data:`MAX_DEPTH`, aliases that
contain themselves and alias bombs are rejected with a located :class:`ScenarioError` — never a
traceback: PyYAML composes and builds recursively, so depth is capped before Python's own
recursion limit is reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import KeyPath, Problem, ScenarioError
from harness.format.units import shorten

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_WRITTEN_NODES",
    "Position",
    "SourceMap",
    "YamlSource",
    "read_yaml",
]

_PLAIN_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_NODES = 200_000  # a YAML alias bomb expands exponentially; real scenarios use a few hundred
MAX_DEPTH = 64  # levels of nesting; a scenario needs about 8
MAX_WRITTEN_NODES = 50_000  # nodes as written (before aliases expand); a scenario has hundreds
MAX_FILE_BYTES = 256 * 1024
"""The largest scenario file read (256 KiB): the shipped ones are under 6 KB, and PyYAML (pure
Python, to locate every node) reads well under 1 MB a second on a busy machine, so a bound
checked before parsing keeps every validation within seconds."""
# YAML 1.1 (PyYAML) reads these unquoted as numbers; YAML 1.2 and people read them otherwise
# (1:30 as a time, 017 as seventeen). Only plain decimals are numbers here.
_DECIMAL_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)")
_YAML11_FORMS = (("0b", "a binary"), ("0x", "a hexadecimal"), ("0", "an octal"))
# Keys whose values are times of day (HH:MM or HH:MM:SS), read as text wherever unquoted.
_CLOCK_TIME_KEYS = frozenset({"peak_at"})
_CLOCK_TIME = re.compile(r"[0-9]{1,3}:[0-5][0-9](?::[0-5][0-9])?")
# Keys YAML 1.1 reads as booleans or null when unquoted (an upstream named "on" or "no").
_YAML11_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "~", ""}


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a file."""

    line: int
    column: int


@dataclass
class SourceMap:
    """Where each key path's value (and key, for mapping entries) stands in the file."""

    file: str
    values: dict[KeyPath, Position] = field(default_factory=dict)
    keys: dict[KeyPath, Position] = field(default_factory=dict)

    def locate(self, path: KeyPath, *, at_key: bool = False) -> Position | None:
        """Return the position of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if at_key and end == len(path) and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return None

    def problem(self, path: KeyPath, message: str, *, at_key: bool = False) -> Problem:
        """Return a Problem located at ``path``."""
        position = self.locate(path, at_key=at_key)
        if position is None:
            return Problem(message, self.file, key_path=path)
        return Problem(message, self.file, position.line, position.column, path)


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML document: its data and where each piece came from."""

    data: Any
    source_map: SourceMap


def read_yaml(text: str, file: str) -> YamlSource:
    """Parse ``text`` (the contents of ``file``) into plain data and a source map."""
    if len(text) > MAX_FILE_BYTES:  # characters: at most as many as the file's bytes
        raise _too_large(len(text), "characters", file)
    try:
        loader = _Loader(text, file)
    except yaml.reader.ReaderError as error:  # a control character: checked before parsing
        raise _reader_error(error, text, file) from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, file) from None
    except yaml.YAMLError as error:
        raise ScenarioError.single(f"not valid YAML: {error}", file=file) from None
    finally:
        loader.dispose()
    source_map = SourceMap(file)
    if node is None:
        raise ScenarioError.single("the file is empty; expected a scenario mapping", file=file)
    builder = _Builder(loader, source_map)
    return YamlSource(builder.build(node, ()), source_map)


def read_yaml_file(path: Path) -> YamlSource:
    """Read and parse the YAML file at ``path`` (at most MAX_FILE_BYTES, checked before
    reading it whole)."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # a FIFO or /dev/zero has no honest size
        if len(raw) > MAX_FILE_BYTES:
            raise _too_large(path.stat().st_size, "bytes", str(path))
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError.single("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise ScenarioError.single("is a directory, expected a YAML file", file=str(path)) from None
    except UnicodeDecodeError as error:
        raise ScenarioError.single(f"not UTF-8 text ({error.reason})", file=str(path)) from None
    except OSError as error:
        raise ScenarioError.single(f"cannot read: {error.strerror}", file=str(path)) from None
    return read_yaml(text, str(path))


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, composing no deeper than MAX_DEPTH."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self._file = file
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, refusing to go deeper than MAX_DEPTH."""
        self._composed += 1  # counted as composed, so a huge flat list stops early too
        if self._depth >= MAX_DEPTH or self._composed > MAX_WRITTEN_NODES:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            message = (
                f"the data is nested deeper than {MAX_DEPTH} levels"
                if self._depth >= MAX_DEPTH
                else f"the document has over {MAX_WRITTEN_NODES} nodes"
            )
            raise ScenarioError.single(
                message, file=self._file, line=mark.line + 1, column=mark.column + 1
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_large(size: int, what: str, file: str) -> ScenarioError:
    shown_size = f"{size:,} {what}" if size > MAX_FILE_BYTES else "more"
    return ScenarioError.single(
        f"the file is too large to be a scenario ({shown_size}; at most {MAX_FILE_BYTES:,} bytes)",
        file=file,
    )


def _reader_error(error: yaml.reader.ReaderError, text: str, file: str) -> ScenarioError:
    before = text[: error.position]
    line = before.count("\n") + 1
    column = error.position - (before.rfind("\n") + 1) + 1
    character = error.character if isinstance(error.character, int) else ord(error.character)
    return ScenarioError.single(
        f"the file holds the control character U+{character:04X}, which YAML does not allow",
        file=file,
        line=line,
        column=column,
    )


def _syntax_error(error: yaml.MarkedYAMLError, file: str) -> ScenarioError:
    mark = error.problem_mark or error.context_mark
    parts = [part for part in (error.context, error.problem) if part]
    message = "invalid YAML: " + "; ".join(parts)
    if mark is None:
        return ScenarioError.single(message, file=file)
    return ScenarioError.single(message, file=file, line=mark.line + 1, column=mark.column + 1)


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turn a composed node tree into plain Python data, recording positions."""

    def __init__(self, loader: yaml.SafeLoader, source_map: SourceMap) -> None:
        self._loader = loader
        self._map = source_map
        self._visited = 0
        self._open: set[int] = set()  # the nodes being built: an alias to one is a cycle

    def build(self, node: Node, path: KeyPath) -> Any:
        self._visited += 1
        if self._visited > MAX_NODES:
            raise self._error(node, path, f"the document expands to over {MAX_NODES} nodes")
        if id(node) in self._open:
            raise self._error(node, path, "an alias here refers to a node that contains it")
        if len(path) > MAX_DEPTH:  # aliases can nest what the composer saw as shallow
            raise self._error(node, path, f"the data is nested deeper than {MAX_DEPTH} levels")
        self._map.values.setdefault(path, _position(node))
        if not isinstance(node, MappingNode | SequenceNode):
            return self._scalar(node, path)
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if node.tag != _SEQ_TAG:
                raise self._unsupported_tag(node, path)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        assert isinstance(node, ScalarNode)
        if node.tag == _TIMESTAMP_TAG:
            return node.value  # a bare date is text to us, not a datetime
        if node.tag not in _PLAIN_SCALAR_TAGS:
            raise self._unsupported_tag(node, path)
        if path and path[-1] in _CLOCK_TIME_KEYS and _CLOCK_TIME.fullmatch(node.value):
            return node.value  # `peak_at: 14:00` is a time of day, not base-60 840
        return self._construct(node, path)

    def _construct(self, node: ScalarNode, path: KeyPath) -> Any:
        self._refuse_yaml11_number(node, path)
        # An explicit tag on a value that is not of that type (`!!int abc`, an empty `!!int`)
        # makes PyYAML's constructors raise anything (ValueError, IndexError, KeyError…), not
        # a YAMLError: whatever a constructor raises, the value is not of its tag.
        try:
            return self._loader.construct_object(node)
        except Exception:
            tag = _short_tag(node.tag)
            shown = shorten(repr(node.value))
            raise self._error(node, path, f"{shown} is not a valid {tag}") from None

    def _refuse_yaml11_number(self, node: ScalarNode, path: KeyPath) -> None:
        """Refuse numbers YAML 1.1 reads in a way a reader would not: ``1:30`` (base 60, 90),
        ``0b101`` (5), ``0x1F`` (31), ``017`` (15)."""
        value = node.value.replace("_", "")
        if node.tag == "tag:yaml.org,2002:float" and ":" in value:
            form = "a base-60"
        elif node.tag != "tag:yaml.org,2002:int" or _DECIMAL_INT.fullmatch(node.value):
            return
        elif ":" in value:
            form = "a base-60"
        else:
            digits = value.lstrip("+-")
            form = next((name for prefix, name in _YAML11_FORMS if digits.startswith(prefix)), "")
            if not form:
                return  # not a number at all (`!!int` on text): the constructor says so
        raise self._error(
            node,
            path,
            f"{shorten(repr(node.value))} is {form} number in YAML 1.1; write numbers as plain "
            "decimals (or quote it to mean text)",
        )

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[Any, Any]:
        if node.tag != _MAP_TAG:
            raise self._unsupported_tag(node, path)
        self._reject_duplicates(node, path)
        self._check_merges(node, path, [node])
        try:
            self._loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        except yaml.MarkedYAMLError as error:
            raise _syntax_error(error, self._map.file) from None
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            child = (*path, key)
            self._map.keys.setdefault(child, _position(key_node))
            result[key] = self.build(value_node, child)
        return result

    def _check_merges(self, node: MappingNode, path: KeyPath, chain: list[Node]) -> None:
        """Refuse merge keys (``<<: *a``) that merge a mapping into itself, or chain deeper
        than MAX_DEPTH: PyYAML flattens them recursively."""
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            merged = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in merged:
                if not isinstance(source, MappingNode):
                    continue  # PyYAML reports it, located
                if any(source is seen for seen in chain):
                    message = "a merge key (<<) here merges a mapping into itself"
                    raise self._error(key_node, path, message)
                if len(chain) > MAX_DEPTH:
                    message = f"merge keys (<<) here chain deeper than {MAX_DEPTH} levels"
                    raise self._error(key_node, path, message)
                self._check_merges(source, path, [*chain, source])

    def _key(self, key_node: Node, path: KeyPath) -> str | int:
        if not isinstance(key_node, ScalarNode) or key_node.tag not in _PLAIN_SCALAR_TAGS:
            raise self._error(key_node, path, "a key must be a plain string or number")
        key = self._construct(key_node, path)
        if isinstance(key, bool) or not isinstance(key, str | int):
            message = f"a key must be a string or number, got {_yaml_word(key)}"
            if key_node.style is None and key_node.value.lower() in _YAML11_WORDS:
                shown = key_node.value or "~"
                message += (
                    f" (YAML reads an unquoted {shown} as {_yaml_word(key)}; "
                    f"to use it as a name, quote it: '{key_node.value}')"
                )
            raise self._error(key_node, path, message)
        return key

    def _reject_duplicates(self, node: MappingNode, path: KeyPath) -> None:
        seen: dict[object, Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = key_node.value
            if key in seen:
                first = _position(seen[key])
                message = f"duplicate key {shorten(repr(key))} (first defined on line {first.line})"
                raise self._error(key_node, (*path, key), message)
            seen[key] = key_node

    def _unsupported_tag(self, node: Node, path: KeyPath) -> ScenarioError:
        return self._error(
            node, path, f"unsupported YAML tag {_short_tag(node.tag)!r}: only plain data is allowed"
        )

    def _error(self, node: Node, path: KeyPath, message: str) -> ScenarioError:
        position = _position(node)
        return ScenarioError(
            [Problem(message, self._map.file, position.line, position.column, path)]
        )


def _yaml_word(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else repr(value)


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!", 1)
