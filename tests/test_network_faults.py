"""DNS and TLS failures: connect errors raised as a real resolver or handshake raises them."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import httpcore
import httpx
import pytest

from harness import VirtualEventLoop, run
from harness.events import Outcome
from harness.upstreams.mocked import MockedUpstreams
from tests.support import scenario

FAILING = """\
duration: 10s
seed: 3
upstreams:
  api:
    url: https://api.test/
    latency: 40ms
    failure_rate: 100%
    errors: {{{kind}: 100%}}
    traffic: {{rate: 5/s}}
"""


def _first_error(kind: str) -> httpx.HTTPError:
    loop = VirtualEventLoop()

    async def main() -> httpx.HTTPError:
        mocks = MockedUpstreams(scenario(FAILING.format(kind=kind)), 3, loop.clock, via_respx=False)
        async with httpx.AsyncClient(transport=mocks.transport) as client:
            with pytest.raises(httpx.HTTPError) as caught:
                await client.get("https://api.test/x")
        assert loop.clock.now_ns == 0  # it fails at once, as a refused connection does
        return caught.value

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_dns_failure_is_the_connect_error_a_resolver_gives() -> None:
    error = _first_error("dns_error")
    assert type(error) is httpx.ConnectError
    assert str(error) == "[Errno -2] Name or service not known"
    assert isinstance(error.__cause__, httpcore.ConnectError)
    assert isinstance(error.__cause__.__cause__, socket.gaierror)
    assert error.__cause__.__cause__.errno == socket.EAI_NONAME


def test_a_tls_failure_is_the_connect_error_a_handshake_gives() -> None:
    error = _first_error("tls_error")
    assert type(error) is httpx.ConnectError
    assert "SSLV3_ALERT_HANDSHAKE_FAILURE" in str(error)
    real = error.__cause__.__cause__  # type: ignore[union-attr]
    assert isinstance(real, ssl.SSLError)
    assert real.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"


def test_a_refused_connection_keeps_its_message() -> None:
    assert str(_first_error("connect_error")) == "connection refused (injected)"


def test_httpx2_clients_see_the_same_failures() -> None:
    httpx2 = pytest.importorskip("httpx2")
    loop = VirtualEventLoop()

    async def main() -> list[str]:
        text = FAILING.format(kind="dns_error").replace(
            "{dns_error: 100%}", "{dns_error: 50%, tls_error: 50%}"
        )
        mocks = MockedUpstreams(scenario(text), 3, loop.clock)
        seen = []
        async with httpx2.AsyncClient(transport=mocks.httpx2_transport) as client:
            for _ in range(20):
                with pytest.raises(httpx2.ConnectError) as caught:
                    await client.get("https://api.test/x")
                seen.append(str(caught.value))
        return seen

    try:
        seen = loop.run_until_complete(main())
    finally:
        loop.close()
    assert "[Errno -2] Name or service not known" in seen
    assert any("handshake failure" in text for text in seen)


@pytest.mark.parametrize("kind", ["dns_error", "tls_error"])
@pytest.mark.parametrize("engine", ["http", "direct"])
def test_both_engines_count_them_as_connect_errors(kind: str, engine: str) -> None:
    result = run(scenario(FAILING.format(kind=kind)), engine=engine)
    samples = result.upstreams["api"].samples
    assert samples.outcome_counts()["connect_error"] == 50
    assert set(samples.outcome) == {Outcome.CONNECT_ERROR}


BODY = """\
duration: 10s
seed: 3
upstreams:
  api:
    url: https://api.test/
    latency: 40ms
    answers: {{success: {{body: "{body}"}}}}
    body: {{{faults}}}
    traffic: {{rate: 5/s, timeout: 1s}}
"""


def _fetch(faults: str, body: str = "x" * 1000) -> tuple[Any, ...]:
    loop = VirtualEventLoop()

    async def main() -> tuple[Any, ...]:
        text = BODY.format(faults=faults, body=body)
        mocks = MockedUpstreams(scenario(text), 3, loop.clock, via_respx=False)
        async with httpx.AsyncClient(transport=mocks.transport) as client:
            try:
                response = await client.get("https://api.test/x")
            except httpx.HTTPError as error:
                return type(error), str(error), loop.clock.now_ns
            return response.status_code, len(response.content), loop.clock.now_ns

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_bandwidth_limit_adds_size_over_bandwidth() -> None:
    # 1000 bytes at 2 KB/s: 500 ms after the headers, exactly.
    assert _fetch("bandwidth: 2KB/s") == (200, 1000, 40_000_000 + 500_000_000)
    # 1000 bytes at 3 KiB/s: ceil(1000 / 3072 s) in ns.
    assert _fetch("bandwidth: 3KiB/s")[2] == 40_000_000 + -(-1000 * 10**9 // 3072)


def test_a_body_cut_short_raises_what_httpx_raises_on_a_short_body() -> None:
    kind, message, at = _fetch("bandwidth: 1KB/s, cut_rate: 100%, cut_at: 30%")
    assert kind is httpx.RemoteProtocolError
    assert message == (
        "peer closed connection without sending complete message body: "
        "received 300 bytes, expected 1000"
    )
    assert at == 40_000_000 + 300_000_000


def test_a_reset_after_the_headers_is_a_read_error() -> None:
    assert _fetch("reset_rate: 100%") == (
        httpx.ReadError,
        "[Errno 104] Connection reset by peer",
        40_000_000,
    )


@pytest.mark.parametrize("engine", ["http", "direct"])
def test_body_faults_are_outcomes_and_timings_on_both_engines(engine: str) -> None:
    text = BODY.format(faults="bandwidth: 2KB/s, cut_rate: 30%, reset_rate: 20%", body="y" * 1000)
    samples = run(scenario(text), engine=engine).upstreams["api"].samples
    counts = samples.outcome_counts()
    assert counts["success"] + counts["connection_reset"] == 50
    assert 10 <= counts["connection_reset"] <= 40
    successes = samples.latency_ns[samples.outcome == Outcome.SUCCESS]
    assert set(successes.tolist()) == {540_000_000}  # headers, then 1000 bytes at 2 KB/s
    resets = samples.latency_ns[samples.outcome == Outcome.CONNECTION_RESET]
    assert set(resets.tolist()) == {40_000_000, 40_000_000 + 250_000_000}  # reset, cut at 50%
    assert samples.ttfb_ns is None  # a body sent whole has no time to first byte


def test_engines_agree_on_body_faults() -> None:
    from tests.test_engines import assert_same

    text = BODY.format(faults="bandwidth: 9KB/s, cut_rate: 20%, reset_rate: 10%", body="{id}")
    text = text.replace("latency: 40ms", "latency: {dist: uniform, min: 1ms, max: 1200ms}")
    loaded = scenario(text)
    assert_same(run(loaded, engine="http"), run(loaded, engine="direct"))


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ("bandwidth: 0B/s", "upstreams.api.body.bandwidth: a bandwidth must be above zero"),
        ("bandwidth: 5", "upstreams.api.body.bandwidth: expected a bandwidth like 64KB/s"),
        ("bandwidth: -5KB/s", "upstreams.api.body.bandwidth: expected a bandwidth"),
        ("cut_at: 100%", "upstreams.api.body.cut_at: cut_at must be below 100%"),
        ("cut_rate: 70%, reset_rate: 40%", "cut_rate and reset_rate add up to more than 100%"),
        ("bandwith: 5KB/s", "did you mean 'bandwidth'?"),
    ],
)
def test_bad_body_faults_are_located(faults: str, message: str) -> None:
    from tests.test_scenario import problems

    found = problems(f"duration: 1m\nupstreams:\n  api:\n    body: {{{faults}}}\n")
    assert any(message in problem and problem.startswith("bad.yaml:4:") for problem in found), found


def test_body_faults_and_a_stream_do_not_mix() -> None:
    from tests.test_scenario import problems

    found = problems(
        "duration: 1m\nupstreams:\n  api:\n    body: {reset_rate: 1%}\n    stream: {chunks: 2}\n"
    )
    assert any("upstreams.api.body: body faults apply to answers sent whole" in p for p in found)
