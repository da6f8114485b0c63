"""Every request as a CSV row, so anyone can recompute the metrics from the raw samples."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from harness.events import BreakerState, Outcome
from harness.report.files import atomic_write, csv_cell
from harness.verdicts.metrics import Samples
from harness.verdicts.result import Result

__all__ = ["SAMPLE_COLUMNS", "samples_csv", "write_samples"]

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
_CHUNK = 1 << 16  # rows made at a time: a few MB of Python objects


def write_samples(path: str | Path, results: Iterable[Result]) -> Path:
    """Write one row per request of every result, ordered by start time within an upstream.

    ``latency_ms`` is written with full precision (Python's shortest round-trip form), so the
    percentiles computed from the file equal the harness's exactly. Rows are made a chunk at
    a time, so memory stays flat however many requests there are.
    """

    return atomic_write(path, lambda stream: samples_csv(stream, results))


def samples_csv(stream: IO[str], results: Iterable[Result]) -> None:
    """Write the samples CSV of ``results`` to ``stream`` (see :func:`write_samples`)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(SAMPLE_COLUMNS)
    for result in results:
        scenario = str(csv_cell(result.scenario.name))  # a name may read as a formula
        for name, upstream in result.upstreams.items():
            for first in range(0, len(upstream.samples), _CHUNK):
                writer.writerows(_rows(scenario, str(csv_cell(name)), upstream.samples, first))


def _rows(
    scenario: str, upstream: str, samples: Samples, first: int
) -> Iterator[tuple[object, ...]]:
    """Yield the CSV rows of samples ``first`` to ``first + _CHUNK``."""
    part = slice(first, first + _CHUNK)
    for start, latency, outcome, status, state in zip(
        samples.start_ns[part].tolist(),
        samples.latency_ns[part].tolist(),
        samples.outcome[part].tolist(),
        samples.status[part].tolist(),
        samples.state[part].tolist(),
        strict=True,
    ):
        yield (
            scenario,
            upstream,
            repr(start / 1e6),
            repr(latency / 1e6),
            _OUTCOMES[outcome],
            status,
            _STATES[state],
        )
