"""DNS and TLS failures: connect errors raised as a real resolver or handshake raises them."""

from __future__ import annotations

import socket
import ssl

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
