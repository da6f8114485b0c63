"""One pytest session over a mixed folder of scenarios, run once alone and once under
pytest-xdist, and shared by every test that reads what such a session prints and writes.

Starting pytest-xdist's workers costs seconds; the tests of the plugin's behaviour under xdist
(results from every worker, errors printed once, the same reports as one process) all ask the
same question of the same kind of run, so they share these two runs instead of starting their
own. Tests using them carry ``@pytest.mark.xdist_group(SHARED)``: under ``--dist loadgroup``
(as ``nox -s tests`` runs) they land on one worker, so each run happens once per session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reporting import HOSTILE, OUTAGE, write_scenarios

SHARED = "shared-plugin-runs"

STEADY = """\
duration: 20s
seed: 5
upstreams:
  t1:
    latency: 6ms
    traffic: {rate: 10/s}
    breaker: {sliding_window_size: 10, minimum_number_of_calls: 10}
    slo: [p95 < 50ms, success_rate >= 99%, final_state == CLOSED]
"""
FLAKY = """\
duration: 20s
upstreams:
  vertex:
    latency: 500ms
    failure_rate: 30%
    traffic: {rate: 10/s}
    slo: [success_rate >= 90%]
"""
# Two problems, the first at 4:5: located once each, even under xdist.
BROKEN = "duration: 1m\nupstreams:\n  t1:\n    latncy: 5ms\n    traffic: {rate: 1/s, burst: 2}\n"
# A phase past the scenario's end: an error only a cross-check finds.
PAST_THE_END = (
    "duration: 1m\nupstreams: {v: {traffic: {rate: 1/s}, timeline: [{from: 30s, to: 61s}]}}\n"
)

# steady and hostile pass; outage-demo and flaky fail; broken and past_the_end are errors.
OUTCOMES = {"passed": 2, "failed": 2, "errors": 2}
NAMES = {"steady", "outage-demo", "<script>alert(1)</script>", "flaky"}
ERROR_FILES = ["scenarios/broken.yaml", "scenarios/past_the_end.yaml"]


@dataclass(frozen=True)
class SessionRun:
    """What one inner pytest session printed and wrote."""

    path: Path
    result: pytest.RunResult

    @property
    def reports(self) -> Path:
        return self.path / "out"

    def results(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.path / "results.json").read_text())
        return document


def _session(base: Path, *workers: str) -> SessionRun:
    base.mkdir()
    (base / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    write_scenarios(base / "scenarios", steady=STEADY, flaky=FLAKY, outage=OUTAGE, hostile=HOSTILE)
    (base / "scenarios" / "broken.yaml").write_text(BROKEN)
    (base / "scenarios" / "past_the_end.yaml").write_text(PAST_THE_END)
    # Under CI (CI or BUILD_NUMBER set) pytest prints each short-summary message whole, not cut
    # to one line; a wide terminal keeps the summary lines whole, as the tests read them.
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER")}
    environment.update(COLUMNS="400", PY_COLORS="0", NO_COLOR="1")
    command = [sys.executable, "-m", "pytest", "scenarios/", "-p", "no:cacheprovider", "-rE"]
    command += ["--slo-reports=out", "--slo-json=results.json", *workers]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=base, env=environment, capture_output=True, text=True, check=False
    )
    result = pytest.RunResult(
        done.returncode,
        done.stdout.splitlines(),
        done.stderr.splitlines(),
        time.perf_counter() - started,
    )
    return SessionRun(base, result)


@pytest.fixture(scope="session")
def alone_run(tmp_path_factory: pytest.TempPathFactory) -> SessionRun:
    """The mixed folder run in one process."""
    return _session(tmp_path_factory.mktemp("shared") / "alone")


@pytest.fixture(scope="session")
def xdist_run(tmp_path_factory: pytest.TempPathFactory) -> SessionRun:
    """The mixed folder run on two pytest-xdist workers."""
    pytest.importorskip("xdist")
    return _session(tmp_path_factory.mktemp("shared") / "xdist", "-n", "2")


@pytest.fixture(params=["alone", "xdist"])
def either_run(request: pytest.FixtureRequest) -> SessionRun:
    """Each of the two runs in turn."""
    run: SessionRun = request.getfixturevalue(f"{request.param}_run")
    return run
