"""Pydantic's validation errors said in the scenario format's words, located in the file.

Every error becomes ``file:line:col: key.path: message``: the location is mapped back onto the
YAML (skipping pydantic's own segments, such as a union's tag), an unknown key gets a "did you
mean", and pydantic's vocabulary ("valid tuple", "instance of AtMost") becomes the format's (a
list, a mapping with the keys …). Errors the format's own validators raise are already in its
words and pass through.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any, get_args, get_origin

import pydantic
from pydantic import BaseModel

from harness.errors import KeyPath, Problem
from harness.format.breaker_settings import BREAKER_MODELS
from harness.format.expectations import EXPECTATION_MODELS
from harness.format.fault_settings import LATENCY_MODELS
from harness.format.overrides import field_type, model_members, model_of, unwrap
from harness.format.ramps import RAMP_MODELS
from harness.format.units import shown
from harness.format.yamlsource import SourceMap

__all__ = ["problems_of"]

# Errors raised by the format's own validators: their message is already a sentence.
_FORMAT_KINDS = {
    "duration",
    "rate",
    "throughput",
    "objective",
    "error_mix",
    "error_kind",
    "literal",
    "latency",
    "breaker",
    "breaker_impl",
    "expectation_kind",
    "answer_kind",
    "header",
    "template",
    "value_error",
    "assertion_error",
}
_EXPECTED = {
    "dict_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "above"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "below"),
}
_TAGGED: dict[str, type[BaseModel]] = {
    **LATENCY_MODELS,
    **BREAKER_MODELS,
    **EXPECTATION_MODELS,
    **RAMP_MODELS,
}


def problems_of(
    error: pydantic.ValidationError, data: Any, source_map: SourceMap, root: type[BaseModel]
) -> list[Problem]:
    """Return every error of ``error`` (validating ``data`` as a ``root``) as a located Problem,
    in file order."""
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        path = _data_path(loc, data)
        kind = detail["type"]
        ctx = detail.get("ctx") or {}
        at_key = kind == "extra_forbidden" or loc[-1:] == ("[key]",)
        if kind in _FORMAT_KINDS and ctx.get("key") is not None:
            path = _extended(path, ctx["key"], data)  # the error is about one key in there
            at_key = kind in ("expectation_kind", "error_kind", "answer_kind")
        message = _message(detail, root)
        problems.append(source_map.problem(path, message, at_key=at_key))
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.column or 0))


def _message(detail: Any, root: type[BaseModel]) -> str:
    kind, loc, value = detail["type"], detail["loc"], detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind in _FORMAT_KINDS:
        return str(detail["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden":
        return _unknown_key_message(loc, root)
    if kind == "missing":
        return f"the required key {loc[-1]!r} is missing"
    if loc and loc[-1] == "[key]" and kind == "string_type":
        return f"a name must be a string, got {shown(value)}; quote it: '{value}'"
    if kind in ("model_type", "model_attributes_type"):
        keys = _known_keys(loc, root)
        with_keys = f" with the keys {', '.join(keys)}" if keys else ""
        return f"expected a mapping{with_keys}, got {_of(value)}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_of(value)}"
    if kind in ("too_short", "too_long"):
        return _length_message(kind, ctx, value, "item")
    if kind in ("string_too_short", "string_too_long"):
        return _length_message(kind, ctx, value, "character")
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        bound = ctx.get(name)
        bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        return f"must be {words} {bound}, got {_of(value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {_of(value)}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"cannot tell which form this is, got {_of(value)} (see the README's format)"
    message = str(detail["msg"])
    return f"{message[0].lower()}{message[1:]}, got {_of(value)}"


def _length_message(kind: str, ctx: dict[str, Any], value: Any, noun: str) -> str:
    short = kind.endswith("too_short")
    bound = ctx.get("min_length" if short else "max_length")
    actual = ctx.get("actual_length", len(value) if hasattr(value, "__len__") else None)
    plural = "" if bound == 1 else "s"
    got = "none" if actual == 0 else f"{actual}"
    return f"expected {'at least' if short else 'at most'} {bound} {noun}{plural}, got {got}"


def _of(value: Any) -> str:
    if isinstance(value, str) and not value:
        return "an empty string"
    if isinstance(value, dict) and not value:
        return "an empty mapping"
    if isinstance(value, list | tuple) and not value:
        return "an empty list"
    return shown(value)


def _unknown_key_message(loc: tuple[int | str, ...], root: type[BaseModel]) -> str:
    key = loc[-1]
    known = _known_keys(loc[:-1], root)
    close = get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    allowed = f" (allowed here: {', '.join(known)})" if known else ""
    return f"unknown key {key!r}{hint}{allowed}"


def _known_keys(loc: tuple[int | str, ...], root: type[BaseModel]) -> list[str]:
    """Return the keys the model at pydantic location ``loc`` accepts."""
    annotation: Any = root
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = model_of(annotation)
    if model is None:
        return []
    return sorted(field.alias or name for name, field in model.model_fields.items())


def _step(annotation: Any, part: int | str) -> Any:
    """Return the annotation one pydantic location segment below ``annotation``."""
    members = model_members(annotation)
    if len(members) > 1:  # a tagged union: pydantic names the member by its tag
        tagged = _TAGGED.get(part) if isinstance(part, str) else None
        return tagged if tagged in members else None
    if len(members) == 1 and isinstance(part, str) and RAMP_MODELS.get(part) is members[0]:
        return members[0]  # a union of a model and a plain value, named by the model's tag
    if members:
        fields = members[0].model_fields
        field = next((f for n, f in fields.items() if part in (n, f.alias)), None)
        return None if field is None else field_type(field)
    bare = unwrap(annotation)
    args = get_args(bare)
    if get_origin(bare) is dict and len(args) == 2:
        return args[1]
    if get_origin(bare) in (tuple, list) and args:
        return args[0]
    return None


def _extended(path: KeyPath, key: str | int | tuple[str | int, ...], data: Any) -> KeyPath:
    """Return ``path`` and then ``key`` (or each key of a tuple, going down) as the file spells
    it (``500`` or ``"500"``)."""
    node = data
    for part in path:
        node = node[part]
    extended = list(path)
    for part in key if isinstance(key, tuple) else (key,):
        spelled = _matching_key(node, part)
        if spelled is None:
            extended.append(part)
            break
        extended.append(spelled)
        node = node[spelled]
    return tuple(extended)


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
        if isinstance(part, str) and part.isascii() and part.isdigit() and int(part) in node:
            return int(part)
    return None
