"""The bodies and headers mocked upstreams answer with: a scenario's ``answers``, or defaults
an SDK parses as it parses the real service's.

Defaults, for an upstream that says nothing of a kind:

- ``success``: one JSON object that both OpenAI's chat-completion and Gemini's
  ``generateContent`` parsers read as a complete answer (``choices[0].message.content`` and
  ``candidates[0].content.parts[0].text`` are ``"answer {index} from {upstream}"``), so an SDK
  under test gets a real completion, never an empty one;
- an error status: ``{"error": {"code": 503, "message": …, "status": "UNAVAILABLE", "type": …}}``,
  the envelope Google's APIs use, with OpenAI's ``type`` alongside (SDKs of both raise their
  status errors with it).

An answer's seeded values (``{id}``, ``{random}`` and a drawn ``retry_after``) come from the
upstream's own ``answers`` stream, one set of draws per answer in the order answers are made,
so httpx and httpx2 clients see the same answers, and drawing them never shifts a fault.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Protocol

from harness.clock import VIRTUAL_EPOCH
from harness.events import Outcome
from harness.format.answers import Answer, template_parts
from harness.format.units import NS_PER_S
from harness.upstreams.faults import latency_quantile


class BodyStream(Protocol):
    """A body sent over time (:class:`harness.upstreams.streaming.StreamedBody`)."""

    def chunks(
        self, timed_out: Callable[[], Exception], failed: Callable[[Any], Exception]
    ) -> AsyncIterator[bytes]: ...

    def chunks_blocking(
        self, timed_out: Callable[[], Exception], failed: Callable[[Any], Exception]
    ) -> Iterator[bytes]: ...


__all__ = [
    "DEFAULT_SUCCESS_BODY",
    "AnswerMaker",
    "BodyStream",
    "Reply",
    "Served",
    "default_error_body",
    "retry_after_ns",
]

DEFAULT_SUCCESS_BODY: dict[str, Any] = {
    "id": "chatcmpl-{id}",
    "object": "chat.completion",
    "created": "{time}",
    "model": "harness-mock",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "answer {index} from {upstream}"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 8, "completion_tokens": 5, "total_tokens": 13},
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "answer {index} from {upstream}"}]},
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 5, "totalTokenCount": 13},
    "modelVersion": "harness-mock",
}
"""The default success body (a template: see :data:`harness.format.answers.TEMPLATE_FIELDS`)."""

# Google's canonical error names for the statuses its APIs answer; others get the HTTP phrase.
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# OpenAI's error types by status (its API answers these; the SDK keeps them as error.type).
_OPENAI_TYPE = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
_JSON_TYPE = "application/json"
_TEXT_TYPE = "text/plain; charset=utf-8"

Values = dict[str, Any]
Render = Callable[[Values], Any]


def default_error_body(status: int) -> dict[str, Any]:
    """Return the default body of an injected error ``status``."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {
        "error": {
            "code": status,
            "message": f"HTTP {status} {phrase} (injected by the harness)",
            "status": _GOOGLE_STATUS.get(status, phrase.upper().replace(" ", "_")),
            "type": _OPENAI_TYPE.get(status, "server_error" if status >= 500 else "api_error"),
        }
    }


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer as sent: body bytes and headers (content type included)."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    stream: BodyStream | None = None
    """The body sent in chunks over time, for a streamed answer (``body`` is then unused)."""


Served = tuple[Outcome, int, Reply | None, str]
"""An attempt as the client sees it: (outcome, status, reply, cause), see MockedUpstreams.serve."""


class _Compiled:
    """One kind of answer, ready to render: its body and headers as templates."""

    def __init__(self, answer: Answer, default_body: Any) -> None:
        body = default_body if answer.body is None else answer.body
        self.raw = isinstance(body, str)
        self.body = _compiled(body)
        self.content_type = answer.content_type or (_TEXT_TYPE if self.raw else _JSON_TYPE)
        self.headers = [(name, _compiled(value)) for name, value in answer.headers.items()]
        wait = answer.retry_after
        self.retry_after = None if wait is None else latency_quantile(wait)
        self.as_date = answer.retry_after_format == "date"


class AnswerMaker:
    """Make the answers of one upstream, seeded from ``rng``."""

    def __init__(self, name: str, answers: dict[str, Answer], rng: random.Random) -> None:
        self.name = name
        self._random = rng
        self._given = answers
        self._kinds: dict[int, _Compiled] = {}
        self._success = _Compiled(answers.get("success", Answer()), DEFAULT_SUCCESS_BODY)

    def reply(self, index: int, status: int, now_ns: int) -> Reply:
        """Return answer number ``index`` (with ``status``) made at virtual time ``now_ns``."""
        kind = self._success if status < 400 else self._kind(status)
        draw = self._random
        values: Values = {
            "index": index,
            "upstream": self.name,
            "status": status,
            "time": (now_ns // NS_PER_S) + _EPOCH_S,
            "random": draw.random(),
            "id": f"{draw.getrandbits(96):024x}",
        }
        rendered = kind.body(values)
        body = rendered.encode() if kind.raw else json.dumps(rendered).encode()
        headers = [("content-type", kind.content_type)]
        headers.extend((name, str(value(values))) for name, value in kind.headers)
        if kind.retry_after is not None:
            wait_ns = kind.retry_after(draw.random())
            headers.append(("retry-after", _retry_after(wait_ns, now_ns, kind.as_date)))
        return Reply(body, tuple(headers))

    def retry_after(self, status: int, now_ns: int) -> str | None:
        """Return the ``Retry-After`` value :meth:`reply` would send, making the same draws
        (for an engine that needs only that header, not the body)."""
        kind = self._success if status < 400 else self._kind(status)
        draw = self._random
        draw.random()
        draw.getrandbits(96)
        if kind.retry_after is None:
            return None
        return _retry_after(kind.retry_after(draw.random()), now_ns, kind.as_date)

    @property
    def sends_retry_after(self) -> bool:
        """Return whether some answer of this upstream carries a ``Retry-After``."""
        return any(answer.retry_after is not None for answer in self._given.values())

    def _kind(self, status: int) -> _Compiled:
        compiled = self._kinds.get(status)
        if compiled is None:
            given = self._given.get(str(status)) or self._given.get("error") or Answer()
            compiled = self._kinds[status] = _Compiled(given, default_error_body(status))
        return compiled


_EPOCH_S = int(VIRTUAL_EPOCH.timestamp())


def _retry_after(wait_ns: int, now_ns: int, as_date: bool) -> str:
    """Return a Retry-After value: whole seconds rounded up, or the HTTP date that far ahead."""
    if not as_date:
        return str(math.ceil(wait_ns / NS_PER_S))
    at_s = math.ceil((now_ns + wait_ns) / NS_PER_S)
    return format_datetime(VIRTUAL_EPOCH + timedelta(seconds=at_s), usegmt=True)


def _compiled(value: Any) -> Render:
    """Return a function filling ``value``'s templates from the answer's values."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        items = [(key, _compiled(item)) for key, item in value.items()]
        return lambda values: {key: render(values) for key, render in items}
    if isinstance(value, list):
        renders = [_compiled(item) for item in value]
        return lambda values: [render(values) for render in renders]
    return lambda _values: value


def _string(text: str) -> Render:
    parts = template_parts(text)
    if len(parts) == 1 and parts[0][0] == "" and parts[0][1] is not None:
        field = parts[0][1]  # exactly one field: keep its type ("{time}" is a number)
        return lambda values: values[field]
    if all(field is None for _, field in parts):
        literal = "".join(literal for literal, _ in parts)
        return lambda _values: literal
    return lambda values: "".join(
        literal + ("" if field is None else str(values[field])) for literal, field in parts
    )


def retry_after_ns(value: str | None, now_ns: int) -> int | None:
    """Return the wait a ``Retry-After`` value asks for at virtual time ``now_ns`` (seconds, or
    an HTTP date on the virtual wall clock; never negative), or None if it says nothing."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text) * NS_PER_S
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        return None
    wait = (at - VIRTUAL_EPOCH) // timedelta(microseconds=1) * 1000 - now_ns
    return max(0, wait)
