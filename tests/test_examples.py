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
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    service = json.loads(outputs[0])["upstreams"][upstream]["service"]
    assert service["attempts"][upstream] > service["requests"]  # the faults made it retry
