"""The shipped examples: real SDKs under test through an outage and a 429 burst, in virtual
time — openai 3.x (its own retries) and google-genai 3.x in Vertex mode (tenacity's jittered
retries).

Skipped where the ``examples`` extra is not installed (``pip install 'slo-harness[examples]'``;
``nox -s tests`` installs it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from harness import load_scenario, run
from tests.support import ROOT

pytest.importorskip("httpx2")

# (scenario, upstream, module the entry point needs): each SDK makes 3 attempts at most.
EXAMPLES = [
    pytest.param("openai-outage.yaml", "openai", id="openai"),
    pytest.param("vertex-outage.yaml", "vertex", id="google-genai-vertex"),
]
_NEEDS = {"openai": "openai", "vertex": "google.genai"}


def _example(file: str, upstream: str) -> object:
    pytest.importorskip(_NEEDS[upstream])
    return load_scenario(ROOT / "examples" / file)


@pytest.mark.parametrize(("file", "upstream"), EXAMPLES)
def test_example_holds_its_slos(file: str, upstream: str) -> None:
    result = run(_example(file, upstream))  # type: ignore[arg-type]
    assert result.passed, result.failure_text()
    counts = result.upstreams[upstream].samples.outcome_counts()
    assert counts["fallback"] > 0  # the outage was answered from the fallback


@pytest.mark.parametrize(("file", "upstream"), EXAMPLES)
def test_amplification_equals_the_attempts_the_mocks_counted(file: str, upstream: str) -> None:
    scenario = _example(file, upstream).override(  # type: ignore[attr-defined]
        {
            "duration": "20s",
            f"upstreams.{upstream}.failure_rate": "100%",
            f"upstreams.{upstream}.errors": {"503": 1.0},
            f"upstreams.{upstream}.timeline": [],
            f"upstreams.{upstream}.slo": ["amplification == 3", "fallback_rate == 100%"],
        }
    )
    result = run(scenario)
    up = result.upstreams[upstream]
    assert up.client.requests == 40
    # A hard outage: every call is tried three times, and every attempt reached the mock.
    assert up.reached_upstream == 3 * 40
    assert up.upstream.requests == up.reached_upstream
    assert up.service is not None
    assert up.service.amplification == up.reached_upstream / up.client.requests
    assert result.passed, result.failure_text()


@pytest.mark.parametrize(("file", "upstream"), EXAMPLES)
def test_example_is_byte_identical_across_processes(file: str, upstream: str) -> None:
    _example(file, upstream)
    code = (
        "import sys; from harness import load_scenario, run;"
        f"s = load_scenario({str(ROOT / 'examples' / file)!r});"
        "sys.stdout.write(run(s).to_json(run_info=False))"
    )
    # This process (its own hash seed) against another with PYTHONHASHSEED=1.
    outputs = [
        run(load_scenario(ROOT / "examples" / file)).to_json(run_info=False),
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "1"},
        ).stdout,
    ]
    assert outputs[0] == outputs[1]
    service = json.loads(outputs[0])["upstreams"][upstream]["service"]
    assert service["attempts"][upstream] > service["requests"]  # the faults made it retry


def _openai_stream() -> Any:
    pytest.importorskip("openai")
    return load_scenario(ROOT / "examples" / "openai-stream.yaml")


def test_openai_streams_the_default_sse_answer() -> None:
    """openai's SDK with stream=True parses the default chat.completion.chunk events and
    [DONE]: the deltas join into the whole answer."""
    import httpx2
    import openai

    from harness import VirtualEventLoop
    from harness.upstreams.mocked import MockedUpstreams

    scenario = _openai_stream().override({"upstreams.openai.stream.drop_rate": 0})
    loop = VirtualEventLoop()

    async def main() -> list[str]:
        mocks = MockedUpstreams(scenario, 1, loop.clock)
        async with httpx2.AsyncClient(transport=mocks.httpx2_transport) as http:
            client = openai.AsyncOpenAI(
                api_key="sk-test", base_url="https://openai.test/v1", http_client=http
            )
            texts = []
            for index in range(3):
                stream = await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                deltas = [chunk.choices[0].delta.content async for chunk in stream]
                assert len(deltas) == 20
                texts.append("".join(d or "" for d in deltas))
                assert index == 0 or loop.clock.now_ns > 0
            return texts

    try:
        texts = loop.run_until_complete(main())
    finally:
        loop.close()
    assert texts == ["answer 0 from openai", "answer 1 from openai", "answer 2 from openai"]


def test_openai_streaming_example_measures_ttfb_and_survives_drops() -> None:
    result = run(_openai_stream())
    assert result.passed, result.failure_text()
    up = result.upstreams["openai"]
    assert up.ttfb is not None
    assert up.ttfb.latency is not None
    assert up.ttfb.latency.samples > 100
    # The SDK retries no stream that fails once it has begun: every stream dropped mid-answer or
    # stalled past the read timeout is one fallback.
    failed_streams = up.upstream.requests - up.upstream.successes
    assert failed_streams > 0
    assert up.samples.outcome_counts()["fallback"] == failed_streams
    data = json.loads(result.to_json(run_info=False))["upstreams"]["openai"]
    assert data["ttfb_ms"]["samples"] == up.ttfb.latency.samples
