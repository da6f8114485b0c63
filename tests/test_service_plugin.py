"""Virtual-time tests written by hand: the network guard, httpx2 mocks and the built-in
breaker's default clock inside ``@pytest.mark.virtual_time`` (end to end with pytester)."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def quiet_ini(pytester: pytest.Pytester) -> None:
    """The inner projects set pytest-asyncio's loop scope, as ours does: no warning inside."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def test_builtin_breaker_without_a_clock_follows_virtual_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio
            import pytest
            from harness import AsyncCircuitBreaker, BreakerState, CircuitOpenError

            async def fail():
                raise ValueError("down")

            async def ok():
                return "up"

            @pytest.mark.asyncio
            @pytest.mark.virtual_time
            async def test_recovers_after_sleeping_the_wait():
                breaker = AsyncCircuitBreaker(
                    "t1", minimum_number_of_calls=2, sliding_window_size=2,
                    wait_duration_in_open_state=30.0,
                )
                for _ in range(2):
                    with pytest.raises(ValueError):
                        await breaker.call(fail)
                with pytest.raises(CircuitOpenError):
                    await breaker.call(ok)
                await asyncio.sleep(30)  # virtual: no real time passes
                assert await breaker.call(ok) == "up"
                assert breaker.state in (BreakerState.HALF_OPEN, BreakerState.CLOSED)
            """
        )
    )
    pytester.runpytest("-p", "asyncio").assert_outcomes(passed=1)


def test_network_guard_and_httpx2_mocks_in_a_virtual_time_test(pytester: pytest.Pytester) -> None:
    pytest.importorskip("httpx2")
    pytester.makepyfile(
        textwrap.dedent(
            """
            import socket
            import time
            import httpx
            import httpx2
            import pytest
            import harness

            SCENARIO = harness.parse_scenario('''
            duration: 1m
            upstreams:
              vertex: {latency: 500ms, failure_rate: 50%, errors: {503: 100%}}
            ''')

            @pytest.fixture
            def no_dns(monkeypatch):
                looked_up = []
                monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: looked_up.append(a))
                return looked_up

            @pytest.mark.asyncio
            @pytest.mark.virtual_time
            @pytest.mark.parametrize("library", [httpx, httpx2])
            async def test_unmocked_host_refused_at_once(library, mock_upstreams, no_dns):
                mock_upstreams(SCENARIO)
                began = time.perf_counter()
                with pytest.raises(harness.UnmockedHostError) as caught:
                    async with library.AsyncClient() as client:
                        await client.get("https://api.openai.com/v1/models")
                assert time.perf_counter() - began < 1.0
                assert "'api.openai.com'" in str(caught.value)
                assert "vertex (https://vertex.test/)" in str(caught.value)
                assert no_dns == []

            @pytest.mark.asyncio
            @pytest.mark.virtual_time
            async def test_httpx2_client_gets_the_seeded_faults(mock_upstreams):
                answers = []
                for library in (httpx, httpx2):
                    mocks = mock_upstreams(SCENARIO)
                    transport = mocks.transport if library is httpx else mocks.httpx2_transport
                    async with library.AsyncClient(transport=transport) as client:
                        answers.append(
                            [(await client.get("https://vertex.test/")).status_code
                             for _ in range(20)]
                        )
                assert answers[0] == answers[1]  # one fault stream, whichever library
                assert set(answers[0]) == {200, 503}
            """
        )
    )
    pytester.runpytest("-p", "asyncio").assert_outcomes(passed=3)
