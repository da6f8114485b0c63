"""The final metrics of every scenario, in the two text formats Prometheus loads.

- ``slo-metrics.prom``: the Prometheus text format 0.0.4, without timestamps, for
  node_exporter's textfile collector (which reads ``*.prom`` files and rejects timestamps)
  and for ``promtool check metrics``.
- ``slo-metrics.txt``: OpenMetrics 1.0 (ending in ``# EOF``), every sample stamped with its
  run's start (``run_info.started_at``), for backfilling with
  ``promtool tsdb create-blocks-from openmetrics``. A scenario that produced no result is
  stamped with the latest run's start; without run info (``--no-run-info``) nothing is stamped.

Both hold the same series. Values are in base units (seconds, ratios, counts) and each metric
name has one unit, in its name (``slo_check_observed_seconds``, ``slo_check_observed_ratio``,
``slo_check_observed`` for counts); a check whose value is not a number (a state) has only
``slo_check_passed``. A check's ``check`` label is what it measures (``p95``, ``expect opens``:
JUnit's stable name), so tightening a threshold continues the series. Every series carries
``scenario`` and ``file`` labels (two files may hold scenarios of the same name), and
``upstream`` where it is about one. A scenario that produced no result (invalid file, crashed
run) shows as ``slo_scenario_error 1`` and ``slo_scenario_passed 0``. If the same name and file
come twice (the same file run twice), the second is named ``NAME #2``: neither format allows a
repeated series. Written with ``prometheus_client`` (the ``report`` extra), which owns the
formats' escaping and naming rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest as prometheus_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.registry import Collector, CollectorRegistry

from harness.report.burn import BudgetView, budget_view
from harness.report.files import atomic_write
from harness.report.json import error_order
from harness.verdicts.checks import scenario_checks, stable_names

__all__ = ["openmetrics_text", "prometheus_text", "write_openmetrics"]

_QUANTILES = (("0.5", "p50_ms"), ("0.9", "p90_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms"))
_STATES = ("CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED")
_SCENARIO = ["scenario", "file"]
_UPSTREAM = [*_SCENARIO, "upstream"]
_ALERT = [*_UPSTREAM, "factor", "alert"]  # factor "14.4"; alert "14.4× (30s/2.5s)"
_OPTIONAL_KEYS = {"ttfb", "budget_spent", "alert_firings", "alert_first"}
# A check's unit (as the results JSON names it) → (metric name suffix, divisor to base units:
# dividing, so 119 ms is 0.119 s, not 0.11900000000000001).
# Units not listed here (states, state sequences) are not numbers: no observed/threshold series.
_CHECK_UNITS = {
    "ms": ("seconds", 1000.0),
    "duration_ms": ("seconds", 1000.0),
    "ratio": ("ratio", 1.0),
    "count": ("", 1.0),
}


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
    """Return the OpenMetrics exposition (ending in ``# EOF``) of every result and error, each
    sample stamped with its run's start."""
    text: bytes = openmetrics_latest(_registry(entries, errors, stamped=True))  # type: ignore[no-untyped-call]
    return text.decode("utf-8")


def prometheus_text(
    entries: Iterable[Mapping[str, Any]], errors: Iterable[Mapping[str, Any]] = ()
) -> str:
    """Return the Prometheus text format 0.0.4 of every result and error (no timestamps)."""
    return prometheus_latest(_registry(entries, errors, stamped=False)).decode("utf-8")


def _registry(
    entries: Iterable[Mapping[str, Any]], errors: Iterable[Mapping[str, Any]], *, stamped: bool
) -> CollectorRegistry:
    ordered = sorted(entries, key=lambda e: (str(e["scenario"]["file"]), e["scenario"]["name"]))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Results(ordered, sorted(errors, key=error_order), stamped=stamped))
    return registry


def run_timestamp(entry: Mapping[str, Any]) -> float | None:
    """Return when a result's run started, in seconds since the epoch (None without run info)."""
    started = (entry.get("run_info") or {}).get("started_at")
    return None if not started else datetime.fromisoformat(str(started)).timestamp()


class _Results(Collector):
    """Expose a fixed list of results and errors as metric families."""

    def __init__(
        self, entries: list[Mapping[str, Any]], errors: list[Mapping[str, Any]], *, stamped: bool
    ) -> None:
        self.entries = entries
        self.errors = errors
        self.stamped = stamped

    def collect(self) -> Iterator[Metric]:
        families = _families()
        named = [
            (entry["scenario"]["name"], entry["scenario"].get("file")) for entry in self.entries
        ]
        named += [(error.get("name") or "", error.get("file")) for error in self.errors]
        identities = _identities(named)
        stamps = [run_timestamp(entry) if self.stamped else None for entry in self.entries]
        for entry, scenario, at in zip(self.entries, identities, stamps, strict=False):
            before = {key: len(family.samples) for key, family in families.items()}
            _add_scenario(families, scenario, entry)
            for name, upstream in entry["upstreams"].items():
                labels = [*scenario, name]
                _add_traffic(families, labels, upstream)
                if upstream.get("ttfb_ms"):
                    _add_ttfb(families, labels, upstream["ttfb_ms"])
                if upstream["breaker"] is not None:
                    _add_breaker(families, labels, upstream["breaker"])
                budget = budget_view(upstream)
                if budget is not None:
                    _add_budget(families, labels, budget)
            _add_checks(families, scenario, entry)
            _stamp(families, at, before)
        latest = max((at for at in stamps if at is not None), default=None)
        for scenario in identities[len(self.entries) :]:
            families["passed"].add_metric(scenario, 0.0, timestamp=latest)
            families["error"].add_metric(scenario, 1.0, timestamp=latest)
        # Families only some runs have (streamed answers, an error budget) only where some
        # upstream has them: other reports keep their series as they were.
        yield from (f for key, f in families.items() if f.samples or key not in _OPTIONAL_KEYS)


def _stamp(families: Mapping[str, Metric], at: float | None, before: Mapping[str, int]) -> None:
    """Stamp with ``at`` the samples added since each family held ``before[key]``."""
    if at is None:
        return
    for key, family in families.items():
        kept, added = family.samples[: before[key]], family.samples[before[key] :]
        family.samples = kept + [sample._replace(timestamp=at) for sample in added]


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
    families = {
        "info": GaugeMetricFamily("slo_scenario_info",
                                  "What ran (always 1): its file's SHA-256, seed and engine.",
                                  labels=[*_SCENARIO, "sha256", "seed", "engine"]),
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
        "ttfb": Metric("slo_ttfb", "Time to first byte of streamed answers: quantiles, count "
                       "and sum.", "summary", unit="seconds"),
        "max": GaugeMetricFamily("slo_latency_max", "Slowest request of a view.",
                                 labels=[*_UPSTREAM, "view"], unit="seconds"),
        "state": GaugeMetricFamily("slo_breaker_state",
                                   "1 for the breaker's state at the end, 0 for the others.",
                                   labels=[*_UPSTREAM, "state"]),
        "opens": CounterMetricFamily("slo_breaker_opens", "Times the breaker entered OPEN.",
                                     labels=_UPSTREAM),
        "transitions": CounterMetricFamily("slo_breaker_transitions", "Breaker transitions.",
                                           labels=_UPSTREAM),
        "time_in_state": GaugeMetricFamily("slo_breaker_time_in_state",
                                           "Virtual time the breaker spent in each state.",
                                           labels=[*_UPSTREAM, "state"], unit="seconds"),
        "check_passed": GaugeMetricFamily("slo_check_passed", "1 if the check held.",
                                          labels=check),
        "budget_spent": GaugeMetricFamily("slo_budget_spent",
                                          "Error budget spent: bad / (allowed bad fraction "
                                          "x requests) over the scenario.",
                                          labels=_UPSTREAM, unit="ratio"),
        "alert_firings": CounterMetricFamily("slo_burn_alert_firings",
                                             "Spans of virtual time a burn-rate alert fired in.",
                                             labels=_ALERT),
        "alert_first": GaugeMetricFamily("slo_burn_alert_first_firing",
                                         "Virtual time since the run's start at which a "
                                         "burn-rate alert first fired (only alerts that fired).",
                                         labels=_ALERT, unit="seconds"),
    }  # fmt: skip
    for unit in dict.fromkeys(name for name, _ in _CHECK_UNITS.values()):
        for key, what in (("observed", "Observed value"), ("threshold", "Threshold")):
            help_text = f"{what} of a check measured in {unit or 'counts'}."
            family = GaugeMetricFamily(f"slo_check_{key}", help_text, labels=check, unit=unit)
            families[f"{key}:{unit}"] = family
    return families


def _add_scenario(families: Mapping[str, Any], labels: list[str], entry: Mapping[str, Any]) -> None:
    info = {
        "sha256": str(entry["scenario"].get("sha256") or ""),
        "seed": str(entry["seed"]),
        "engine": str(entry.get("engine") or ""),
    }
    families["info"].add_metric([*labels, info["sha256"], info["seed"], info["engine"]], 1.0)
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


def _add_ttfb(families: Mapping[str, Any], labels: list[str], ttfb: Mapping[str, Any]) -> None:
    names = dict(zip(_UPSTREAM, labels, strict=True))
    summary = families["ttfb"]
    for quantile, key in _QUANTILES:
        summary.add_sample("slo_ttfb_seconds", names | {"quantile": quantile}, ttfb[key] / 1000)
    summary.add_sample("slo_ttfb_seconds_count", names, ttfb["samples"])
    summary.add_sample("slo_ttfb_seconds_sum", names, ttfb["avg_ms"] * ttfb["samples"] / 1000)


def _add_breaker(families: Mapping[str, Any], labels: list[str], breaker: Any) -> None:
    final = breaker["final_state"]
    for state in _STATES:
        families["state"].add_metric([*labels, state], float(state == final))
    families["opens"].add_metric(labels, breaker["opens"])
    families["transitions"].add_metric(labels, len(breaker["transitions"]))
    for state, ms in sorted(breaker["time_in_state_ms"].items()):
        families["time_in_state"].add_metric([*labels, state], ms / 1000)


def _add_budget(families: Mapping[str, Any], labels: list[str], budget: BudgetView) -> None:
    """Add an upstream's budget spent and, per burn-rate alert, how often and when it fired."""
    if budget.spent is not None:
        families["budget_spent"].add_metric(labels, budget.spent)
    for alert in budget.alerts:
        named = [*labels, alert.key, alert.label]
        families["alert_firings"].add_metric(named, len(alert.fired))
        if alert.fired:
            families["alert_first"].add_metric(named, alert.fired[0][0] / 1000)


def _add_checks(families: Mapping[str, Any], scenario: list[str], entry: Mapping[str, Any]) -> None:
    every = scenario_checks(entry)
    for name, check in zip(stable_names(every), every, strict=True):
        # Labelled by what it measures, not its text: a new threshold keeps the series.
        labels = [*scenario, check.upstream, check.kind, name.removeprefix(f"{check.upstream}: ")]
        families["check_passed"].add_metric(labels, float(check.passed))
        if check.unit not in _CHECK_UNITS:
            continue
        unit, divisor = _CHECK_UNITS[check.unit]
        for key, value in (("observed", check.observed), ("threshold", check.threshold)):
            if isinstance(value, int | float) and not isinstance(value, bool):
                families[f"{key}:{unit}"].add_metric(labels, value / divisor)
