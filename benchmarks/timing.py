"""Timing helpers: interleave the cases round by round; report ratios from paired rounds.

The machine is noisy (the same case varied up to 3× when timed back to back, more when other
work shares it), so cases are never timed one after another: each round times every case once,
in a shuffled order. A ratio between two cases is taken within each round, where both saw the
same load, and the median of those per-round ratios is reported (:func:`paired`) — not the ratio
of two medians, which pairs timings from different moments.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Goal", "interleaved", "paired", "paired_ratio", "ratio_table"]


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


def paired(
    cases: Mapping[str, Callable[[], object]], reference: str, *, rounds: int, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Time every case once per round, in a shuffled order; return per case its times (s) and
    its per-round ratios to ``reference``, with their median."""
    order = list(cases)
    shuffle = random.Random(seed).shuffle
    times: dict[str, list[float]] = {name: [] for name in order}
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            began = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - began)
    found: dict[str, dict[str, Any]] = {}
    for name, values in times.items():
        ratios = [value / base for value, base in zip(values, times[reference], strict=True)]
        found[name] = {
            "seconds": values,
            "median_s": statistics.median(values),
            "ratios": ratios,
            "ratio": statistics.median(ratios),
        }
    return found


def paired_ratio(found: Mapping[str, Mapping[str, Any]], numerator: str, denominator: str) -> float:
    """Return the median over rounds of ``numerator``'s time / ``denominator``'s in that round."""
    pairs = zip(found[numerator]["seconds"], found[denominator]["seconds"], strict=True)
    return statistics.median(top / bottom for top, bottom in pairs)


@dataclass(frozen=True)
class Goal:
    """A goal: ``value`` must be at most (or at least) ``limit``; the margin says by how much."""

    label: str
    value: float
    limit: float
    at_most: bool = True

    @property
    def met(self) -> bool:
        """Return whether the value meets the limit."""
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def margin(self) -> float:
        """Return how far inside the limit the value is, as a share of the limit (< 0: missed)."""
        gap = self.limit - self.value if self.at_most else self.value - self.limit
        return gap / self.limit

    def line(self) -> str:
        """Return the goal as one printed line: value, limit, margin, met or missed."""
        sign = "≤" if self.at_most else "≥"
        verdict = "met" if self.met else "MISSED"
        return (
            f"  goal {self.label}: {self.value:.3g} (goal {sign} {self.limit:.3g}), "
            f"margin {self.margin:+.0%}: {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the goal as JSON-ready data."""
        return {**asdict(self), "met": self.met, "margin": self.margin}
