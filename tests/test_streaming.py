"""Streamed answers: SSE and chunked bodies in virtual time, time to first byte, mid-stream
faults, and both engines agreeing on all of it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

from harness import VirtualEventLoop, run
from harness.events import Outcome
from harness.upstreams.mocked import MockedUpstreams
from harness.upstreams.streaming import INCOMPLETE_CHUNKED
from tests.support import scenario
from tests.test_engines import assert_same

STEADY = """\
duration: 10s
seed: 2
upstreams:
  llm:
    url: https://llm.test/
    latency: 100ms
    stream: {{chunks: 5, chunk_latency: 10ms{extra}}}
    traffic: {{rate: 10/s, timeout: 1s}}
"""


def _steady(extra: str = "") -> Any:
    return scenario(STEADY.format(extra=extra))


def _read(text: str, reads: int = 1) -> list[tuple[Any, ...]]:
    """Send ``reads`` requests one after the other; return, per request, what the client saw:
    the status, headers and (time, chunk) pairs, or the exception and when it came."""
    loop = VirtualEventLoop()

    async def main() -> list[tuple[Any, ...]]:
        mocks = MockedUpstreams(scenario(text), 2, loop.clock, via_respx=False)
        seen: list[tuple[Any, ...]] = []
        async with httpx.AsyncClient(transport=mocks.transport, timeout=1.0) as client:
            for _ in range(reads):
                start = loop.clock.now_ns
                chunks: list[tuple[int, bytes]] = []
                try:
                    async with client.stream("POST", "https://llm.test/v1/chat") as response:
                        async for chunk in response.aiter_raw():
                            chunks.append((loop.clock.now_ns - start, chunk))
                except httpx.HTTPError as error:
                    seen.append((type(error), str(error), loop.clock.now_ns - start, chunks))
                else:
                    seen.append((response.status_code, response.headers, chunks))
        return seen

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_sse_chunks_arrive_after_their_delays_and_end_with_done() -> None:
    [(status, headers, chunks)] = _read(STEADY.format(extra=""))
    assert status == 200
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "content-length" not in headers
    assert [at for at, _ in chunks] == [
        110_000_000,
        120_000_000,
        130_000_000,
        140_000_000,
        150_000_000,
    ]
    events = b"".join(chunk for _, chunk in chunks).decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    payloads = [json.loads(event.removeprefix("data: ")) for event in events[:-2]]
    assert len(payloads) == 5
    assert {p["object"] for p in payloads} == {"chat.completion.chunk"}
    text = "".join(p["choices"][0]["delta"]["content"] for p in payloads)
    assert text == "answer 0 from llm"
    assert [p["choices"][0]["finish_reason"] for p in payloads] == [None] * 4 + ["stop"]


def test_a_chunked_body_is_the_success_body_in_pieces() -> None:
    [(status, headers, chunks)] = _read(STEADY.format(extra=", format: chunked"))
    body = json.loads(b"".join(chunk for _, chunk in chunks))
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body["choices"][0]["message"]["content"] == "answer 0 from llm"
    assert len(chunks) == 5


def test_a_drop_raises_what_httpx_raises_on_an_incomplete_chunked_body() -> None:
    [(kind, message, at, chunks)] = _read(STEADY.format(extra=", drop_rate: 100%, drop_after: 2"))
    assert kind is httpx.RemoteProtocolError
    assert message == INCOMPLETE_CHUNKED
    assert len(chunks) == 2
    assert at == 120_000_000


def test_a_reset_after_the_headers_sends_no_chunk() -> None:
    [(kind, _, at, chunks)] = _read(STEADY.format(extra=", drop_rate: 100%, drop_after: 0"))
    assert kind is httpx.RemoteProtocolError
    assert chunks == []
    assert at == 100_000_000


def test_a_stall_past_the_read_timeout_is_a_read_timeout() -> None:
    extra = ", stall_rate: 100%, stall: 3s, stall_after: 3"
    [(kind, _, at, chunks)] = _read(STEADY.format(extra=extra))
    assert kind is httpx.ReadTimeout
    assert len(chunks) == 3
    assert at == 130_000_000 + 1_000_000_000


def test_a_short_stall_only_delays_the_rest() -> None:
    extra = ", stall_rate: 100%, stall: 500ms, stall_after: 3"
    [(status, _, chunks)] = _read(STEADY.format(extra=extra))
    assert status == 200
    assert [at // 1_000_000 for at, _ in chunks] == [110, 120, 130, 640, 650]


@pytest.mark.parametrize("engine", ["http", "direct"])
def test_ttfb_and_total_time_are_measured(engine: str) -> None:
    result = run(_steady(), engine=engine)
    up = result.upstreams["llm"]
    assert up.samples.latency_ns.tolist() == [150_000_000] * 100  # headers + 5 chunks
    assert up.samples.ttfb_ns is not None
    assert up.samples.ttfb_ns.tolist() == [110_000_000] * 100
    data = up.to_dict()["ttfb_ms"]
    assert data["samples"] == 100
    assert data["p95_ms"] == 110.0
    assert data["avg_ms"] == 110.0


@pytest.mark.parametrize("engine", ["http", "direct"])
def test_a_stream_without_delays_has_its_first_byte_at_once(engine: str) -> None:
    """An answer complete the instant it is sent (no latency, no chunk gaps) still has a first
    byte: the direct engine once left it out when the whole answer took 0 ns."""
    text = (
        "duration: 3s\nupstreams:\n  llm:\n    latency: 0ms\n"
        "    stream: {chunks: 2, chunk_latency: 0ms}\n    traffic: {rate: 1/s, timeout: 1ms}\n"
    )
    samples = run(scenario(text), engine=engine).upstreams["llm"].samples
    assert samples.ttfb_ns is not None
    assert samples.ttfb_ns.tolist() == [0, 0, 0]
    assert samples.latency_ns.tolist() == [0, 0, 0]


def test_ttfb_objectives_hold_or_fail_on_the_first_chunk() -> None:
    text = (
        STEADY.format(extra="")
        + "    slo: ['ttfb.p95 < 111ms', 'ttfb.max <= 110ms', 'p50 >= 150ms']\n"
    )
    assert run(scenario(text)).passed
    failing = text.replace("ttfb.p95 < 111ms", "ttfb.p95 < 110ms")
    result = run(scenario(failing))
    [verdict] = [v for v in result.upstreams["llm"].verdicts if not v.passed]
    assert verdict.objective.metric == "ttfb.p95"
    assert verdict.observed == 110.0
    assert verdict.samples == 100


def test_mid_stream_faults_are_outcomes_on_both_engines() -> None:
    extra = ", drop_rate: 30%, drop_after: 2, stall_rate: 20%, stall: 2s, stall_after: 1"
    http, direct = run(_steady(extra), engine="http"), run(_steady(extra), engine="direct")
    assert_same(http, direct)
    samples = http.upstreams["llm"].samples
    counts = samples.outcome_counts()
    assert counts["connection_reset"] > 10
    assert counts["timeout"] > 5
    assert counts["success"] + counts["connection_reset"] + counts["timeout"] == 100
    # A drop after 2 chunks has a first byte; a stall after the first chunk times out after it.
    resets = samples.outcome == Outcome.CONNECTION_RESET
    assert set(samples.latency_ns[resets].tolist()) == {120_000_000}
    assert samples.ttfb_ns is not None
    assert np.all(samples.ttfb_ns == 110_000_000)


def test_scenarios_that_do_not_stream_report_no_ttfb() -> None:
    plain = scenario(
        STEADY.format(extra="").replace("    stream: {chunks: 5, chunk_latency: 10ms}\n", "")
    )
    up = run(plain).upstreams["llm"]
    assert up.samples.ttfb_ns is None
    assert "ttfb_ms" not in up.to_dict()


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ("{chunks: -1}", "upstreams.llm.stream.chunks: must be at least 1, got -1"),
        ("{chunks: 0}", "upstreams.llm.stream.chunks: must be at least 1, got 0"),
        ("{chunks: 10001}", "upstreams.llm.stream.chunks: must be at most 10000, got 10001"),
        ("{chunks: '5'}", "upstreams.llm.stream.chunks: expected a whole number, got '5'"),
        ("{chunks: 3, drop_after: 3}", "drop_after (3) must be below chunks (3)"),
        ("{chunks: 3, stall_after: 5}", "stall_after (5) must be below chunks (3)"),
        ("{chunks: 3, drop_after: -1}", "upstreams.llm.stream.drop_after"),
        ("{chunks: 3, drop_rate: 120%}", "upstreams.llm.stream.drop_rate"),
        ("{chunks: 3, format: json}", "upstreams.llm.stream.format"),
        ("{chunk: 3}", "did you mean 'chunks'"),
    ],
)
def test_bad_stream_settings_are_located(stream: str, message: str) -> None:
    from tests.test_scenario import problems

    text = f"duration: 1m\nupstreams:\n  llm:\n    stream: {stream}\n"
    found = problems(text)
    assert any(message in problem and problem.startswith("bad.yaml:4:") for problem in found), found


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        ("ttfb.p95 < 1s", "upstreams.llm.slo[0]: 'ttfb.p95 < 1s' measures time to first byte"),
        ("upstream.ttfb.p95 < 1s", "takes no view prefix"),
        ("ttfb.p95x < 1s", "unknown metric 'ttfb.p95x'"),
        ("ttfb.avgg < 1s", "did you mean 'ttfb.avg'?"),
    ],
)
def test_bad_ttfb_objectives_are_located(objective: str, message: str) -> None:
    from tests.test_scenario import problems

    stream = "" if objective == "ttfb.p95 < 1s" else "    stream: {chunks: 3}\n"
    text = f"duration: 1m\nupstreams:\n  llm:\n{stream}    slo: [{objective!r}]\n"
    found = problems(text)
    assert any(message in problem for problem in found), found


def test_reports_show_ttfb_only_where_answers_stream() -> None:
    html = pytest.importorskip("harness.report.html", reason="needs the report extra")
    openmetrics = pytest.importorskip("harness.report.openmetrics")
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    from tests.reporting import pair, run_text

    text = STEADY.format(extra="") + "    slo: ['ttfb.p95 < 200ms']\n"
    streamed = run_text(text, "scenarios/streamed.yaml")
    plain = run_text(
        text.replace("ttfb.p95 < 200ms", "p95 < 200ms").replace(
            "    stream: {chunks: 5, chunk_latency: 10ms}\n", ""
        ),
        "scenarios/plain.yaml",
    )
    metrics = openmetrics.openmetrics_text([pair(streamed)[0]])
    samples = {
        (sample.name, sample.labels.get("quantile")): sample.value
        for family in parser.text_string_to_metric_families(metrics)
        for sample in family.samples
    }
    assert samples["slo_ttfb_seconds", "0.95"] == pytest.approx(0.11)
    assert samples["slo_ttfb_seconds_count", None] == 100
    assert "slo_ttfb" not in openmetrics.openmetrics_text([pair(plain)[0]])
    page = str(html.html_document([pair(streamed)]))
    assert "time to first byte (streamed answers, n=100): P50 110ms, P95 110ms" in page
    assert "time to first byte" not in str(html.html_document([pair(plain)]))


@pytest.mark.parametrize("entry", ["sync_httpx", "sync_httpx2", "async_httpx"])
def test_sync_and_async_entry_points_read_streams_and_body_faults_alike(entry: str) -> None:
    """A sync client's stream blocks the loop chunk by chunk: each call takes 100 ms + 5 × 10 ms
    as an awaiting one does; a cut body and a reset raise on every client."""
    if entry == "sync_httpx2":
        pytest.importorskip("httpx2")
    text = (
        "duration: 2s\nseed: 1\nupstreams:\n  vertex:\n    latency: 100ms\n"
        "    FAULTS\n"
        f"    traffic: {{rate: 5/s, entry_point: 'tests.services:{entry}'}}\n"
    )
    streamed = run(scenario(text.replace("FAULTS", "stream: {chunks: 5, chunk_latency: 10ms}")))
    up = streamed.upstreams["vertex"]
    assert set(up.samples.latency_ns.tolist()) == {150_000_000}
    assert up.samples.ttfb_ns is not None
    assert set(up.samples.ttfb_ns.tolist()) == {110_000_000}
    faulty = run(scenario(text.replace("FAULTS", "body: {reset_rate: 50%, cut_rate: 50%}")))
    counts = faulty.upstreams["vertex"].samples.outcome_counts()
    assert counts["success"] == 0
    assert counts["connection_reset"] == 10  # ReadError and RemoteProtocolError alike


def test_the_timeline_draws_no_ttfb_line_as_a_latency() -> None:
    from harness.report.display_lines import objective_percentiles

    text = STEADY.format(extra="") + "    slo: ['ttfb.p99 < 200ms', 'p99 < 1s']\n"
    result = run(scenario(text))
    lines = objective_percentiles(result, result.upstreams["llm"], 2, 1)
    assert set(lines) == {"p99"}


def test_the_terminal_shows_time_to_first_byte_only_where_answers_stream() -> None:
    from harness.report.text import result_table

    text = (
        "duration: 30s\nupstreams:\n  llm:\n    latency: 100ms\n"
        "    stream: {chunks: 5, chunk_latency: 10ms}\n    traffic: {rate: 2/s}\n"
        "    slo: ['ttfb.p50 < 200ms']\n  plain:\n    latency: 5ms\n    traffic: {rate: 2/s}\n"
        "    slo: ['p50 < 10ms']\n"
    )
    table = result_table(run(scenario(text), engine="direct"))
    lines = [line for line in table.splitlines() if "first byte" in line]
    assert lines == ["  llm: time to first byte p50 110ms, p95 110ms, max 110ms over 60 streams"]
    few = result_table(run(scenario(text.replace("30s", "3s")), engine="direct"))
    assert "over 6 streams (p95 unbounded: too few samples)" in few
