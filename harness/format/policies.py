"""Resilience policies of the built-in client, as scenarios write them: bulkheads shared across
upstreams (``pools``) and ``retry`` per upstream.

A pool is one concurrency limit several upstreams' traffic shares (a worker or connection pool
of the calling service): a request takes a slot when it arrives and keeps it until its last
attempt ends (retries and their waits included); when every slot is taken it is dropped, or
queued first-come first-served (``when_full: queue``), up to ``max_queue`` waiting and for at
most ``queue_timeout``.

A retry policy sends a failed attempt again: up to ``attempts`` attempts in all, waiting an
exponential backoff between them (``base`` × 2^(k−1) before retry k, at most ``max``, with
full, equal or no jitter), or what the answer's ``Retry-After`` says; only for the outcomes
listed in ``outcomes``; and, with a ``budget``, only while retries stay within that share of the
lane's requests (plus ``min_retries``), as Finagle's and Envoy's retry budgets do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from difflib import get_close_matches
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from harness.format.fault_settings import ERROR_KINDS
from harness.format.fields import Count, Duration, Rate, StrictModel, WholeNumber
from harness.format.units import NS_PER_S, format_duration, shown

__all__ = [
    "FALLBACK_KINDS",
    "RETRY_KINDS",
    "Backoff",
    "Fallback",
    "Hedge",
    "Pool",
    "Retry",
    "Timeouts",
    "retry_matches",
]

RETRY_KINDS = (*ERROR_KINDS, "short_circuited", "4xx", "5xx")
"""What ``retry.outcomes`` may name besides an HTTP status (``"503"``)."""
FALLBACK_KINDS = (*RETRY_KINDS, "dropped")
"""What ``fallback.outcomes`` may name besides an HTTP status."""
_STATUS = re.compile(r"[1-5][0-9][0-9]")


class Pool(StrictModel):
    """A bulkhead: at most ``max_concurrent`` requests of its upstreams in flight at once."""

    max_concurrent: Count
    when_full: Literal["drop", "queue"] = "drop"
    max_queue: Count | None = None
    """With ``when_full: queue``: the most requests waiting (unbounded when not given)."""
    queue_timeout: Duration | None = None
    """With ``when_full: queue``: how long a request waits for a slot before it is dropped."""

    @model_validator(mode="after")
    def _queue_keys(self) -> Pool:
        if self.when_full == "drop" and (self.max_queue or self.queue_timeout is not None):
            raise ValueError("max_queue and queue_timeout need when_full: queue")
        if self.queue_timeout is not None and self.queue_timeout <= 0:
            raise ValueError("queue_timeout must be above zero")
        return self


class Backoff(StrictModel):
    """The wait before retry k: ``base`` × 2^(k−1), at most ``max``, then jittered."""

    base: Duration = 100_000_000
    max: Duration = 10 * NS_PER_S
    jitter: Literal["full", "equal", "none"] = "full"
    """``full``: uniform in [0, wait]; ``equal``: wait/2 + uniform in [0, wait/2]; ``none``."""

    @model_validator(mode="after")
    def _ordered(self) -> Backoff:
        if self.max < self.base:
            raise ValueError(
                f"max ({format_duration(self.max)}) must be at least base "
                f"({format_duration(self.base)})"
            )
        return self


def _outcome_kind(kinds: tuple[str, ...], what: str) -> Callable[[object], object]:
    """Return the validator of an outcome a policy names: an HTTP status (``503``, ``"5xx"``)
    or one of ``kinds``; anything else is located, with a did-you-mean."""

    def validate(value: object) -> object:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(text, str) and (text in kinds or _STATUS.fullmatch(text)):
            return text
        close = get_close_matches(str(text), kinds, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PydanticCustomError(
            "error_kind",
            f"{{value}} is no outcome {what}{{hint}}: an HTTP status like 503, 4xx, 5xx, or one "
            "of {kinds}",
            {"value": shown(value), "hint": hint, "kinds": ", ".join(kinds)},
        )

    return validate


RetryKind = Annotated[str, BeforeValidator(_outcome_kind(RETRY_KINDS, "to retry"))]
FallbackKind = Annotated[
    str, BeforeValidator(_outcome_kind(FALLBACK_KINDS, "a fallback can serve"))
]


class Retry(StrictModel):
    """How the built-in client retries a failed attempt at one upstream."""

    attempts: Annotated[int, Field(ge=1, le=100, strict=True)] = 3
    """Attempts in all, the first included."""
    backoff: Backoff = Field(default_factory=Backoff)
    outcomes: tuple[RetryKind, ...] = ("timeout", "connect_error", "connection_reset", "5xx", "429")
    retry_after: Annotated[bool, Field(strict=True)] = True
    """Wait what an answer's ``Retry-After`` says (instead of the backoff) when it has one."""
    budget: Rate | None = None
    """At most this share of the lane's requests may be retried (plus ``min_retries``)."""
    min_retries: WholeNumber = 10

    def schedule_ns(self) -> int:
        """Return the backoff schedule's total: every wait of a request retried to its last
        attempt, un-jittered (``base``, 2 × ``base``, … each at most ``max``)."""
        backoff = self.backoff
        return sum(min(backoff.max, backoff.base << min(k, 62)) for k in range(self.attempts - 1))


class Fallback(StrictModel):
    """The built-in client answers a request its attempts failed with a fallback (a cached or
    default answer): the outcome ``fallback``, which is not a success."""

    outcomes: tuple[FallbackKind, ...] = (
        "timeout",
        "connect_error",
        "connection_reset",
        "short_circuited",
        "dropped",
        "4xx",
        "5xx",
    )
    """The final outcomes the fallback serves (default: every failure)."""


class Timeouts(StrictModel):
    """How long the built-in client waits: per attempt, and for the whole request."""

    attempt: Duration | None = None
    """Each attempt gives up after this long (default: ``traffic.timeout``)."""
    overall: Duration | None = None
    """The request gives up this long after it arrived: the attempt in flight is cut then (a
    timeout), and no retry starts whose backoff would reach it."""

    @model_validator(mode="after")
    def _positive(self) -> Timeouts:
        for key in ("attempt", "overall"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise ValueError(f"{key} must be above zero")
        return self


class Hedge(StrictModel):
    """A second request for an attempt still unanswered after ``delay``: the first success
    wins (or, when both fail, the later failure)."""

    delay: Duration

    @model_validator(mode="after")
    def _positive(self) -> Hedge:
        if self.delay <= 0:
            raise ValueError("delay must be above zero")
        return self


def retry_matches(outcomes: tuple[str, ...], kind: str, status: int) -> bool:
    """Return whether an attempt that ended as ``kind`` (an outcome label) with ``status`` is
    one ``outcomes`` retries."""
    if status:
        return str(status) in outcomes or f"{status // 100}xx" in outcomes
    return kind in outcomes
