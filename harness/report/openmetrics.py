"""OpenMetrics text export of every scenario's final metrics (``slo-metrics.txt``).

For teams that chart results in Prometheus/Grafana: load the file with a textfile collector
or push it. Every series carries ``scenario`` and ``file`` labels (two files may hold scenarios
of the same name), and ``upstream`` where it is about one; latencies are in seconds and rates
are ratios, as Prometheus names them. A scenario that produced no result (invalid file, crashed
run) shows as ``slo_scenario_error 1`` and ``slo_scenario_passed 0``. If the same name and file
come twice (the same file run twice), the second is named ``NAME #2``: OpenMetrics forbids
repeating a series. Written with ``prometheus_client`` (the ``report`` extra), which owns the
format's escaping and naming rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from harness.report.files import atomic_write
from harness.report.json import error_order
from harness.verdicts.checks import scenario_checks

__all__ = ["openmetrics_text", "write_openmetrics"]

_QUANTILES = (("0.5", "p50_ms"), ("0.9", "p90_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms"))
_STATES = ("CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED")
_SCENARIO = ["scenario", "file"]
_UPSTREAM = [*_SCENARIO, "upstream"]


def write_openmetrics(
    path: str | Path,
    entries: Iterable[Mapping[str, Any]],
    errors: Iterable[Mapping[str, Any]] = (),
) -> Path:
    """Write the OpenMetrics text of every result (JSON forms) to ``path``."""
    return atomic_write(path, openmetrics_text(entries, errors))


def openmetrics_text(
    entries: Iterable[Mapping[str, Any]], errors: Iterable[Mapping[str, Any]] = ()
) -> str:
    """Return the OpenMetrics exposition (ending in ``# EOF``) of every result and error."""
    ordered = sorted(entries, key=lambda e: (str(e["scenario"]["file"]), e["scenario"]["name"]))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Results(ordered, sorted(errors, key=error_order)))
    text: bytes = generate_latest(registry)  # type: ignore[no-untyped-call]
    return text.decode("utf-8")


class _Results(Collector):
    """Expose a fixed list of results and errors as metric families."""

    def __init__(self, entries: list[Mapping[str, Any]], errors: list[Mapping[str, Any]]) -> None:
        self.entries = entries
        self.errors = errors

    def collect(self) -> Iterator[Metric]:
        families = _families()
        named = [
            (entry["scenario"]["name"], entry["scenario"].get("file")) for entry in self.entries
        ]
        named += [(error.get("name") or "", error.get("file")) for error in self.errors]
        identities = _identities(named)
        for entry, scenario in zip(self.entries, identities, strict=False):
            _add_scenario(families, scenario, entry)
            for name, upstream in entry["upstreams"].items():
                labels = [*scenario, name]
                _add_traffic(families, labels, upstream)
                if upstream["breaker"] is not None:
                    _add_breaker(families, labels, upstream["breaker"])
            _add_checks(families, scenario, entry)
        for scenario in identities[len(self.entries) :]:
            families["passed"].add_metric(scenario, 0.0)
            families["error"].add_metric(scenario, 1.0)
        yield from families.values()


def _identities(named: list[tuple[str, str | None]]) -> list[list[str]]:
    """Return distinct (scenario, file) label values for each (name, file), in order."""
    seen: set[tuple[str, str]] = set()
    identities = []
    for name, file in named:
        label, number = name, 1
        while (label, file or "") in seen:
            number += 1
            label = f"{name} #{number}"
        seen.add((label, file or ""))
        identities.append([label, file or ""])
    return identities


def _families() -> dict[str, Any]:
    check = [*_UPSTREAM, "kind", "check"]
    return {
        "info": InfoMetricFamily("slo_scenario", "What ran: its file's SHA-256, seed, engine.",
                                 labels=_SCENARIO),
        "passed": GaugeMetricFamily("slo_scenario_passed", "1 if every check held.",
                                    labels=_SCENARIO),
        "error": GaugeMetricFamily("slo_scenario_error",
                                   "1 if the scenario's file failed to load or its run crashed.",
                                   labels=_SCENARIO),
        "requests": CounterMetricFamily("slo_requests", "Requests by outcome.",
                                        labels=[*_UPSTREAM, "outcome"]),
        "success": GaugeMetricFamily("slo_success", "Successes / requests in a view.",
                                     labels=[*_UPSTREAM, "view"], unit="ratio"),
        "latency": Metric("slo_latency", "Latency of a view: quantiles, count and sum.",
                          "summary", unit="seconds"),
        "max": GaugeMetricFamily("slo_latency_max", "Slowest request of a view.",
                                 labels=[*_UPSTREAM, "view"], unit="seconds"),
        "state": StateSetMetricFamily("slo_breaker_state", "The breaker's state at the end.",
                                      labels=_UPSTREAM),
        "opens": CounterMetricFamily("slo_breaker_opens", "Times the breaker entered OPEN.",
                                     labels=_UPSTREAM),
        "transitions": CounterMetricFamily("slo_breaker_transitions", "Breaker transitions.",
                                           labels=_UPSTREAM),
        "time_in_state": GaugeMetricFamily("slo_breaker_time_in_state",
                                           "Virtual time the breaker spent in each state.",
                                           labels=[*_UPSTREAM, "state"], unit="seconds"),
        "check_passed": GaugeMetricFamily("slo_check_passed", "1 if the check held.",
                                          labels=check),
        "observed": GaugeMetricFamily("slo_check_observed",
                                      "Observed value of a numeric check, in its unit.",
                                      labels=[*check, "unit"]),
        "threshold": GaugeMetricFamily("slo_check_threshold",
                                       "Threshold of a numeric check, in its unit.",
                                       labels=[*check, "unit"]),
    }  # fmt: skip


def _add_scenario(families: Mapping[str, Any], labels: list[str], entry: Mapping[str, Any]) -> None:
    info = {
        "sha256": str(entry["scenario"].get("sha256") or ""),
        "seed": str(entry["seed"]),
        "engine": str(entry.get("engine") or ""),
    }
    families["info"].add_metric(labels, info)
    families["passed"].add_metric(labels, float(entry["passed"]))
    families["error"].add_metric(labels, 0.0)


def _add_traffic(families: Mapping[str, Any], labels: list[str], upstream: Any) -> None:
    for outcome, count in sorted(upstream["outcomes"].items()):
        families["requests"].add_metric([*labels, outcome], count)
    for view, stats in upstream["views"].items():
        if stats["success_rate"] is not None:
            families["success"].add_metric([*labels, view], stats["success_rate"])
        latency = stats["latency_ms"]
        if latency is None:
            continue
        names = dict(zip(_UPSTREAM, labels, strict=True)) | {"view": view}
        summary = families["latency"]
        for quantile, key in _QUANTILES:
            summary.add_sample("slo_latency_seconds", names | {"quantile": quantile},
                               latency[key] / 1000)  # fmt: skip
        summary.add_sample("slo_latency_seconds_count", names, latency["samples"])
        summary.add_sample(
            "slo_latency_seconds_sum", names, latency["avg_ms"] * latency["samples"] / 1000
        )
        families["max"].add_metric([*labels, view], latency["max_ms"] / 1000)


def _add_breaker(families: Mapping[str, Any], labels: list[str], breaker: Any) -> None:
    final = breaker["final_state"]
    families["state"].add_metric(labels, {state: state == final for state in _STATES})
    families["opens"].add_metric(labels, breaker["opens"])
    families["transitions"].add_metric(labels, len(breaker["transitions"]))
    for state, ms in sorted(breaker["time_in_state_ms"].items()):
        families["time_in_state"].add_metric([*labels, state], ms / 1000)


def _add_checks(families: Mapping[str, Any], scenario: list[str], entry: Mapping[str, Any]) -> None:
    for check in scenario_checks(entry):
        labels = [*scenario, check.upstream, check.kind, check.text]
        families["check_passed"].add_metric(labels, float(check.passed))
        unit = check.unit or ""
        for key, value in (("observed", check.observed), ("threshold", check.threshold)):
            if isinstance(value, int | float) and not isinstance(value, bool):
                families[key].add_metric([*labels, unit], value)
