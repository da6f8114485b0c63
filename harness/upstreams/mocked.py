"""Mocked upstream APIs: seeded faults in virtual time, for httpx (respx) and httpx2 clients.

Each upstream of a scenario is matched by its base URL. A request reaching it draws its fault
(see :mod:`harness.upstreams.faults`) at the current virtual time, waits the drawn latency on
the virtual clock, then answers with a status, a body and headers (see
:mod:`harness.upstreams.answers`), or raises the exception a real
failure raises in the client's library: ``ReadTimeout`` when the latency reaches the client's
read timeout (or the upstream never answers), ``ConnectError`` for a refused connection (and,
with the message a real resolver or TLS handshake gives, for a DNS or TLS failure: see
:func:`~harness.upstreams.faults.connect_failure`), ``ReadError`` for a reset one. httpx
clients are served by a respx router (:attr:`MockedUpstreams.transport`), where you can add
and change routes; the HTTP engine, whose router nobody extends, has them served by the same
handlers without respx (``via_respx=False``: respx's matching and call log cost a third of a
request); httpx2 clients, which respx does not patch, by a transport of the harness's own
(:attr:`MockedUpstreams.httpx2_transport`, see :mod:`harness.upstreams.httpx2_mock`) drawing
from the same seeded streams.

An upstream with ``routes`` answers each request by the first route matching its method, path,
headers and body (see :mod:`harness.format.routes`), with that route's settings, all routes
drawing from the upstream's one stream; a request none matches is refused with
:class:`UnmatchedRouteError`, naming the closest route, and reported as an unmocked host is.

A request to a host no upstream mocks is refused at once with
:class:`~harness.upstreams.guard.UnmockedHostError`, naming the host and the mocked upstreams.

A client without a read timeout waiting on an upstream that never answers gives up after
``HANG_LIMIT`` of virtual time, so a run always ends.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from functools import partial
from typing import Any

import httpcore
import httpx
import respx

from harness.clock import VirtualClock
from harness.events import Outcome
from harness.format.routes import Request, Route, closest_route, matching_route
from harness.format.scenario import Scenario, Upstream
from harness.upstreams.answers import AnswerMaker, BodyStream, Reply, Served
from harness.upstreams.faults import (
    HANG_LIMIT,
    Fault,
    FaultSampler,
    answer,
    connect_failure,
    read_timeout_ns,
    route_sampler,
)
from harness.upstreams.guard import UnmockedHostError, register_upstreams
from harness.upstreams.streaming import (
    RESET,
    SSE_TYPE,
    BodyPlanner,
    StreamedBody,
    StreamPlan,
    StreamPlanner,
    failure_of,
    split_body,
    sse_pieces,
)
from harness.upstreams.streams import stream

__all__ = [
    "CALLER",
    "COMPLETION",
    "HANG_LIMIT",
    "AttemptHook",
    "MockedUpstreams",
    "Reply",
    "UnmatchedRouteError",
    "clock_sleep",
    "read_timeout_ns",
    "respond",
]

COMPLETION = 0
"""Clock priority of an upstream's answer: at one instant, answers come before new arrivals."""

CALLER: ContextVar[str | None] = ContextVar("harness_caller", default=None)
"""The traffic lane whose request is running (set in its task), so each attempt an entry point
makes is counted against the lane that called it."""

AttemptHook = Callable[[str, str | None, int, int, Outcome, int], None]
"""Called as ``hook(upstream, caller, start_ns, latency_ns, outcome, status)`` per attempt."""

_FORGET_CALLS_EVERY = 1024  # respx keeps every call in memory unless told to forget


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # the waiting request may have been cancelled meanwhile
        future.set_result(None)


def clock_sleep(clock: VirtualClock, duration_ns: int) -> Awaitable[None]:
    """Return an awaitable that completes ``duration_ns`` later, as a clock event."""
    future = asyncio.get_running_loop().create_future()
    clock.schedule(clock.now_ns + duration_ns, COMPLETION, partial(_wake, future))
    return future


class MockedUpstreams:
    """Every upstream of ``scenario`` mocked, with faults from ``seed``, for httpx and httpx2.

    ``on_attempt`` is told of every attempt when it ends; ``on_unmocked`` of every request to a
    host no upstream mocks (before it is refused).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        clock: VirtualClock,
        *,
        keep_calls: bool = False,
        via_respx: bool = True,
        on_attempt: AttemptHook | None = None,
        on_unmocked: Callable[[str], None] | None = None,
    ) -> None:
        self.clock = clock
        self.keep_calls = keep_calls
        self.via_respx = via_respx
        self._handlers: dict[str, Callable[[httpx.Request], Awaitable[httpx.Response]]] = {}
        self.router = respx.MockRouter(assert_all_mocked=True, assert_all_called=False)
        self.reached: dict[str, int] = {}
        self.urls = {name: scenario.url_of(name) for name in scenario.upstreams}
        self._on_attempt = on_attempt
        self._on_unmocked = on_unmocked
        self._samplers: dict[str, FaultSampler] = {}
        self._answers: dict[str, AnswerMaker] = {}
        self._planners: dict[str, StreamPlanner] = {}
        self._bodies: dict[str, BodyPlanner] = {}
        self._routes: dict[str, tuple[Route, ...]] = {}
        self._route_samplers: dict[str, list[FaultSampler]] = {}
        self._route_answers: dict[str, list[AnswerMaker]] = {}
        self.route_hits: dict[str, dict[str, int]] = {}
        """Requests each route answered, by upstream and route label (upstreams with routes)."""
        self._handled = 0
        self._httpx2: Any = None
        for name, upstream in scenario.upstreams.items():
            faults = stream(seed, name, "faults")
            self._samplers[name] = FaultSampler(upstream, faults)
            rng = stream(seed, name, "answers")
            self._answers[name] = AnswerMaker(name, upstream.answers, rng)
            if upstream.stream is not None:
                self._planners[name] = StreamPlanner(upstream.stream, stream(seed, name, "stream"))
            if upstream.body is not None:
                body_rng = stream(seed, name, "body")
                self._bodies[name] = BodyPlanner(upstream.body, body_rng, self._answers[name])
            if upstream.routes:
                self._add_routes(name, upstream, faults, rng)
            self.reached[name] = 0
            handler = self._handlers[name] = self._handler(name)
            self.router.route(url__startswith=self.urls[name], name=name).mock(side_effect=handler)
        self.transport = httpx.MockTransport(self._route)
        register_upstreams(self.urls)

    def _add_routes(
        self, name: str, upstream: Upstream, faults: random.Random, rng: random.Random
    ) -> None:
        # One fault stream and one answer stream per upstream, whichever route draws from it:
        # draws follow the order requests reach the upstream, as without routes.
        self._routes[name] = upstream.routes
        self._route_samplers[name] = [route_sampler(upstream, r, faults) for r in upstream.routes]
        self._route_answers[name] = [
            AnswerMaker(name, upstream.answers if r.answers is None else r.answers, rng)
            for r in upstream.routes
        ]
        self.route_hits[name] = {route.label: 0 for route in upstream.routes}

    def route_of(
        self, name: str, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> int | None:
        """Return the index of the route of ``name`` this request matches (None: the upstream
        has no routes); refuse it (and report it, as an unmocked host is) if none matches."""
        routes = self._routes.get(name)
        if not routes:
            return None
        request = Request.of(method, url, headers, body)
        index = matching_route(routes, self.urls[name], request)
        if index is not None:
            return index
        error = UnmatchedRouteError(
            f"upstream {name!r}: no route matches {request} ({url}); "
            + closest_route(routes, self.urls[name], request)
        )
        if self._on_unmocked is not None:
            self._on_unmocked(str(error))
        raise error

    @property
    def httpx2_transport(self) -> Any:
        """Return the transport serving ``httpx2`` clients (made on first use)."""
        if self._httpx2 is None:
            from harness.upstreams.httpx2_mock import Httpx2Mock

            self._httpx2 = Httpx2Mock(self)
        return self._httpx2

    def upstream_of(self, url: str) -> str | None:
        """Return the upstream whose base URL ``url`` starts with, or None."""
        for name, base in self.urls.items():
            if url.startswith(base):
                return name
        return None

    def refusal(self, url: str, host: str) -> UnmockedHostError:
        """Return (and report) the error refusing a request to an unmocked ``host``."""
        error = UnmockedHostError(host, url, self.urls)
        if self._on_unmocked is not None:
            self._on_unmocked(str(error))
        return error

    async def serve(self, name: str, read_timeout_ns: int, route: int | None = None) -> Served:
        """Serve one attempt reaching ``name`` (by its ``route``, if it has routes): draw its
        fault, wait in virtual time, and return (outcome, status, reply, cause) as the client
        will see it (no reply without a status; ``cause`` names a DNS or TLS failure among
        connect errors)."""
        drawn = self._draw(name, read_timeout_ns, route)
        index, start_ns, outcome, status, after_ns, cause, plan = drawn
        if after_ns:
            await clock_sleep(self.clock, after_ns)
        answered = self._answered(name, index, start_ns, outcome, status, after_ns, plan, route)
        return (*answered, cause)

    def serve_blocking(self, name: str, read_timeout_ns: int, route: int | None = None) -> Served:
        """Serve one attempt of a *sync* client: as :meth:`serve`, but the wait blocks the loop.

        The clock jumps forward by the drawn latency (or to the client's timeout) without
        running anything else (:meth:`VirtualClock.block`), as a blocking call in a real asyncio
        service does; events due meanwhile run afterwards, late.
        """
        drawn = self._draw(name, read_timeout_ns, route)
        index, start_ns, outcome, status, after_ns, cause, plan = drawn
        self.clock.block(after_ns)
        answered = self._answered(name, index, start_ns, outcome, status, after_ns, plan, route)
        return (*answered, cause)

    @property
    def sync_transport(self) -> httpx.MockTransport:
        """Return the transport serving sync ``httpx.Client``\\s (blocking, see above)."""
        return httpx.MockTransport(self._route_blocking)

    @property
    def httpx2_sync_transport(self) -> Any:
        """Return the transport serving sync ``httpx2.Client``\\s (blocking, see above)."""
        from harness.upstreams.httpx2_mock import Httpx2SyncMock

        return Httpx2SyncMock(self)

    def _draw(
        self, name: str, read_timeout_ns: int, route: int | None
    ) -> tuple[int, int, Outcome, int, int, str, StreamPlan | None]:
        index = self.reached[name]
        self._count(name)
        start_ns = self.clock.now_ns
        if route is None:
            sampler = self._samplers[name]
        else:
            sampler = self._route_samplers[name][route]
            self.route_hits[name][self._routes[name][route].label] += 1
        fault: Fault = sampler.draw(start_ns)
        outcome, status, after_ns = answer(fault, read_timeout_ns)
        planner, body = self._planners.get(name), self._bodies.get(name)
        plan = None
        if planner is not None:
            plan = planner.plan(outcome, status, after_ns, read_timeout_ns)
        elif body is not None:
            plan = body.plan(index, outcome, status, after_ns, start_ns)
        return index, start_ns, outcome, status, after_ns, fault.cause, plan

    def _answered(
        self,
        name: str,
        index: int,
        start_ns: int,
        outcome: Outcome,
        status: int,
        after_ns: int,
        plan: StreamPlan | None = None,
        route: int | None = None,
    ) -> tuple[Outcome, int, Reply | None]:
        if self._on_attempt is not None:
            # A streamed attempt ends as its plan says (when its body is read to the end).
            ends = (after_ns, outcome, status) if plan is None else plan_end(plan)
            self._on_attempt(name, CALLER.get(), start_ns, *ends)
        if not status:
            return outcome, status, None
        if plan is not None and plan.reply is not None:  # a body fault's: made on arrival
            return outcome, status, self._faulty_body(plan, plan.reply)
        maker = self._answers[name] if route is None else self._route_answers[name][route]
        reply = maker.reply(index, status, self.clock.now_ns)
        if plan is not None:
            reply = self._streamed(name, reply, plan)
        return outcome, status, reply

    def _faulty_body(self, plan: StreamPlan, reply: Reply) -> Reply:
        """Return ``reply`` sent as ``plan`` says: slowly, cut short, or reset."""
        pieces = [] if plan.end == RESET else [reply.body[: plan.sent]]
        headers = (*reply.headers, ("content-length", str(plan.size)))
        clock = self.clock
        body = StreamedBody(
            plan, pieces, partial(clock_sleep, clock), clock.block, lambda: clock.now_ns, False
        )
        return Reply(b"", headers, body)

    def _streamed(self, name: str, reply: Reply, plan: StreamPlan) -> Reply:
        """Return ``reply`` as a streamed answer: SSE events or its body in chunks."""
        settings = self._planners[name].settings
        headers = reply.headers
        if settings.format == "sse":
            try:
                success = json.loads(reply.body)
            except ValueError:
                success = reply.body.decode("utf-8", "replace")
            pieces = sse_pieces(success, plan.chunks)
            headers = (("content-type", SSE_TYPE), *headers[1:])  # content-type comes first
        else:
            pieces = split_body(reply.body, plan.chunks)
        clock = self.clock
        body = StreamedBody(
            plan, pieces, partial(clock_sleep, clock), clock.block, lambda: clock.now_ns
        )
        return Reply(b"", headers, body)

    def _route_blocking(self, request: httpx.Request) -> httpx.Response:
        # Sync clients bypass respx (its router is not told of these calls).
        url = str(request.url)
        name = self.upstream_of(url)
        if name is None:
            raise self.refusal(url, request.url.host)
        route = self.route_of(name, request.method, url, request.headers, request.read())
        return respond(request, *self.serve_blocking(name, _read_timeout_ns(request), route))

    def _handler(self, name: str) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
        async def handle(request: httpx.Request) -> httpx.Response:
            route = None
            if name in self._routes:
                body = await request.aread()
                route = self.route_of(name, request.method, str(request.url), request.headers, body)
            return respond(request, *await self.serve(name, _read_timeout_ns(request), route))

        return handle

    async def _route(self, request: httpx.Request) -> httpx.Response:
        # The network guard's answer comes first: respx would wrap it in its own error.
        url = str(request.url)
        name = self.upstream_of(url)
        if name is None:
            raise self.refusal(url, request.url.host)
        if not self.via_respx:
            # The route respx would pick (the first base URL the URL starts with) and the same
            # handler, without respx's per-call matching, signature inspection and call log.
            return await self._handlers[name](request)
        return await self.router.async_handler(request)

    def _count(self, name: str) -> None:
        self.reached[name] += 1
        self._handled += 1
        if not self.keep_calls and self._handled % _FORGET_CALLS_EVERY == 0:
            self.router.reset()


class UnmatchedRouteError(ConnectionRefusedError):
    """A request reached an upstream with routes, and none of them matches it; it was never
    answered. A ``ConnectionRefusedError``, as a refused connection is what code under test
    would see; the run stops with it (the scenario or the code under test needs fixing)."""


def respond(
    request: httpx.Request,
    outcome: Outcome,
    status: int,
    reply: Reply | None = None,
    cause: str = "",
) -> httpx.Response:
    """Return the response for ``outcome``, or raise the httpx exception a real failure raises."""
    if outcome is Outcome.TIMEOUT:
        raise httpx.ReadTimeout("no answer within the client's timeout (injected)", request=request)
    if outcome is Outcome.CONNECT_ERROR:
        real = connect_failure(cause)
        if real is not None:
            # As httpx does: httpcore's ConnectError wraps the OS error, httpx's is raised from it.
            low = httpcore.ConnectError(real)
            low.__cause__ = real
            raise httpx.ConnectError(str(real), request=request) from low
        raise httpx.ConnectError("connection refused (injected)", request=request)
    if outcome is Outcome.CONNECTION_RESET:
        raise httpx.ReadError("connection reset by peer (injected)", request=request)
    if reply is None:
        return httpx.Response(status, request=request)
    if reply.stream is not None:
        stream = _Chunks(reply.stream, request)
        return httpx.Response(status, headers=reply.headers, stream=stream, request=request)
    return httpx.Response(status, content=reply.body, headers=reply.headers, request=request)


def plan_end(plan: StreamPlan) -> tuple[int, Outcome, int]:
    """Return (after how long, outcome, status) of a streamed attempt read to its end."""
    return plan.after_ns, plan.outcome, plan.status


class _Chunks(httpx.AsyncByteStream, httpx.SyncByteStream):
    """A streamed answer's body for httpx, raising what httpx raises where the stream fails."""

    def __init__(self, body: BodyStream, request: httpx.Request) -> None:
        self._body = body
        self._request = request

    def _timed_out(self) -> Exception:
        return httpx.ReadTimeout(
            "no chunk within the client's timeout (injected)", request=self._request
        )

    def _failed(self, plan: StreamPlan) -> Exception:
        kind, message = failure_of(plan)
        if kind == "read":
            return httpx.ReadError(message, request=self._request)
        return httpx.RemoteProtocolError(message, request=self._request)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._body.chunks(self._timed_out, self._failed):
            yield piece

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body.chunks_blocking(self._timed_out, self._failed)


def _read_timeout_ns(request: httpx.Request) -> int:
    return read_timeout_ns(request.extensions.get("timeout"))
