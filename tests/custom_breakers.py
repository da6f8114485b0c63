"""Factories a scenario names with ``impl: "tests.custom_breakers:<factory>"``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pybreaker


def configured_pybreaker(**settings: Any) -> pybreaker.CircuitBreaker:
    """A pybreaker breaker configured in Python, as a user would for settings YAML cannot say."""
    return pybreaker.CircuitBreaker(**settings)


class CountingBreaker:
    """A minimal breaker of one's own: OPEN for good after ``limit`` consecutive failures."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self.failures = 0
        self.state = "closed"

    async def call(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        if self.state == "open":
            raise RuntimeError("open")
        try:
            result = await attempt()
        except Exception:
            self.failures += 1
            if self.failures >= self.limit:
                self.state = "open"
            raise
        self.failures = 0
        return result


def counting(limit: int = 3) -> CountingBreaker:
    return CountingBreaker(limit)


def broken(**settings: Any) -> Any:
    raise ValueError(f"cannot build a breaker from {settings}")


def not_a_breaker() -> object:
    return object()


class OddStates(CountingBreaker):
    def __init__(self) -> None:
        super().__init__()
        self.state = "sideways"


NOT_CALLABLE = 42


class LeakyBreaker(CountingBreaker):
    """Says OPEN after ``limit`` failures but lets every call through: a broken breaker."""

    async def call(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        try:
            result = await attempt()
        except Exception:
            self.failures += 1
            if self.failures >= self.limit:
                self.state = "open"
            raise
        return result
