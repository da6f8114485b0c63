"""A service answering with google-genai in Vertex AI mode, with the SDK's own retries
(tenacity, jittered) and a fallback answer. ``examples/vertex-outage.yaml`` puts it under test.

The SDK sends through ``ctx.httpx2`` (``HttpOptions(httpx_async_client=...)``); a fixed token
stands in for a service account's, so nothing reaches Google: the network guard would
refuse it anyway.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from harness import Fallback, ServiceContext

FALLBACK_ANSWER = "The assistant is busy; here is the cached answer."
_clients: WeakKeyDictionary[Any, genai.Client] = WeakKeyDictionary()


def _client(ctx: ServiceContext) -> genai.Client:
    """One SDK client per run (per httpx2 client), as a service keeps one per process."""
    http = ctx.httpx2
    if http not in _clients:
        _clients[http] = genai.Client(
            vertexai=True,
            project="demo-project",
            location="us-central1",
            credentials=Credentials(token="test-token"),  # valid, never refreshed
            http_options=types.HttpOptions(
                base_url=ctx.urls["vertex"],
                httpx_async_client=http,
                timeout=10_000,  # ms
                retry_options=types.HttpRetryOptions(attempts=3, initial_delay=0.5),
            ),
        )
    return _clients[http]


async def answer(ctx: ServiceContext) -> Any:
    """Ask Gemini; on an API failure (after the SDK's own retries) answer a fallback."""
    try:
        return await _client(ctx).aio.models.generate_content(
            model="gemini-2.0-flash", contents=f"question {ctx.index}"
        )
    except errors.APIError as error:
        return Fallback(f"{FALLBACK_ANSWER} ({error.code})")
