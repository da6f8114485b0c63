"""``slo-report.html``: one self-contained page a person reads to see what happened.

Failure first: a "failed checks" box at the top lists every check that failed (scenario,
upstream, check, observed against threshold, a link to its section) and every scenario that
produced no result; then the summary of every scenario (verdict first); then the scenarios,
failing ones first and open, passing ones collapsed (``<details>``, no script). Verdicts are
styled by a CSS class named after the verdict (``pass``, ``fail``, ``error``, and
``inconclusive`` ready for a third verdict): a new verdict is one more style. Per scenario its
checks with observed values, and per upstream latency over time with the SLO thresholds of the
series drawn, the breaker's state as a coloured band on the same axis, the fault phases shaded,
a latency histogram and the counts by outcome; the seed and the command that replays the run.

Offline by construction: charts are inline SVG, styles inline, no script, and a
Content-Security-Policy that forbids fetching anything. Jinja2 autoescapes every value, so a
string from a scenario file is always text; only the SVG matplotlib wrote (which escapes its
own labels) is inserted as markup. Needs the ``report`` extra (jinja2, matplotlib).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.format.units import format_duration, format_rate
from harness.format.values import format_value
from harness.report.burn import MAX_SPANS, budget_view
from harness.report.charts import STATE_COLOURS
from harness.report.display_lines import MIN_ANSWERS
from harness.report.files import atomic_write
from harness.report.histogram_chart import histogram_svg
from harness.report.json import error_order
from harness.report.timeline_chart import FEW_SAMPLES, bucket_label, timeline_plan, timeline_svg
from harness.verdicts.checks import Check, checks, replay_text
from harness.version import __version__

__all__ = ["html_document", "write_html"]

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
Pair = tuple[Mapping[str, Any], Mapping[str, Any]]


def _ms(value: float | None) -> str:
    """Return a latency in ms as ``11.107ms`` or ``1.512s``."""
    if value is None:
        return "–"
    return format_value(value, "duration_ms" if value >= 1000 else "ms")


def _percent(rate: float | None) -> str:
    return format_value(rate, "ratio", missing="–")


def _clock(ms: float) -> str:
    """Return a point or span of virtual time as ``3m0.854s``, ``1h5m`` or ``12.5s``."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    parts = [f"{int(hours)}h" if hours else "", f"{int(minutes)}m" if minutes else ""]
    if seconds != "0" or not any(parts):
        parts.append(f"{seconds}s")
    return "".join(parts)


_ENVIRONMENT.globals.update(ms=_ms, percent=_percent, seconds=_clock, max_spans=MAX_SPANS)


def write_html(
    path: str | Path, pairs: Iterable[Pair], errors: Iterable[Mapping[str, Any]] = ()
) -> Path:
    """Write the report for (result JSON, digest) pairs; results are shown sorted by file."""
    return atomic_write(path, html_document(pairs, errors))


def html_document(pairs: Iterable[Pair], errors: Iterable[Mapping[str, Any]] = ()) -> str:
    """Return the report's HTML text; ``errors`` are scenarios that produced no result."""
    ordered = sorted(pairs, key=lambda p: (str(p[0]["scenario"]["file"]), p[0]["scenario"]["name"]))
    scenarios = [_scenario(index, entry, digest) for index, (entry, digest) in enumerate(ordered)]
    scenarios.sort(key=lambda scenario: scenario["passed"])  # failing first; stable otherwise
    failures = [
        {**error, "anchor": f"error-{index + 1}", "title": error.get("name") or error.get("file")}
        for index, error in enumerate(sorted(errors, key=error_order))
    ]
    failed = sum(not scenario["passed"] for scenario in scenarios) + len(failures)
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        failed_checks=_failed_checks(scenarios),
        scenarios=scenarios,
        errors=failures,
        total=len(scenarios) + len(failures),
        failed=failed,
        passed=bool(scenarios) and not failed,
        verdict=_overall(scenarios, failures),
        version=__version__,
        started_at=min((s["started_at"] for s in scenarios if s["started_at"]), default=None),
        state_colours=STATE_COLOURS,
    )


def _overall(scenarios: Sequence[Mapping[str, Any]], errors: Sequence[object]) -> str:
    """Return the page's verdict: FAIL if anything failed (or nothing ran), INCONCLUSIVE if
    some scenario could not be decided and none failed, else PASS."""
    verdicts = {scenario["verdict"] for scenario in scenarios}
    if errors or not scenarios or "FAIL" in verdicts:
        return "FAIL"
    return "INCONCLUSIVE" if "INCONCLUSIVE" in verdicts else "PASS"


def _failed_checks(scenarios: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return every check that did not pass, with where it is shown, in page order."""
    return [
        {"scenario": scenario["name"], "anchor": upstream["anchor"], "check": check}
        for scenario in scenarios
        for upstream in scenario["upstreams"]
        for check in upstream["checks"]
        if not check.passed
    ]


def _scenario(index: int, entry: Mapping[str, Any], digest: Mapping[str, Any]) -> dict[str, Any]:
    scenario = entry["scenario"]
    anchor = f"scenario-{index + 1}"
    upstreams = [
        _upstream(f"{anchor}-{position}", name, data, digest["upstreams"][name], entry["end_ms"])
        for position, (name, data) in enumerate(entry["upstreams"].items())
    ]
    every = [check for upstream in upstreams for check in upstream["checks"]]
    return {
        "anchor": anchor,
        "name": scenario["name"],
        "description": scenario.get("description") or "",
        "file": scenario.get("file"),
        "sha256": scenario.get("sha256"),
        "passed": entry["passed"],
        "verdict": entry.get("outcome") or ("PASS" if entry["passed"] else "FAIL"),
        "seed": entry["seed"],
        "engine": entry.get("engine"),
        "replay": replay_text(entry),
        "duration": format_duration(round(scenario["duration_ms"] * 1e6)),
        "requests": sum(upstream["requests"] for upstream in upstreams),
        "held": sum(check.passed for check in every),
        "checks": len(every),
        "upstreams": upstreams,
        "started_at": (entry.get("run_info") or {}).get("started_at"),
        "wall_time_s": (entry.get("run_info") or {}).get("wall_time_s"),
    }


def _upstream(
    anchor: str, name: str, data: Mapping[str, Any], digest: Mapping[str, Any], end_ms: float
) -> dict[str, Any]:
    upstream_checks = list(checks(name, data))
    breaker = data["breaker"]
    client = data["views"]["client"]
    display = digest["display"]
    budget = budget_view(data)
    return {
        "anchor": anchor,
        "name": name,
        "passed": data["passed"],
        "verdict": data.get("outcome") or ("PASS" if data["passed"] else "FAIL"),
        "checks": upstream_checks,
        "requests": data["requests"],
        "client": client,
        "reached": data["views"]["upstream"],
        "ttfb": data.get("ttfb_ms"),  # only where the upstream streams
        "breaker": breaker,
        "phases": [{**p, "text": _phase_text(p["overrides"])} for p in digest["phases"]],
        "bucket": bucket_label(display["bucket_ms"]),
        "chart_notes": _chart_notes(upstream_checks, display),
        "outcomes": _outcomes(data["outcomes"], data["requests"]),
        "budget": budget,
        "timeline": Markup(
            timeline_svg(
                f"{anchor}-timeline",
                display,
                None if breaker is None else breaker["transitions"],
                None if breaker is None else breaker["final_state"],
                digest["phases"],
                upstream_checks,
                end_ms,
                () if budget is None else budget.alerts,
            )
        ),
        "histogram": Markup(
            histogram_svg(
                f"{anchor}-histogram", digest["histogram"], client["latency_ms"], upstream_checks
            )
        ),
    }


def _chart_notes(upstream_checks: list[Check], display: Mapping[str, Any]) -> list[str]:
    """Return what a reader of the timeline must know: thin buckets, checks not drawn."""
    notes = []
    counts = [count for count in display["requests"] if count]
    few = sum(count < FEW_SAMPLES for count in counts)
    if few:
        notes.append(
            f"{few} of {len(counts)} buckets hold fewer than {FEW_SAMPLES} requests: "
            "there P95 is simply the slowest request (drawn faint); the bold line is the "
            f"P95 over buckets widened to ≥ {MIN_ANSWERS} answers."
        )
    undrawn = timeline_plan(upstream_checks, display).not_drawn
    if undrawn:
        listed = ", ".join(check.text for check in undrawn)
        notes.append(f"Not drawn (no such series on this chart): {listed}.")
    return notes


def _outcomes(counts: Mapping[str, int], total: int) -> list[dict[str, Any]]:
    return [
        {"label": label, "count": count, "share": count / total if total else 0.0}
        for label, count in sorted(counts.items(), key=lambda item: -item[1])
    ]


def _phase_text(overrides: Mapping[str, Any]) -> str:
    """Return what a fault phase changes, as the scenario file would say it."""
    parts = []
    latency = overrides.get("latency")
    if isinstance(latency, Mapping):
        shape = " ".join(f"{key} {value}" for key, value in latency.items() if key != "dist")
        if latency.get("dist") == "fixed":
            shape = str(latency.get("value"))
        else:
            shape = f"{latency.get('dist')} {shape}"
        parts.append(f"latency {shape}")
    if overrides.get("failure_rate") is not None:
        parts.append(f"failure rate {format_rate(overrides['failure_rate'])}")
    errors = overrides.get("errors")
    if isinstance(errors, Mapping):
        mix = ", ".join(f"{kind} {format_rate(share)}" for kind, share in errors.items())
        parts.append(f"errors {mix}")
    return " · ".join(parts)
