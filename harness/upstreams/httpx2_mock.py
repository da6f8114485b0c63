"""The mocked upstreams for ``httpx2`` clients (openai 3.x and google-genai 3.x use httpx2).

Chosen over pytest-httpx2: that plugin answers from canned responses registered per test and
asserts in its own teardown, while the harness must draw each answer from the run's seeded fault
stream at the virtual instant the request arrives, wait its latency on the virtual clock, count
it against its upstream, and serve httpx and httpx2 clients from one shared stream (so a service
mixing both sees one fault sequence). httpx2's own ``MockTransport`` with an async handler does
all of that in a few lines, with no plugin and no patching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Protocol

import httpx2

from harness.events import Outcome
from harness.upstreams.answers import BodyStream, Reply, Served
from harness.upstreams.faults import connect_failure, read_timeout_ns
from harness.upstreams.streaming import StreamPlan, failure_of

__all__ = ["Httpx2Mock", "Httpx2SyncMock", "classify_httpx2"]


class Upstreams(Protocol):
    """What the transport needs of :class:`~harness.upstreams.mocked.MockedUpstreams`."""

    def upstream_of(self, url: str) -> str | None: ...

    def refusal(self, url: str, host: str) -> Exception: ...

    async def serve(self, name: str, read_timeout_ns: int, route: int | None = None) -> Served: ...

    def route_of(
        self, name: str, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> int | None: ...

    def serve_blocking(
        self, name: str, read_timeout_ns: int, route: int | None = None
    ) -> Served: ...


class Httpx2Mock(httpx2.MockTransport):
    """An httpx2 transport answering as the scenario's mocked upstreams do."""

    def __init__(self, mocks: Upstreams) -> None:
        self.mocks = mocks
        super().__init__(self._handle)

    async def _handle(self, request: httpx2.Request) -> httpx2.Response:
        name = _upstream(self.mocks, request)
        timeout = read_timeout_ns(request.extensions.get("timeout"))
        route = _route(self.mocks, name, request, await request.aread())
        return _respond(request, *await self.mocks.serve(name, timeout, route))


class Httpx2SyncMock(httpx2.MockTransport):
    """The same for sync ``httpx2.Client``\\s: each attempt blocks the loop for its latency."""

    def __init__(self, mocks: Upstreams) -> None:
        self.mocks = mocks
        super().__init__(self._handle)

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        name = _upstream(self.mocks, request)
        timeout = read_timeout_ns(request.extensions.get("timeout"))
        route = _route(self.mocks, name, request, request.read())
        return _respond(request, *self.mocks.serve_blocking(name, timeout, route))


def _route(mocks: Upstreams, name: str, request: httpx2.Request, body: bytes) -> int | None:
    """Return the route of ``name`` the request matches (None: no routes; see MockedUpstreams)."""
    return mocks.route_of(name, request.method, str(request.url), dict(request.headers), body)


def _upstream(mocks: Upstreams, request: httpx2.Request) -> str:
    url = str(request.url)
    name = mocks.upstream_of(url)
    if name is None:
        raise mocks.refusal(url, str(request.url.host))
    return name


def _respond(
    request: httpx2.Request, outcome: Outcome, status: int, reply: Reply | None, cause: str
) -> httpx2.Response:
    if outcome is Outcome.TIMEOUT:
        raise httpx2.ReadTimeout(
            "no answer within the client's timeout (injected)", request=request
        )
    if outcome is Outcome.CONNECT_ERROR:
        real = connect_failure(cause)
        if real is not None:
            raise httpx2.ConnectError(str(real), request=request) from real
        raise httpx2.ConnectError("connection refused (injected)", request=request)
    if outcome is Outcome.CONNECTION_RESET:
        raise httpx2.ReadError("connection reset by peer (injected)", request=request)
    if reply is None:
        return httpx2.Response(status, request=request)
    if reply.stream is not None:
        stream = _Chunks(reply.stream, request)
        return httpx2.Response(status, headers=list(reply.headers), stream=stream, request=request)
    return httpx2.Response(status, content=reply.body, headers=list(reply.headers), request=request)


class _Chunks(httpx2.AsyncByteStream, httpx2.SyncByteStream):
    """A streamed answer's body for httpx2, raising what httpx2 raises where the stream fails."""

    def __init__(self, body: BodyStream, request: httpx2.Request) -> None:
        self._body = body
        self._request = request

    def _timed_out(self) -> Exception:
        message = "no chunk within the client's timeout (injected)"
        return httpx2.ReadTimeout(message, request=self._request)

    def _failed(self, plan: StreamPlan) -> Exception:
        kind, message = failure_of(plan)
        if kind == "read":
            return httpx2.ReadError(message, request=self._request)
        return httpx2.RemoteProtocolError(message, request=self._request)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._body.chunks(self._timed_out, self._failed):
            yield piece

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body.chunks_blocking(self._timed_out, self._failed)


def classify_httpx2(error: BaseException) -> tuple[Outcome, int] | None:
    """Return the outcome an httpx2 exception stands for, or None (as events.classify)."""
    if isinstance(error, httpx2.TimeoutException):
        return Outcome.TIMEOUT, 0
    if isinstance(error, httpx2.ConnectError):
        return Outcome.CONNECT_ERROR, 0
    if isinstance(error, httpx2.TransportError):
        return Outcome.CONNECTION_RESET, 0
    return None
