"""Reports of long soaks in flat memory: what they compute and write goes in bounded chunks.

tracemalloc sees numpy's buffers as well as Python objects, so each test measures the peak of
one step over a million samples against a bound far below what the whole-array way took.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from harness.report.digest import histogram, rolling_latency
from harness.report.samples import samples_csv
from harness.verdicts.metrics import Samples

N = 1_000_000
MB = 1 << 20


@pytest.fixture(scope="module")
def latency_ns() -> np.ndarray[Any, np.dtype[np.int64]]:
    rng = np.random.default_rng(7)
    return rng.lognormal(np.log(6e6), 0.4, N).astype(np.int64)


def _peak(step: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_rolling_p95_is_computed_in_bounded_chunks(
    latency_ns: np.ndarray[Any, np.dtype[np.int64]],
) -> None:
    # Its own output is 5 columns × 100 000 rows (4 MB); windows of all rows at once were
    # 80 MB, and their percentiles as much again.
    assert _peak(lambda: rolling_latency(latency_ns)) < 24 * MB


def test_chunks_give_exactly_the_whole_arrays_statistics(
    latency_ns: np.ndarray[Any, np.dtype[np.int64]],
) -> None:
    part = latency_ns[:50_000]  # rows on both sides of several chunk boundaries
    columns = rolling_latency(part, "linear")
    latency_ms = part / 1e6
    for row in (0, 8, 9, 4095, 4096, 4097, 4999):
        end = int(columns["request"][row])
        window = latency_ms[max(0, end - 100) : end]
        assert columns["samples"][row] == window.size
        assert columns["p95_ms"][row] == np.percentile(window, 95, method="linear")
        assert columns["p50_ms"][row] == np.percentile(window, 50, method="linear")
        assert columns["avg_ms"][row] == pytest.approx(window.mean(), rel=1e-12)


def test_the_histogram_is_counted_in_bounded_chunks(
    latency_ns: np.ndarray[Any, np.dtype[np.int64]],
) -> None:
    groups = (np.arange(N) % 3).astype(np.int8)
    assert _peak(lambda: histogram(latency_ns, groups)) < 24 * MB  # 8 MB input; once ~40 MB
    counts = histogram(latency_ns, groups)
    assert sum(map(sum, counts["counts"].values())) + sum(counts["zero"].values()) == N


def test_the_samples_csv_is_written_in_bounded_chunks(
    latency_ns: np.ndarray[Any, np.dtype[np.int64]],
) -> None:
    n = N // 4  # a quarter: rows are made one by one, in Python
    samples = Samples(
        start_ns=np.arange(n, dtype=np.int64) * 1000,
        latency_ns=latency_ns[:n],
        outcome=np.zeros(n, dtype=np.int8),
        status=np.full(n, 200, dtype=np.int16),
        state=np.zeros(n, dtype=np.int8),
    )
    upstream = SimpleNamespace(samples=samples)
    result = SimpleNamespace(scenario=SimpleNamespace(name="soak"), upstreams={"v": upstream})

    class Counter(io.TextIOBase):
        lines = 0

        def write(self, text: str) -> int:
            self.lines += text.count("\n")
            return len(text)

    sink = Counter()
    # Whole columns as Python lists were 5 × 250 000 objects: ~45 MB.
    assert _peak(lambda: samples_csv(sink, [result])) < 20 * MB  # type: ignore[list-item]
    assert sink.lines == n + 1
