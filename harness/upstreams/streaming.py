"""Streamed answers and body faults: when each chunk of an answer's body arrives, and how the
body ends.

Every engine asks a :class:`StreamPlanner` for the plan of each successful answer of an upstream
with ``stream:`` (see :mod:`harness.format.streaming`), in the order answers reach the upstream,
so both engines agree on outcomes and timings: the HTTP engine's mocks then send the chunks
after those delays on the virtual clock, the direct engine only reads the plan.

A plan takes exactly ``chunks + 2`` uniform draws from the upstream's ``stream`` stream (drop?,
stall?, then one delay per chunk, whatever happens), so a drop never shifts later draws, and an
upstream that does not stream draws nothing (its runs are as they were).

How a stream ends, as httpx sees it, each chunk read with the client's read timeout:

- every chunk sent: the answer's outcome (a success) when the last one arrives;
- a delay before a chunk reaching the read timeout: ``ReadTimeout`` (outcome ``timeout``) that
  long after the previous chunk (or the headers);
- a drop after ``drop_after`` chunks: ``RemoteProtocolError`` (``connection_reset``), as httpx
  raises on an incomplete chunked body, right after the last chunk sent.

Body faults (``body:``) are planned the same way by a :class:`BodyPlanner`, for every answer
with a status: one draw from the upstream's ``body`` stream (reset, cut or whole), and the answer is
made when the request arrives (its templates' ``{time}`` is then the arrival's), so both
engines render the same bodies in the same order and agree on their sizes. The body arrives
``ceil(size * 1e9 / bandwidth)`` ns after the headers (it is not subject to the read timeout:
every read gets bytes); a cut body ends with ``RemoteProtocolError`` once ``cut_at`` of its
bytes are in, as httpx raises when fewer bytes than ``content-length`` come; a reset one with
``ReadError("[Errno 104] Connection reset by peer")`` right after the headers.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from harness.events import Outcome
from harness.format.streaming import BodyFaults, Stream
from harness.format.units import NS_PER_S
from harness.upstreams.answers import AnswerMaker, Reply
from harness.upstreams.faults import latency_quantile

__all__ = [
    "FIRST_BYTE",
    "INCOMPLETE_CHUNKED",
    "NO_FIRST_BYTE",
    "SSE_TYPE",
    "BodyPlanner",
    "StreamPlan",
    "StreamPlanner",
    "StreamedBody",
    "body_answers",
    "cut_short",
    "failure_of",
    "split_body",
    "sse_pieces",
    "streamed_answers",
]

NO_FIRST_BYTE = -1
SSE_TYPE = "text/event-stream; charset=utf-8"
INCOMPLETE_CHUNKED = (
    "peer closed connection without sending complete message body: incomplete chunked read"
)
"""What httpx (h11) says of a chunked body whose connection closed before its end."""

COMPLETE, DROPPED, TIMED_OUT = "complete", "dropped", "timed_out"
CUT, RESET = "cut", "reset"  # a body cut short; a connection reset after the headers
RESET_BY_PEER = "[Errno 104] Connection reset by peer"


def failure_of(plan: StreamPlan) -> tuple[str, str]:
    """Return how a body that ends as ``plan`` fails: ("protocol" or "read", httpx's message)."""
    if plan.end == RESET:
        return "read", RESET_BY_PEER
    if plan.end == CUT:
        return "protocol", cut_short(plan.sent, plan.size)
    return "protocol", INCOMPLETE_CHUNKED


def cut_short(sent: int, size: int) -> str:
    """Return what httpx (h11) says of a body whose connection closed before its length."""
    return (
        "peer closed connection without sending complete message body: "
        f"received {sent} bytes, expected {size}"
    )


FIRST_BYTE: ContextVar[list[int] | None] = ContextVar("harness_first_byte", default=None)
"""Set by an engine in a request's task to a one-item list: a streamed answer read in that task
writes there the virtual time its first chunk arrived (the last streamed attempt's)."""


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """How one streamed answer unfolds, in ns from when the request reached the upstream."""

    outcome: Outcome
    status: int
    after_ns: int  # when the attempt ends (the last chunk, the drop, or the read timeout)
    ttfb_ns: int  # when the first chunk arrives; NO_FIRST_BYTE if none does
    headers_ns: int  # when the headers arrive (the upstream's drawn latency)
    gaps: tuple[int, ...]  # the delay before each chunk that is sent
    chunks: int  # how many chunks a complete answer has
    end: str  # COMPLETE, DROPPED, TIMED_OUT, CUT or RESET
    timeout_ns: int
    size: int = 0  # a body fault's: the body's length in bytes, and how many of them are sent
    sent: int = 0
    reply: Reply | None = None  # a body fault's: the answer, made when the request arrived


class StreamPlanner:
    """Plan the streamed answers of one upstream, from its ``stream`` settings and ``rng``."""

    def __init__(self, settings: Stream, rng: random.Random) -> None:
        self.settings = settings
        self._random = rng.random
        self._gap: Callable[[float], int] = latency_quantile(settings.chunk_latency)

    def plan(
        self, outcome: Outcome, status: int, after_ns: int, timeout_ns: int
    ) -> StreamPlan | None:
        """Return the plan of an answer the upstream gives after ``after_ns`` (the headers), or
        None when it does not stream (anything but a success)."""
        if outcome is not Outcome.SUCCESS:
            return None
        settings, draw, gap = self.settings, self._random, self._gap
        chunks = settings.chunks
        dropped = draw() < settings.drop_rate
        stalled = draw() < settings.stall_rate
        delays = [gap(draw()) for _ in range(chunks)]
        if stalled:
            delays[settings.stall_after] += settings.stall
        stop = settings.drop_after if dropped else chunks
        at, ttfb = after_ns, NO_FIRST_BYTE
        for index in range(stop):
            if delays[index] >= timeout_ns:
                gaps = tuple(delays[:index])
                return StreamPlan(
                    Outcome.TIMEOUT, 0, at + timeout_ns, ttfb, after_ns, gaps, chunks,
                    TIMED_OUT, timeout_ns,
                )  # fmt: skip
            at += delays[index]
            if index == 0:
                ttfb = at
        gaps = tuple(delays[:stop])
        if dropped:
            return StreamPlan(
                Outcome.CONNECTION_RESET, 0, at, ttfb, after_ns, gaps, chunks, DROPPED, timeout_ns
            )
        return StreamPlan(outcome, status, at, ttfb, after_ns, gaps, chunks, COMPLETE, timeout_ns)


class BodyPlanner:
    """Plan the body faults of one upstream's answers, from its ``body`` settings and ``rng``;
    ``maker`` makes the answers (so their sizes are known)."""

    def __init__(self, settings: BodyFaults, rng: random.Random, maker: AnswerMaker) -> None:
        self.settings = settings
        self._random = rng.random
        self.maker = maker
        self._bandwidth = settings.bandwidth

    def plan(
        self, index: int, outcome: Outcome, status: int, after_ns: int, now_ns: int
    ) -> StreamPlan | None:
        """Return the plan of answer ``index`` (with ``status``, headers after ``after_ns``,
        the request arriving at ``now_ns``); None for a request answered without a status."""
        if not status:
            return None
        settings, draw = self.settings, self._random
        reply = self.maker.reply(index, status, now_ns)
        size = len(reply.body)
        # One draw splits the answers: the first reset_rate reset, the next cut_rate cut.
        u_fault = draw()
        reset = u_fault < settings.reset_rate
        cut = not reset and u_fault < settings.reset_rate + settings.cut_rate
        if reset:
            return StreamPlan(
                Outcome.CONNECTION_RESET, 0, after_ns, NO_FIRST_BYTE, after_ns, (), 1, RESET,
                0, size, 0, reply,
            )  # fmt: skip
        sent = math.floor(size * Fraction(str(settings.cut_at))) if cut else size
        transfer = self._transfer_ns(sent)
        end_ns = after_ns + transfer
        if cut:
            return StreamPlan(
                Outcome.CONNECTION_RESET, 0, end_ns, NO_FIRST_BYTE, after_ns, (transfer,), 1, CUT,
                0, size, sent, reply,
            )  # fmt: skip
        return StreamPlan(
            outcome, status, end_ns, NO_FIRST_BYTE, after_ns, (transfer,), 1, COMPLETE, 0,
            size, sent, reply,
        )  # fmt: skip

    def _transfer_ns(self, size: int) -> int:
        if self._bandwidth is None:
            return 0
        return math.ceil(Fraction(size * NS_PER_S) / self._bandwidth)


def body_answers(
    answer_at: Callable[[int], tuple[Outcome, int, int]], planner: BodyPlanner
) -> Callable[[int], tuple[Outcome, int, int]]:
    """Return ``answer_at`` with its answers' body faults as ``planner`` plans them (the direct
    engine's view of the bodies the mocks send)."""
    reached = 0
    plan_of = planner.plan

    def answer(at_ns: int) -> tuple[Outcome, int, int]:
        nonlocal reached
        index, reached = reached, reached + 1
        outcome, status, after_ns = answer_at(at_ns)
        plan = plan_of(index, outcome, status, after_ns, at_ns)
        if plan is None:
            return outcome, status, after_ns
        return plan.outcome, plan.status, plan.after_ns

    return answer


def streamed_answers(
    answer_at: Callable[[int], tuple[Outcome, int, int]], planner: StreamPlanner, timeout_ns: int
) -> tuple[Callable[[int], tuple[Outcome, int, int]], list[int]]:
    """Return ``answer_at`` (see ``FaultSampler.answers``) with its successes streamed as
    ``planner`` plans them, and a one-item list where each answer leaves the virtual time its
    first chunk arrives (NO_FIRST_BYTE if none does): the direct engine's view of a stream."""
    box = [NO_FIRST_BYTE]
    plan_of = planner.plan

    def answer(at_ns: int) -> tuple[Outcome, int, int]:
        outcome, status, after_ns = answer_at(at_ns)
        plan = plan_of(outcome, status, after_ns, timeout_ns)
        if plan is None:
            box[0] = NO_FIRST_BYTE
            return outcome, status, after_ns
        box[0] = NO_FIRST_BYTE if plan.ttfb_ns == NO_FIRST_BYTE else at_ns + plan.ttfb_ns
        return plan.outcome, plan.status, plan.after_ns

    return answer, box


def split_body(body: bytes, chunks: int) -> list[bytes]:
    """Return ``body`` cut into ``chunks`` pieces as even as bytes allow (some may be empty)."""
    size = len(body)
    return [body[size * k // chunks : size * (k + 1) // chunks] for k in range(chunks)]


@dataclass(frozen=True)
class StreamedBody:
    """The body of one streamed answer: its pieces, sent as its plan says on the clock."""

    plan: StreamPlan
    pieces: list[bytes]
    sleep: Callable[[int], Awaitable[None]]
    block: Callable[[int], None]
    now: Callable[[], int]

    streamed: bool = True  # False for a body fault's answer: it has no time to first byte

    async def chunks(
        self, timed_out: Callable[[], Exception], failed: Callable[[StreamPlan], Exception]
    ) -> AsyncIterator[bytes]:
        """Yield the pieces after their delays; raise ``timed_out()`` or ``failed(plan)``
        where the plan ends so."""
        for index, (gap, piece) in enumerate(zip(self.plan.gaps, self.pieces, strict=False)):
            if gap:
                await self.sleep(gap)
            if index == 0:
                self._first_byte()
            yield piece
        if self.plan.end == TIMED_OUT:
            await self.sleep(self.plan.timeout_ns)
            raise timed_out()
        if self.plan.end != COMPLETE:
            raise failed(self.plan)

    def chunks_blocking(
        self, timed_out: Callable[[], Exception], failed: Callable[[StreamPlan], Exception]
    ) -> Iterator[bytes]:
        """The same for a sync client: each delay blocks the loop (see VirtualClock.block)."""
        for index, (gap, piece) in enumerate(zip(self.plan.gaps, self.pieces, strict=False)):
            self.block(gap)
            if index == 0:
                self._first_byte()
            yield piece
        if self.plan.end == TIMED_OUT:
            self.block(self.plan.timeout_ns)
            raise timed_out()
        if self.plan.end != COMPLETE:
            raise failed(self.plan)

    def _first_byte(self) -> None:
        holder = FIRST_BYTE.get()
        if holder is not None and self.streamed:
            holder[0] = self.now()


def sse_pieces(success: Any, chunks: int) -> list[bytes]:
    """Return OpenAI's ``chat.completion.chunk`` events for the success body ``success``: its
    text split over ``chunks`` events, the last with ``finish_reason: stop`` and
    ``data: [DONE]``."""
    text = _text_of(success)
    size = len(text)
    if not isinstance(success, dict):
        success = {}
    events = []
    for index in range(chunks):
        last = index == chunks - 1
        delta: dict[str, Any] = {
            "content": text[size * index // chunks : size * (index + 1) // chunks]
        }
        if index == 0:
            delta = {"role": "assistant", **delta}
        event = {
            "id": success.get("id", "chatcmpl-harness"),
            "object": "chat.completion.chunk",
            "created": success.get("created", 0),
            "model": success.get("model", "harness-mock"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if last else None}],
        }
        data = f"data: {json.dumps(event)}\n\n"
        if last:
            data += "data: [DONE]\n\n"
        events.append(data.encode())
    return events


def _text_of(success: Any) -> str:
    try:
        return str(success["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        return success if isinstance(success, str) else json.dumps(success)
