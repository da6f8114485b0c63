"""A service streaming its answers with OpenAI's SDK (``stream=True``), as chat front ends do:
it joins the ``chat.completion.chunk`` deltas into the answer, and answers a fallback when the
API fails it, before or during the stream. ``examples/openai-stream.yaml`` puts it under test.
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
            max_retries=1,
            timeout=5.0,
        )
    return _clients[http]


async def answer(ctx: ServiceContext) -> Any:
    """Stream the model's answer and join its deltas; a failure, even mid-stream, falls back."""
    try:
        stream = await _client(ctx).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"question {ctx.index}"}],
            stream=True,
        )
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    except (openai.APIError, httpx2.TransportError) as error:
        return Fallback(f"{FALLBACK_ANSWER} ({type(error).__name__})")
    return "".join(parts)
