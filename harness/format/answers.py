"""What a mocked upstream answers, as scenarios write it: bodies, content types, headers and
``Retry-After``, per upstream and per kind of answer (``answers:``).

An upstream's ``answers`` maps a kind to an :class:`Answer`: ``success`` (every 2xx answer),
an HTTP status such as ``429`` (answers with that status), or ``error`` (every error status
not listed on its own). Strings in a body or a header value are templates: ``{index}`` and the
other :data:`TEMPLATE_FIELDS` are filled in per answer (``{{`` and ``}}`` are literal braces);
a string that is exactly one field keeps the field's type (``created: "{time}"`` is a number).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, JsonValue, model_validator
from pydantic_core import PydanticCustomError

from harness.format.fault_settings import STATUS_PATTERN, Latency
from harness.format.fields import StrictModel
from harness.format.units import shown

__all__ = [
    "ANSWER_KINDS",
    "TEMPLATE_FIELDS",
    "Answer",
    "AnswerMap",
    "template_parts",
]

ANSWER_KINDS = ("success", "error")
"""Answer kinds besides an HTTP error status: every 2xx answer, every other error status."""
TEMPLATE_FIELDS = {
    "index": "the request's index among those reaching the upstream: 0, 1, … (retries count)",
    "upstream": "the upstream's name",
    "status": "the HTTP status answered",
    "time": "the virtual Unix time in whole seconds (the run begins at 2030-01-01T00:00:00Z)",
    "id": "24 seeded hexadecimal digits, new for every answer",
    "random": "a seeded number in [0, 1), new for every answer",
}
"""The fields a body or header template may use, with what each holds."""

# A header name is an RFC 9110 token; a value has no control characters (no CR/LF injection).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")
_OWN_HEADERS = {"content-type", "retry-after", "content-length"}


class Answer(StrictModel):
    """One kind of answer: its body, content type, extra headers and ``Retry-After``."""

    body: JsonValue = None
    """A JSON value sent JSON-encoded; a string is sent as it is. Absent: the kind's default."""
    content_type: str | None = None
    """``application/json`` unless the body is a string (then ``text/plain; charset=utf-8``)."""
    headers: dict[str, str] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": f"^{_HEADER_NAME.pattern}$"}},
    )
    retry_after: Latency | None = None
    """Sent as ``Retry-After`` in whole seconds (rounded up), fixed or drawn per answer."""
    retry_after_format: Literal["seconds", "date"] = "seconds"
    """``date``: an HTTP date on the virtual wall clock (``traffic.wall_clock`` lets code under
    test read the same clock)."""

    @model_validator(mode="after")
    def _templates_known(self) -> Answer:
        _check_templates(self.body, ("body",))
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name) or name.lower() in _OWN_HEADERS:
                raise PydanticCustomError(
                    "header",
                    "{name} cannot be a header here: expected a header name (letters, digits, "
                    "'-'), not content-type, retry-after or content-length (set those with "
                    "their own keys)",
                    {"name": shown(name), "key": ("headers", name)},
                )
            if not _HEADER_VALUE.fullmatch(value):
                raise PydanticCustomError(
                    "header",
                    "a header value cannot hold control characters (line breaks), got {value}",
                    {"value": shown(value), "key": ("headers", name)},
                )
            _check_templates(value, ("headers", name))
        if self.content_type is not None and not _HEADER_VALUE.fullmatch(self.content_type):
            raise ValueError("a content type cannot hold control characters (line breaks)")
        return self


def template_parts(text: str) -> list[tuple[str, str | None]]:
    """Return ``text`` as (literal, field or None) pairs; raise ValueError if it is not a
    template of :data:`TEMPLATE_FIELDS` (with the reason, and a did-you-mean)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise ValueError(f"{error} in the template {text!r} (write {{{{ for a brace)") from None
    parts: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in parsed:
        if field is not None and (field not in TEMPLATE_FIELDS or spec or conversion):
            close = get_close_matches(field, TEMPLATE_FIELDS, n=1)
            hint = f"; did you mean {{{close[0]}}}?" if close else ""
            raise ValueError(
                f"unknown template field {{{field}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} in {text!r}{hint} (known: "
                f"{', '.join(TEMPLATE_FIELDS)}; write {{{{ for a brace)"
            )
        parts.append((literal, field))
    return parts


def _check_templates(value: Any, path: tuple[str | int, ...]) -> None:
    if isinstance(value, str):
        try:
            template_parts(value)
        except ValueError as error:
            raise PydanticCustomError("template", str(error), {"key": path}) from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_templates(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_templates(item, (*path, index))


def _answer_map(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value  # pydantic says "expected a mapping"
    answers: dict[str, Any] = {}
    for key, answer in value.items():
        text = str(key) if isinstance(key, str | int) and not isinstance(key, bool) else ""
        if text not in ANSWER_KINDS and not re.fullmatch(STATUS_PATTERN, text):
            close = get_close_matches(text, ANSWER_KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PydanticCustomError(
                "answer_kind",
                "unknown answer kind {name}{hint} (expected success, error or an HTTP status "
                "400-599)",
                {"name": shown(key), "hint": hint, "key": key},
            )
        answers[text] = answer
    success = answers.get("success")
    # A null retry_after (as a dumped scenario writes every field) says none: only a value errs.
    if isinstance(success, Mapping) and success.get("retry_after") is not None:
        raise PydanticCustomError(
            "answer_kind",
            "retry_after is for error answers (429, 503, …), not for success",
            {"key": ("success", "retry_after")},
        )
    return answers


class _AnswerMapSchema:
    """Document which keys an answer map takes."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        schema = handler(core_schema)
        schema["propertyNames"] = {"pattern": rf"^(?:{STATUS_PATTERN}|success|error)$"}
        schema["examples"] = [{"429": {"retry_after": "3s"}, "success": {"body": {"ok": True}}}]
        return schema


AnswerMap = Annotated[dict[str, Answer], BeforeValidator(_answer_map), _AnswerMapSchema]
"""An upstream's answers by kind: ``success``, ``error`` or an HTTP error status."""
