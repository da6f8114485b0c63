"""Checks as every report shows them: objectives (and any other verdict list) read from JSON.

A *check* is a verdict in its JSON form: its text (under ``objective`` or ``expectation``),
``observed``, ``threshold``, ``passed``, ``note`` and, where known, ``unit`` and ``samples``.
Reports render checks from these dicts only, so results gathered from pytest-xdist workers and
local results give the same files, and a new kind of verdict list is one more entry in
:data:`CHECK_LISTS`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHECK_LISTS",
    "LEAD",
    "Check",
    "checks",
    "failure_text",
    "format_value",
    "scenario_checks",
]

CHECK_LISTS: tuple[tuple[str, str], ...] = (
    ("objectives", "objective"),
    ("expectations", "expectation"),
)
"""(key of a verdict list in an upstream's JSON, what one entry is called and the key of its
text): every verdict list reports render, in this order. A list a result lacks is skipped."""


@dataclass(frozen=True)
class Check:
    """One verdict of one upstream, ready to show."""

    upstream: str
    kind: str
    text: str
    passed: bool
    observed: Any
    threshold: Any
    unit: str | None
    samples: int | None
    note: str | None

    @property
    def name(self) -> str:
        """Return ``upstream: text``, the name a check has in every report."""
        return f"{self.upstream}: {self.text}"

    @property
    def verdict(self) -> str:
        """Return ``PASS`` or ``FAIL``."""
        return "PASS" if self.passed else "FAIL"

    @property
    def observed_text(self) -> str:
        """Return the observed value as a person reads it (``no data`` when there was none)."""
        return format_value(self.observed, self.unit)

    @property
    def threshold_text(self) -> str:
        """Return the threshold as a person reads it."""
        return format_value(self.threshold, self.unit, missing="-")


def checks(upstream: str, data: Mapping[str, Any]) -> Iterator[Check]:
    """Yield every check of one upstream's JSON form, list by list, in file order."""
    for key, kind in CHECK_LISTS:
        for entry in data.get(key) or ():
            yield Check(
                upstream=upstream,
                kind=kind,
                text=str(entry[kind]),
                passed=bool(entry["passed"]),
                observed=entry.get("observed"),
                threshold=entry.get("threshold"),
                unit=entry.get("unit"),
                samples=entry.get("samples"),
                note=entry.get("note"),
            )


def scenario_checks(entry: Mapping[str, Any]) -> list[Check]:
    """Return every check of a result's JSON form: list by list, upstream by upstream."""
    every = [
        check for name, upstream in entry["upstreams"].items() for check in checks(name, upstream)
    ]
    order = [kind for _, kind in CHECK_LISTS]
    return sorted(every, key=lambda check: order.index(check.kind))  # stable: keeps file order


def format_value(value: Any, unit: str | None, *, missing: str = "no data") -> str:
    """Return ``value`` as the terminal shows it: ``11.107ms``, ``96.882%``, ``180.854s``."""
    if value is None:
        return missing
    if isinstance(value, str | bool):
        return str(value)
    if isinstance(value, list):  # a sequence of states
        return " → ".join(_folded([str(state) for state in value]))
    if isinstance(value, Mapping):
        return ", ".join(
            f"{key} {format_value(item, unit, missing='-')}" for key, item in value.items()
        )
    if unit == "ms":
        return f"{_short_number(value)}ms"
    if unit == "duration_ms":
        return f"{_short_number(value / 1000)}s"
    if unit == "ratio":
        return f"{_short_number(value * 100)}%"
    if unit == "count":
        return str(int(value))
    return _short_number(float(value)) + (f" {unit}" if unit else "")


def _folded(states: list[str]) -> list[str]:
    """Return ``states`` with a repeated pair written once: ``(HALF_OPEN → OPEN) ×5``."""
    folded: list[str] = []
    index = 0
    while index < len(states):
        pair = states[index : index + 2]
        repeats = 1
        while len(pair) == 2 and states[index + 2 * repeats : index + 2 * repeats + 2] == pair:
            repeats += 1
        if repeats > 2:
            folded.append(f"({' → '.join(pair)}) ×{repeats}")
            index += 2 * repeats
        else:
            folded.append(states[index])
            index += 1
    return folded


def _short_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


LEAD = {"expectation": "expect "}
"""How a check's text is introduced where checks of every kind are listed together."""


def failure_text(entry: Mapping[str, Any]) -> str:
    """Return the terminal's failure message for a result's JSON form.

    The same text as :meth:`harness.result.Result.failure_text`, built from JSON so that
    results from xdist workers read the same.
    """
    scenario = entry["scenario"]
    lines = [f"scenario {scenario['name']!r} (seed {entry['seed']}) broke its objectives:"]
    every = scenario_checks(entry)
    width = max((len(check.text) for check in every if check.kind == "objective"), default=0)
    for check in every:
        note = f"  ({check.note})" if check.note else ""
        over = "" if check.samples is None else f" over n={check.samples}"
        text = f"{LEAD.get(check.kind, '')}{check.text}"
        lines.append(
            f"  {check.verdict}  {check.upstream}: {text:<{width}}  "
            f"observed {check.observed_text}{over}{note}"
        )
    lines.append(f"replay: {entry['replay']}")
    return "\n".join(lines)
