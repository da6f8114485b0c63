"""The outcome of one scenario run: statistics, breaker summary and verdicts per upstream.

A :class:`Result` is a pure function of (scenario, seed, engine): everything in it is
deterministic, except the ``run_info`` block (wall-clock time, host), which is kept apart and can
be left out of the JSON to compare runs byte for byte.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.format.scenario import Scenario
from harness.verdicts.budget import Budget
from harness.verdicts.expectation_checks import ExpectationVerdict
from harness.verdicts.metrics import BreakerSummary, Samples, View, ViewStats
from harness.verdicts.objectives import Verdict
from harness.verdicts.service import ServiceStats
from harness.verdicts.timeseries import TimeSeries
from harness.version import __version__

__all__ = ["Extension", "Result", "RunInfo", "ScenarioSource", "UpstreamResult"]

RESULT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ScenarioSource:
    """Where a scenario came from, so a run can be replayed."""

    file: str | None
    sha256: str | None
    # The line of each check in the file, (upstream, "slo"|"expect", index) → line: see
    # harness.format.loader.check_lines. Written on each check's JSON as "line".
    lines: Mapping[tuple[str, str, int], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Extension:
    """How far ``--until-decided`` extended a scenario's virtual time."""

    factor: int  # the run lasted this many times the written duration
    max_factor: int  # the cap it was allowed
    written_duration_ns: int
    decided: bool  # every confidence objective decided (else the cap was reached)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: times in ms."""
        return {
            "factor": self.factor,
            "max_factor": self.max_factor,
            "written_duration_ms": self.written_duration_ns / 1e6,
            "decided": self.decided,
        }

    def text(self) -> str:
        """Return one line saying how far the run went."""
        outcome = "every confidence objective decided" if self.decided else "still inconclusive"
        return (
            f"until-decided: ran {self.factor}x the written duration (cap {self.max_factor}x): "
            f"{outcome}"
        )


@dataclass(frozen=True)
class RunInfo:
    """Facts about the machine run, not about the scenario: never compared between runs."""

    wall_time_s: float
    started_at: str
    python: str
    platform: str
    harness_version: str

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class UpstreamResult:
    """Everything measured about one upstream."""

    name: str
    samples: Samples = field(repr=False)
    views: dict[View, ViewStats]
    breaker: BreakerSummary | None
    verdicts: tuple[Verdict, ...]
    timeseries: TimeSeries = field(repr=False)
    reached_upstream: int
    expectations: tuple[ExpectationVerdict, ...] = ()
    service: ServiceStats | None = None
    """Attempts per request (see :mod:`harness.verdicts.service`)."""
    budget: Budget | None = None
    """Error budget and burn-rate alerts, when asked for (see :mod:`harness.verdicts.budget`)."""
    ttfb: ViewStats | None = None
    """Time to first byte of streamed answers (its ``latency``), when the upstream streams."""
    routes: dict[str, int] | None = None
    """Requests each route answered, by route label (an upstream with routes only)."""

    @property
    def client(self) -> ViewStats:
        """Return the client view's statistics."""
        return self.views[View.CLIENT]

    @property
    def upstream(self) -> ViewStats:
        """Return the upstream view's statistics."""
        return self.views[View.UPSTREAM]

    @property
    def passed(self) -> bool:
        """Return whether every objective and every breaker expectation of this upstream held."""
        return all(verdict.passed for verdict in self.verdicts) and all(
            check.passed for check in self.expectations
        )

    @property
    def inconclusive(self) -> bool:
        """Return whether some objective was inconclusive and no check failed outright."""
        return (
            any(v.inconclusive for v in self.verdicts)
            and all(v.passed or v.inconclusive for v in self.verdicts)
            and all(check.passed for check in self.expectations)
        )

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {
            "requests": len(self.samples),
            "outcomes": self.samples.outcome_counts(),
            "views": {view.value: stats.to_dict() for view, stats in self.views.items()},
            "breaker": None if self.breaker is None else self.breaker.to_dict(),
            "objectives": [verdict.to_dict() for verdict in self.verdicts],
            "expectations": [verdict.to_dict() for verdict in self.expectations],
            "passed": self.passed,
            "outcome": _outcome(self.passed, self.inconclusive),
            "timeseries": self.timeseries.to_dict(),
            **self._service_dict(),
            # Only when the scenario asks for a budget: other runs keep their JSON as it was.
            **({} if self.budget is None else {"budget": self.budget.to_dict()}),
            # Only for an upstream that streams: other runs keep their JSON as it was.
            **({} if self.ttfb is None else {"ttfb_ms": _ttfb_dict(self.ttfb)}),
            **({} if self.routes is None else {"routes": dict(self.routes)}),
        }

    def _service_dict(self) -> dict[str, object]:
        # Only where entry points ran: runs of the built-in client keep their JSON as it was.
        service = self.service
        if service is None or (service.entry_point is None and not service.calls):
            return {}
        return {"service": service.to_dict()}


@dataclass(frozen=True, eq=False)
class Result:
    """The outcome of running one scenario with one seed."""

    scenario: Scenario
    seed: int
    engine: str
    end_ns: int
    upstreams: dict[str, UpstreamResult]
    source: ScenarioSource = ScenarioSource(None, None)
    run_info: RunInfo | None = field(default=None, compare=False)
    extension: Extension | None = None  # set by --until-decided

    @property
    def passed(self) -> bool:
        """Return whether every objective of every upstream held."""
        return all(upstream.passed for upstream in self.upstreams.values())

    @property
    def inconclusive(self) -> bool:
        """Return whether some objective was inconclusive and nothing failed outright (exit
        code 3 from the command line)."""
        ups = self.upstreams.values()
        return any(up.inconclusive for up in ups) and all(
            up.passed or up.inconclusive for up in ups
        )

    @property
    def verdicts(self) -> list[tuple[str, Verdict]]:
        """Return every (upstream, verdict) pair, in scenario order."""
        return [(name, v) for name, up in self.upstreams.items() for v in up.verdicts]

    @property
    def failures(self) -> list[tuple[str, Verdict]]:
        """Return the (upstream, verdict) pairs that did not hold."""
        return [(name, verdict) for name, verdict in self.verdicts if not verdict.passed]

    def replay_command(self) -> str:
        """Return the command that reruns this scenario with this seed (and engine, when the
        run used another than the file's). A scenario built in Python has no file to name."""
        target = shlex.quote(self.source.file) if self.source.file else "SCENARIO.yaml"
        engine = "" if self.engine == self.scenario.engine else f" --engine {self.engine}"
        extended = "" if self.extension is None else f" --until-decided {self.extension.max_factor}"
        return f"python -m harness run {target} --seed {self.seed}{engine}{extended}"

    def to_dict(self, *, run_info: bool = True) -> dict[str, Any]:
        """Return the JSON form; ``run_info=False`` leaves out the wall-clock block."""
        scenario = self.scenario
        data: dict[str, Any] = {
            "schema_version": RESULT_SCHEMA_VERSION,
            "harness_version": __version__,
            "scenario": {
                "name": scenario.name,
                "description": scenario.description,
                "file": self.source.file,
                "sha256": self.source.sha256,
                "duration_ms": scenario.duration / 1e6,
                "percentile_method": scenario.percentile_method,
            },
            "seed": self.seed,
            "engine": self.engine,
            "end_ms": self.end_ns / 1e6,
            "replay": self.replay_command(),
            "passed": self.passed,
            "outcome": _outcome(self.passed, self.inconclusive),
            "upstreams": {
                name: {**self._located(name, up.to_dict()), "phases": _phases(scenario, name)}
                for name, up in self.upstreams.items()
            },
        }
        if self.extension is not None:
            data["until_decided"] = self.extension.to_dict()
        if run_info and self.run_info is not None:
            data["run_info"] = self.run_info.to_dict()
        return data

    def _located(self, upstream: str, data: dict[str, Any]) -> dict[str, Any]:
        """Return an upstream's JSON form with each check's line in the file, where known."""
        if not self.source.lines:
            return data
        for key, kind in (("objectives", "slo"), ("expectations", "expect")):
            for index, check in enumerate(data[key]):
                check["line"] = self.source.lines.get((upstream, kind, index))
        return data

    def to_json(self, *, run_info: bool = True) -> str:
        """Return the JSON text: sorted keys, so equal results are equal bytes."""
        return json.dumps(self.to_dict(run_info=run_info), indent=2, sort_keys=True) + "\n"

    def failure_text(self) -> str:
        """Return every check (objective, expectation) with what was observed, marking failures.

        The one format of a failure, shared with results read back from JSON (e.g. from
        pytest-xdist workers): :func:`harness.verdicts.checks.failure_text`.
        """
        from harness.verdicts.checks import failure_text

        return failure_text(self.to_dict(run_info=False))


def _ttfb_dict(ttfb: ViewStats) -> dict[str, object] | None:
    """Return the TTFB statistics' JSON form (None when no stream sent a first chunk)."""
    return None if ttfb.latency is None else ttfb.latency.to_dict()


def _outcome(passed: bool, inconclusive: bool) -> str:
    return "PASS" if passed else "INCONCLUSIVE" if inconclusive else "FAIL"


def _phases(scenario: Scenario, upstream: str) -> list[dict[str, object]]:
    """Return an upstream's fault phases: name, window in ms, and which settings they change."""
    return [
        {
            "name": phase.label if phase.times is None else f"{phase.label} #{number}",
            "from_ms": start / 1e6,
            "to_ms": end / 1e6,
            "overrides": sorted(
                key
                for key in ("latency", "failure_rate", "errors")
                if getattr(phase, key) is not None
            ),
        }
        for phase in scenario.upstreams[upstream].timeline
        for number, (start, end) in enumerate(phase.windows, 1)
    ]
