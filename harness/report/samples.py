"""Every request as a CSV row, so anyone can recompute the metrics from the raw samples."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from harness.events import BreakerState, Outcome
from harness.report.files import atomic_write
from harness.result import Result

__all__ = ["SAMPLE_COLUMNS", "write_samples"]

SAMPLE_COLUMNS = (
    "scenario",
    "upstream",
    "start_ms",
    "latency_ms",
    "outcome",
    "status",
    "breaker_state",
)
_OUTCOMES = {int(outcome): outcome.label for outcome in Outcome}
_STATES = {int(state): state.name for state in BreakerState}


def write_samples(path: str | Path, results: Iterable[Result]) -> Path:
    """Write one row per request of every result, ordered by start time within an upstream.

    ``latency_ms`` is written with full precision (Python's shortest round-trip form), so the
    percentiles computed from the file equal the harness's exactly.
    """

    def write(stream: IO[str]) -> None:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(SAMPLE_COLUMNS)
        for result in results:
            for name, upstream in result.upstreams.items():
                samples = upstream.samples
                for start, latency, outcome, status, state in zip(
                    samples.start_ns.tolist(),
                    samples.latency_ns.tolist(),
                    samples.outcome.tolist(),
                    samples.status.tolist(),
                    samples.state.tolist(),
                    strict=True,
                ):
                    writer.writerow(
                        (
                            result.scenario.name,
                            name,
                            repr(start / 1e6),
                            repr(latency / 1e6),
                            _OUTCOMES[outcome],
                            status,
                            _STATES[state],
                        )
                    )

    return atomic_write(path, write)
