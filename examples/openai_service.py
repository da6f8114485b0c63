"""A service answering with OpenAI's SDK, as its own code would: ``AsyncOpenAI(max_retries=2)``
with a fallback answer when the API fails it (``answer``), or streaming the answer as chat
front ends do (``answer_streamed``). ``examples/openai-*.yaml`` put them under test.

The SDK sends through ``ctx.httpx2``, an ``httpx2.AsyncClient`` wired to the mocked upstream;
its retry back-off sleeps with ``anyio.sleep`` (virtual time) and draws its jitter from the
global ``random`` module (seeded per run), so a run is reproducible byte for byte.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import httpx2
import openai

from harness import Fallback, ServiceContext

FALLBACK_ANSWER = "The assistant is busy; here is the cached answer."
_clients: WeakKeyDictionary[Any, openai.AsyncOpenAI] = WeakKeyDictionary()


def _client(ctx: ServiceContext) -> openai.AsyncOpenAI:
    """One SDK client per run (per httpx2 client), as a service keeps one per process."""
    http = ctx.httpx2
    if http not in _clients:
        _clients[http] = openai.AsyncOpenAI(
            api_key="sk-test",  # never sent anywhere: the network guard refuses real hosts
            base_url=ctx.urls["openai"] + "v1",
            http_client=http,
            max_retries=2,
            timeout=10.0,
        )
    return _clients[http]


async def answer(ctx: ServiceContext) -> Any:
    """Ask the model; on an API failure (after the SDK's own retries) answer a fallback."""
    try:
        completion = await _client(ctx).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"question {ctx.index}"}],
        )
    except (openai.APIStatusError, openai.APIConnectionError) as error:
        return Fallback(f"{FALLBACK_ANSWER} ({type(error).__name__})")
    return completion


async def answer_without_fallback(ctx: ServiceContext) -> Any:
    """The same call with no fallback: an API failure is the request's failure."""
    return await _client(ctx).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"question {ctx.index}"}],
    )


async def answer_streamed(ctx: ServiceContext) -> Any:
    """Stream the model's answer (``stream=True``) and join its ``chat.completion.chunk``
    deltas; a failure, even mid-stream, falls back. One retry, a 5 s timeout: a chat front end
    would rather fall back than keep its user waiting."""
    client = _client(ctx).with_options(max_retries=1, timeout=5.0)
    try:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"question {ctx.index}"}],
            stream=True,
        )
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    except (openai.APIError, httpx2.TransportError) as error:
        return Fallback(f"{FALLBACK_ANSWER} ({type(error).__name__})")
    return "".join(parts)
