"""Timing helpers: interleave the cases round by round, report the median of per-round bests.

The machine is noisy (the same case varied up to 3× when timed back to back), so cases are never
timed one after another: each round times every case once, in a shuffled order, and the result
per case is the median over rounds — every case sees the same noise.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping

__all__ = ["interleaved", "ratio_table"]


def interleaved(
    cases: Mapping[str, Callable[[int], None]], *, loops: int, rounds: int, seed: int = 0
) -> dict[str, float]:
    """Return each case's median time per loop, in ns, over ``rounds`` interleaved rounds.

    ``cases[name](loops)`` must run the operation ``loops`` times.
    """
    order = list(cases)
    shuffle = random.Random(seed).shuffle
    samples: dict[str, list[float]] = {name: [] for name in order}
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            began = time.perf_counter_ns()
            cases[name](loops)
            samples[name].append((time.perf_counter_ns() - began) / loops)
    return {name: statistics.median(values) for name, values in samples.items()}


def ratio_table(times: Mapping[str, float], reference: str, unit: str = "ns") -> str:
    """Return a table of times and their ratio to ``reference``."""
    width = max(len(name) for name in times)
    base = times[reference]
    lines = [f"{'case':<{width}}  {unit:>10}  ratio to {reference}"]
    for name, value in sorted(times.items(), key=lambda item: item[1]):
        lines.append(f"{name:<{width}}  {value:>10.0f}  {value / base:>6.2f}x")
    return "\n".join(lines)
