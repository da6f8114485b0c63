"""The shipped examples: real SDKs (openai) under test through an outage, in virtual time.

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

pytest.importorskip("openai")
pytest.importorskip("httpx2")

OPENAI = ROOT / "examples" / "openai-outage.yaml"
HARD_OUTAGE = {
    "duration": "20s",
    "upstreams.openai.failure_rate": "100%",
    "upstreams.openai.errors": {"503": 1.0},
    "upstreams.openai.timeline": [],
    "upstreams.openai.slo": ["amplification == 3"],
}


def test_openai_example_holds_its_slos() -> None:
    result = run(load_scenario(OPENAI))
    assert result.passed, result.failure_text()


def test_amplification_equals_the_attempts_the_mocks_counted_in_a_hard_outage() -> None:
    result = run(load_scenario(OPENAI).override(HARD_OUTAGE))
    up = result.upstreams["openai"]
    assert up.client.requests == 40
    # max_retries=2: every call is tried three times, and every attempt reached the mock.
    assert up.reached_upstream == 3 * 40
    assert up.upstream.requests == up.reached_upstream
    assert up.service is not None
    assert up.service.amplification == up.reached_upstream / up.client.requests == 3.0
    assert up.samples.outcome_counts()["fallback"] == 40
    assert result.passed, result.failure_text()


def test_openai_example_is_byte_identical_across_processes() -> None:
    code = (
        "import sys; from harness import load_scenario, run;"
        f"s = load_scenario({str(OPENAI)!r});"
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
    service = json.loads(outputs[0])["upstreams"]["openai"]["service"]
    assert service["attempts"]["openai"] > service["requests"]  # the outage made it retry
