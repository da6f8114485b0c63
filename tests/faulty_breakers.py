"""Breakers with bugs, for tests that the harness stops and says so instead of guessing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class RaisesAfter:
    """Lets the call through, then raises: neither a rejection nor an upstream answer."""

    state = "closed"

    async def call(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        await attempt()
        raise ValueError("post-processing failed")


class Buggy:
    """Has a bug before the call: an AttributeError is no rejection."""

    state = "closed"

    async def call(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        return self.missing  # type: ignore[attr-defined]


class Sleepy:
    """Really suspends on asyncio before each call."""

    state = "closed"

    async def call(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        await asyncio.sleep(0.5)
        return await attempt()


class Hangs:
    """Waits for an event nobody sets."""

    state = "closed"

    async def call(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        await asyncio.Event().wait()


def raises_after() -> RaisesAfter:
    return RaisesAfter()


def buggy() -> Buggy:
    return Buggy()


def sleepy() -> Sleepy:
    return Sleepy()


def hangs() -> Hangs:
    return Hangs()
