"""The HTTP engine's mocks without respx serve exactly what the respx router serves."""

from __future__ import annotations

import httpx
import pytest

from harness import UnmockedHostError, VirtualEventLoop
from harness.upstreams.mocked import MockedUpstreams
from tests.support import scenario

TWO_UPSTREAMS = """\
duration: 1m
seed: 4
upstreams:
  api:
    url: https://api.test/v1/
    latency: {dist: lognormal, p50: 20ms, p95: 2s}
    failure_rate: 60%
    errors: {503: 30%, 429: 10%, connection_reset: 20%, timeout: 20%, connect_error: 20%}
  other:
    url: https://other.test/
    latency: {dist: uniform, min: 1ms, max: 30ms}
    failure_rate: 20%
"""
STREAMED = {
    "upstreams.api.body": {"bandwidth": "20KB/s", "cut_rate": "10%", "reset_rate": "10%"},
    "upstreams.other.stream": {
        "chunks": 4,
        "chunk_latency": {"dist": "uniform", "min": "1ms", "max": "400ms"},
        "drop_rate": "20%",
        "drop_after": 2,
        "format": "chunked",
    },
}


def what_the_client_sees(via_respx: bool, streamed: bool = False) -> list[object]:
    """Send requests alternating between the upstreams; return everything the client saw."""
    loop = VirtualEventLoop()
    loaded = scenario(TWO_UPSTREAMS)
    if streamed:
        loaded = loaded.override(STREAMED)

    async def main() -> list[object]:
        mocks = MockedUpstreams(loaded, 4, loop.clock, via_respx=via_respx)
        seen: list[object] = []
        async with httpx.AsyncClient(transport=mocks.transport, timeout=1.0) as client:
            for index in range(600):
                url = ("https://api.test/v1/chat", "https://other.test/x?q=1")[index % 2]
                try:
                    response = await client.post(url, json={"n": index})
                except httpx.HTTPError as error:
                    seen.append((type(error), str(error), str(error.request.url)))
                else:
                    seen.append(
                        (
                            response.status_code,
                            response.http_version,
                            list(response.headers.multi_items()),
                            response.content,
                            str(response.request.url),
                        )
                    )
                seen.append(loop.clock.now_ns)
        seen.append(dict(mocks.reached))
        return seen

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_without_respx_the_client_sees_the_same_answers_at_the_same_times() -> None:
    through_respx = what_the_client_sees(via_respx=True)
    direct = what_the_client_sees(via_respx=False)
    kinds = {item[0] for item in through_respx if isinstance(item, tuple)}
    # Every kind of answer was exercised: statuses and each exception a failure raises.
    assert {200, 503, 429, 500, httpx.ReadTimeout, httpx.ReadError, httpx.ConnectError} <= kinds
    assert direct == through_respx


def test_without_respx_streams_and_body_faults_are_the_same_too() -> None:
    through_respx = what_the_client_sees(via_respx=True, streamed=True)
    direct = what_the_client_sees(via_respx=False, streamed=True)
    kinds = {item[0] for item in through_respx if isinstance(item, tuple)}
    assert {httpx.RemoteProtocolError, httpx.ReadError, 200} <= kinds
    assert direct == through_respx


@pytest.mark.parametrize("via_respx", [True, False])
def test_an_unmocked_host_is_refused_either_way(via_respx: bool) -> None:
    loop = VirtualEventLoop()

    async def main() -> None:
        mocks = MockedUpstreams(scenario(TWO_UPSTREAMS), 4, loop.clock, via_respx=via_respx)
        async with httpx.AsyncClient(transport=mocks.transport) as client:
            await client.get("https://api.test/v2/")  # not under api's base URL

    try:
        with pytest.raises(UnmockedHostError, match=r"'api\.test'"):
            loop.run_until_complete(main())
    finally:
        loop.close()
