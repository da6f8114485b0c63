"""Entry points a scenario names with ``traffic.entry_point: "tests.services:<name>"``."""

from __future__ import annotations

import asyncio
import datetime
import random
from typing import Any

from harness import Fallback, ServiceContext
from harness.clock import VIRTUAL_EPOCH

NOT_CALLABLE = 42


async def retry_then_fallback(ctx: ServiceContext) -> Any:
    """Call vertex up to 3 times; answer a fallback when every attempt failed."""
    for _ in range(3):
        response = await ctx.httpx.get(ctx.urls["vertex"] + "predict", timeout=1.0)
        if response.status_code < 400:
            return response
    return Fallback("cached answer")


async def t1_then_vertex(ctx: ServiceContext) -> Any:
    """Call t1 (httpx), then vertex (httpx2): one call touches two upstreams."""
    await ctx.httpx.get(ctx.urls["t1"], timeout=1.0)
    return await ctx.httpx2.get(ctx.urls["vertex"], timeout=1.0)


async def once_httpx2(ctx: ServiceContext) -> Any:
    """One httpx2 request to vertex; its response is the outcome."""
    return await ctx.httpx2.get(ctx.urls["vertex"], timeout=1.0)


def plain_sync(ctx: ServiceContext) -> str:
    """A synchronous entry point touching no upstream."""
    return f"answer {ctx.index}"


async def raises(ctx: ServiceContext) -> None:
    """Fail every other request with a service bug."""
    if ctx.index % 2:
        raise KeyError("missing field")


async def never_returns(ctx: ServiceContext) -> None:
    """Await a future nothing will ever set."""
    await asyncio.get_running_loop().create_future()


async def sleeps_forever(ctx: ServiceContext) -> None:
    """Sleep in virtual time far longer than any run."""
    await asyncio.sleep(10**7)


async def calls_the_internet(ctx: ServiceContext) -> Any:
    """Reach a host no upstream mocks."""
    return await ctx.httpx2.get("https://api.openai.com/v1/models")


async def jittered(ctx: ServiceContext) -> Any:
    """Retry with a jittered sleep from the global random module (as tenacity does)."""
    for _ in range(3):
        response = await ctx.httpx.get(ctx.urls["vertex"], timeout=1.0)
        if response.status_code < 400:
            return response
        await asyncio.sleep(random.uniform(0.0, 0.5))
    return response


async def two_args(ctx: ServiceContext, extra: int) -> None:
    """Wrong signature: an entry point takes exactly one argument."""


async def reads_time(ctx: ServiceContext) -> datetime.datetime:
    """Check that ``datetime.now`` says the virtual time, as code under test would read it."""
    now = datetime.datetime.now(datetime.UTC)
    expected = VIRTUAL_EPOCH + datetime.timedelta(microseconds=ctx.now_ns // 1000)
    if now != expected:
        raise AssertionError(f"datetime.now() is {now}, not the virtual {expected}")
    return now


def sync_httpx(ctx: ServiceContext) -> Any:
    """A synchronous entry point: one blocking httpx request to vertex."""
    return ctx.httpx_sync.get(ctx.urls["vertex"], timeout=1.0)


def sync_httpx2(ctx: ServiceContext) -> Any:
    """A synchronous entry point: one blocking httpx2 request to vertex."""
    return ctx.httpx2_sync.get(ctx.urls["vertex"], timeout=1.0)


async def async_httpx(ctx: ServiceContext) -> Any:
    """The async twin of :func:`sync_httpx`."""
    return await ctx.httpx.get(ctx.urls["vertex"], timeout=1.0)


def sync_calls_the_internet(ctx: ServiceContext) -> Any:
    """Reach a host no upstream mocks with a sync client."""
    return ctx.httpx_sync.get("https://api.openai.com/v1/models")
