"""Checks as every report shows them: objectives (and any other verdict list) read from JSON.

A *check* is a verdict in its JSON form: its text (under ``objective`` or ``expectation``),
``observed``, ``threshold``, ``passed``, ``note`` and, where known, ``unit``, ``samples`` and
``lower_bound`` (the observed value is only a lower bound: timeouts censored it).
Reports render checks from these dicts only, so results gathered from pytest-xdist workers and
local results give the same files, and a new kind of verdict list is one more entry in
:data:`CHECK_LISTS`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import printable
from harness.format.values import format_value

__all__ = [
    "CHECK_LISTS",
    "LEAD",
    "Check",
    "checks",
    "failed_line",
    "failure_text",
    "format_value",
    "replay_text",
    "scenario_checks",
    "stable_names",
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
    lower_bound: bool = False
    inconclusive: bool = False
    measure: str = ""  # what is checked, without the threshold: "p95", "expect opens"
    line: int | None = None  # of the check in the scenario file, where known

    @property
    def name(self) -> str:
        """Return ``upstream: text``, the name a check has in every report."""
        return f"{self.upstream}: {self.text}"

    @property
    def stable_name(self) -> str:
        """Return ``upstream: measure`` (``vertex: p95``): a name that stays when the threshold
        changes, so CI dashboards keep a check's history (see :func:`stable_names`)."""
        return f"{self.upstream}: {self.measure or self.text}"

    @property
    def verdict(self) -> str:
        """Return ``PASS``, ``FAIL`` or ``INCONCLUSIVE`` (confidence bounds straddle the
        threshold)."""
        return "INCONCLUSIVE" if self.inconclusive else "PASS" if self.passed else "FAIL"

    @property
    def observed_text(self) -> str:
        """Return the observed value as a person reads it (``no data`` when there was none),
        with the digits that tell it from the threshold; ``≥`` before a lower bound."""
        text = format_value(self.observed, self.unit, beside=self.threshold)
        return f"≥ {text}" if self.lower_bound and self.observed is not None else text

    @property
    def threshold_text(self) -> str:
        """Return the threshold as a person reads it."""
        return format_value(self.threshold, self.unit, missing="-", beside=self.observed)


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
                lower_bound=bool(entry.get("lower_bound")),
                inconclusive=entry.get("outcome") == "INCONCLUSIVE",
                measure=_measure(kind, entry),
                line=entry.get("line"),
            )


def _measure(kind: str, entry: Mapping[str, Any]) -> str:
    """Return what a check's JSON form checks, without its threshold (empty if unknown)."""
    if kind == "objective" and entry.get("metric"):
        view = entry.get("view")
        return f"{view}.{entry['metric']}" if view and view != "client" else str(entry["metric"])
    if kind == "expectation" and entry.get("check"):
        return f"{LEAD.get(kind, '')}{entry['check']}"
    return ""


def stable_names(every: Sequence[Check]) -> list[str]:
    """Return each check's :attr:`Check.stable_name`, numbered from the second on where two
    checks measure the same thing (``vertex: time_open``, ``vertex: time_open #2``)."""
    seen: dict[str, int] = {}
    names = []
    for check in every:
        name = check.stable_name
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return names


def scenario_checks(entry: Mapping[str, Any]) -> list[Check]:
    """Return every check of a result's JSON form: list by list, upstream by upstream."""
    every = [
        check for name, upstream in entry["upstreams"].items() for check in checks(name, upstream)
    ]
    order = [kind for _, kind in CHECK_LISTS]
    return sorted(every, key=lambda check: order.index(check.kind))  # stable: keeps file order


LEAD = {"expectation": "expect "}
"""How a check's text is introduced where checks of every kind are listed together."""


def failure_text(entry: Mapping[str, Any]) -> str:
    """Return the terminal's failure message for a result's JSON form.

    The same text as :meth:`harness.verdicts.result.Result.failure_text`, built from JSON so that
    results from xdist workers read the same.
    """
    scenario = entry["scenario"]
    undecided = entry.get("outcome") == "INCONCLUSIVE"
    what = "could not decide its objectives" if undecided else "broke its objectives"
    every = scenario_checks(entry)
    lines = [
        failed_line(every),  # first: pytest's short summary shows it
        f"scenario {scenario['name']!r} (seed {entry['seed']}) {what}:",
    ]
    width = max((len(check.text) for check in every if check.kind == "objective"), default=0)
    for check in every:
        note = f"  ({check.note})" if check.note else ""
        over = "" if check.samples is None else f" over n={check.samples}"
        text = f"{LEAD.get(check.kind, '')}{check.text}"
        lines.append(
            f"  {check.verdict}  {check.upstream}: {text:<{width}}  "
            f"observed {check.observed_text}{over}{note}"
        )
    lines.append(f"replay: {replay_text(entry)}")
    return "\n".join(printable(line) for line in lines)  # a scenario's text cannot forge a line


def failed_line(every: Sequence[Check]) -> str:
    """Return ``3 of 17 checks failed: vertex: p95 < 500ms observed 1.115s; …``: every check
    that did not pass (failed or inconclusive), on one line."""
    failed = [check for check in every if check.verdict != "PASS"]
    listed = "; ".join(f"{check.name} observed {check.observed_text}" for check in failed)
    undecided = sum(check.verdict == "INCONCLUSIVE" for check in failed)
    also = f", {undecided} inconclusive" if undecided else ""
    return f"{len(failed) - undecided} of {len(every)} checks failed{also}: {listed}"


def replay_text(entry: Mapping[str, Any]) -> str:
    """Return the command that replays a result, its file quoted for a POSIX shell.

    Built from the file and seed (the ``replay`` field of the JSON leaves a path with spaces
    or quotes unquoted); a result without a file keeps the ``replay`` field as it is.
    """
    file = entry["scenario"].get("file")
    if not file:
        return str(entry["replay"])
    return f"python -m harness run {shlex.quote(str(file))} --seed {entry['seed']}"
