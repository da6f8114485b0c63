"""Apply a dotted-path change (``upstreams.vertex.failure_rate``) to a scenario's plain data.

A path may only name what the format has there: a field of the model at that point (set or not
yet set), an existing entry of a mapping or list, or — as its last part — a new entry of a
mapping the format lets you extend (a new upstream under ``upstreams``). Anything else is a
:class:`ScenarioError` naming the path and the keys that exist there, so a typo in a test's
override fails the test instead of changing nothing.
"""

from __future__ import annotations

import types
from difflib import get_close_matches
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Discriminator
from pydantic.fields import FieldInfo

from harness.errors import ScenarioError

__all__ = ["apply_override", "field_type", "model_members", "model_of", "unwrap"]


def apply_override(
    data: dict[str, Any], root: type[BaseModel], dotted: str, value: Any, where: str
) -> None:
    """Set ``dotted`` in ``data`` (the dumped form of a ``root``) to ``value``, in place."""
    parts = dotted.split(".")
    target: Any = data
    annotation: Any = root
    walked: list[str] = []
    while parts:
        key, parts, annotation = _step(target, annotation, parts, walked, where, dotted)
        walked.append(str(key))
        if not parts:
            target[key] = value
            return
        if isinstance(target, dict) and target.get(key) is None:
            target[key] = {}  # a model field not yet set: its keys are checked next
        target = target[key]


def _step(
    target: Any, annotation: Any, parts: list[str], walked: list[str], where: str, dotted: str
) -> tuple[Any, list[str], Any]:
    """Return (the key ``parts`` start with here, the parts left, the annotation under it)."""
    model = model_of(annotation, target)
    here = ".".join(walked) or "the scenario"
    if isinstance(target, list):
        index = _index(parts[0], target, here, where, dotted)
        return index, parts[1:], _item_type(annotation)
    if not isinstance(target, dict):
        raise _error(where, dotted, f"{here} holds {_what(target)}, which has no key {parts[0]!r}")
    if model is not None:
        names = {field.alias or name: field for name, field in model.model_fields.items()}
        if parts[0] not in names:
            raise _error(where, dotted, _unknown(parts[0], sorted(names), here))
        return parts[0], parts[1:], field_type(names[parts[0]])
    if _is_mapping(annotation):
        return _entry(target, annotation, parts, here, where, dotted)
    return parts[0], parts[1:], None  # a free-form mapping (a custom factory's settings)


def _entry(
    target: dict[str, Any], annotation: Any, parts: list[str], here: str, where: str, dotted: str
) -> tuple[Any, list[str], Any]:
    """Match the longest existing key (names may hold dots); a new one only as the last part."""
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in target:
            return key, parts[end:], _value_type(annotation)
    if len(parts) == 1:
        return parts[0], [], _value_type(annotation)
    message = _unknown(parts[0], sorted(map(str, target)), here, entry=True)
    raise _error(where, dotted, message)


def _index(part: str, target: list[Any], here: str, where: str, dotted: str) -> int:
    if not (part.isascii() and part.isdigit()):
        raise _error(where, dotted, f"{here} is a list: expected an item's index, got {part!r}")
    index = int(part)
    if index >= len(target):
        span = f"items 0-{len(target) - 1}" if target else "no items"
        raise _error(where, dotted, f"{here} has {span}, not an item {index}")
    return index


def _unknown(key: str, known: list[str], here: str, *, entry: bool = False) -> str:
    close = get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(known) if known else "none"
    noun = "no entry" if entry else "no key"
    return f"{here} has {noun} {key!r}{hint} (keys there: {listed})"


def _error(where: str, dotted: str, message: str) -> ScenarioError:
    return ScenarioError.single(f"cannot override {dotted!r}: {message}", file=where)


def _what(value: Any) -> str:
    if isinstance(value, str):
        return f"the value {value!r}"
    return "a value" if value is not None else "nothing"


def field_type(field: FieldInfo) -> Any:
    """Return a model field's annotation with the metadata pydantic moved onto the field (an
    ``Annotated`` type's discriminator, for one)."""
    metadata = [*field.metadata, *([field] if field.discriminator is not None else [])]
    if isinstance(field.discriminator, Discriminator):
        metadata.append(field.discriminator)
    return Annotated[(field.annotation, *metadata)] if metadata else field.annotation


def model_of(annotation: Any, value: Any = None) -> type[BaseModel] | None:
    """Return the model ``annotation`` stands for (a tagged union's member chosen by
    ``value``), or None when it is not a model."""
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        metadata.extend(extra)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if not _is_union(annotation):
        return None
    members = [arg for arg in get_args(annotation) if arg is not type(None)]
    if len(members) == 1:
        return model_of(members[0], value)
    return _tagged_member(members, metadata, value)


def _tagged_member(members: list[Any], metadata: list[Any], value: Any) -> type[BaseModel] | None:
    for item in metadata:
        if isinstance(item, Discriminator) and callable(item.discriminator):
            tag = item.discriminator(value if isinstance(value, dict) else {})
            return next((model_of(m) for m in members if _tag_of(m) == tag), None)
        if isinstance(item, FieldInfo) and isinstance(item.discriminator, str):
            tag = value.get(item.discriminator) if isinstance(value, dict) else None
            for member in members:
                model = model_of(member)
                field = model.model_fields.get(item.discriminator) if model else None
                if field is not None and tag in get_args(field.annotation):
                    return model
    return None


def _tag_of(member: Any) -> str | None:
    for item in get_args(member)[1:] if get_origin(member) is Annotated else ():
        if hasattr(item, "tag"):
            return str(item.tag)
    return None


def model_members(annotation: Any) -> list[type[BaseModel]]:
    """Return the models a (tagged) union annotation may hold, or the one model it is."""
    bare = unwrap(annotation)
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return [bare]
    if not _is_union(bare):
        return []
    return [model for member in get_args(bare) if (model := model_of(member)) is not None]


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) is Union or isinstance(annotation, types.UnionType)


def _is_mapping(annotation: Any) -> bool:
    return get_origin(unwrap(annotation)) is dict


def unwrap(annotation: Any) -> Any:
    """Return ``annotation`` without ``Annotated`` and without ``| None``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    members = [arg for arg in get_args(annotation) if arg is not type(None)]
    if _is_union(annotation) and len(members) == 1:
        return unwrap(members[0])
    return annotation


def _value_type(annotation: Any) -> Any:
    args = get_args(unwrap(annotation))
    return args[1] if len(args) == 2 else None


def _item_type(annotation: Any) -> Any:
    args = get_args(unwrap(annotation))
    return args[0] if args else None
