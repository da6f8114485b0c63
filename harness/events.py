"""The vocabulary of a run: request outcomes, breaker states and state transitions, and which
exception a failed call raised stands for which outcome."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import httpx

__all__ = ["BreakerState", "Outcome", "Transition", "UpstreamStatusError", "classify"]


class Outcome(IntEnum):
    """What happened to one request, as the calling code saw it."""

    SUCCESS = 0  # a 2xx/3xx response
    HTTP_ERROR = 1  # a 4xx/5xx response
    TIMEOUT = 2  # the client's timeout expired before the upstream answered
    CONNECT_ERROR = 3  # the connection was refused
    CONNECTION_RESET = 4  # the connection dropped mid-request
    SHORT_CIRCUITED = 5  # the breaker rejected the call; the upstream never saw it
    DROPPED = 6  # over the traffic's concurrency cap; never sent
    FALLBACK = 7  # an entry point answered with a Fallback (its upstreams failed it)
    EXCEPTION = 8  # an entry point raised something that is no upstream's answer

    @property
    def from_service(self) -> bool:
        """Return whether only an entry point (your code) can end a request this way."""
        return self in (Outcome.FALLBACK, Outcome.EXCEPTION)

    @property
    def reached_upstream(self) -> bool:
        """Return whether a request with this outcome was sent to the upstream."""
        return self not in (Outcome.SHORT_CIRCUITED, Outcome.DROPPED)

    @property
    def label(self) -> str:
        """Return the snake_case name used in reports."""
        return self.name.lower()


class BreakerState(IntEnum):
    """A circuit breaker's state; NONE marks an upstream called without a breaker."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2
    FORCED_OPEN = 3
    DISABLED = 4
    METRICS_ONLY = 5  # the built-in breaker's: records, permits every call, never moves
    NONE = 9


@dataclass(frozen=True, slots=True)
class Transition:
    """A breaker's move from one state to another at a virtual time."""

    at_ns: int
    source: BreakerState
    target: BreakerState

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: times in ms, states by name."""
        return {"at_ms": self.at_ns / 1e6, "from": self.source.name, "to": self.target.name}


class UpstreamStatusError(Exception):
    """An upstream answered with an error status; raised so every breaker sees a failure."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"upstream answered HTTP {status}")


def classify(error: BaseException) -> tuple[Outcome, int] | None:
    """Return the outcome (and status) a failed call's exception stands for, or None when it
    stands for no answer of the upstream's (a fault in the breaker under test or the harness)."""
    if isinstance(error, UpstreamStatusError):
        return Outcome.HTTP_ERROR, error.status
    if isinstance(error, httpx.TimeoutException):
        return Outcome.TIMEOUT, 0
    if isinstance(error, httpx.ConnectError):
        return Outcome.CONNECT_ERROR, 0
    if isinstance(error, httpx.TransportError):
        return Outcome.CONNECTION_RESET, 0
    return None
