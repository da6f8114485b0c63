from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness import UnmockedHostError, VirtualEventLoop
from harness.upstreams.mocked import MockedUpstreams
from tests.support import scenario

MOCKED = """\
duration: 1m
seed: 2
upstreams:
  api:
    url: https://api.test/
    latency: 10ms
    failure_rate: 50%
    errors: {503: 50%, connection_reset: 25%, timeout: 25%}
"""


def send_all(keep_calls: bool, requests: int) -> tuple[MockedUpstreams, list[object], int]:
    loop = VirtualEventLoop()

    async def main() -> tuple[MockedUpstreams, list[object]]:
        mocks = MockedUpstreams(scenario(MOCKED), 2, loop.clock, keep_calls=keep_calls)
        seen: list[object] = []
        async with httpx.AsyncClient(transport=mocks.transport, timeout=1.0) as client:
            for _ in range(requests):
                try:
                    seen.append((await client.get("https://api.test/x")).status_code)
                except httpx.HTTPError as error:
                    seen.append(type(error).__name__)
        return mocks, seen

    try:
        mocks, seen = loop.run_until_complete(main())
        return mocks, seen, loop.clock.now_ns
    finally:
        loop.close()


def test_faults_map_to_what_a_real_failure_raises() -> None:
    _, seen, _ = send_all(keep_calls=True, requests=400)
    assert set(seen) == {200, 503, "ReadError", "ReadTimeout"}


def test_latency_and_timeouts_pass_in_virtual_time() -> None:
    _, seen, now_ns = send_all(keep_calls=True, requests=400)
    timeouts = seen.count("ReadTimeout")
    assert now_ns == (400 - timeouts) * 10_000_000 + timeouts * 1_000_000_000


def test_call_history_is_kept_for_users_and_bounded_for_runs() -> None:
    kept, _, _ = send_all(keep_calls=True, requests=3000)
    assert len(kept.router.calls) == 3000
    bounded, _, _ = send_all(keep_calls=False, requests=3000)
    assert len(bounded.router.calls) < 1024
    assert bounded.reached == {"api": 3000}


def test_an_unmocked_url_is_an_error() -> None:
    loop = VirtualEventLoop()

    async def main() -> None:
        mocks = MockedUpstreams(scenario(MOCKED), 2, loop.clock)
        async with httpx.AsyncClient(transport=mocks.transport) as client:
            await client.get("https://elsewhere.test/")

    try:
        # The network guard's refusal: the host and the upstreams that do exist, named.
        with pytest.raises(UnmockedHostError, match=r"'elsewhere.test'.*api \(https://api.test/\)"):
            loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_network_guard_refuses_sync_clients_without_dns(library: str, monkeypatch: Any) -> None:
    import socket

    from harness import NetworkGuard

    module = pytest.importorskip(library)
    lookups: list[object] = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: lookups.append(a) or [])
    with (
        NetworkGuard({"api": "https://api.test/"}),
        module.Client() as client,
        pytest.raises(UnmockedHostError, match=r"'elsewhere\.test'.*api \(https://api\.test/\)"),
    ):
        client.get("https://elsewhere.test/v1")
    assert lookups == []
