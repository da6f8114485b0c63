"""A run against a stored baseline: what got worse, check by check, and whether it is real.

Both files are the same kind: results (``slo-results.json`` or ``run --json``) or sweeps
(``sweep --json``). A difference counts as a **regression** only when the data can tell it from
chance, benchstat's habit:

- a rate objective in a single run (``success_rate``, ``error_rate``, ``short_circuit_rate``:
  successes out of the requests counted) and a check's pass count in a sweep (passes out of
  runs) are binomial counts; each side gets its exact Clopper–Pearson interval, and a change is
  real when the two intervals do not overlap (conservative: it claims less than a
  two-proportion test would, and needs no normal approximation at small counts);
- any other value in a single run (a percentile, a count, a duration) is one sample per side:
  its change is shown with the verdict ``no verdict``, since one sample has no spread to judge
  it by — sweep both sides to compare them.

Which way is worse follows the objective's operator (``>=``/``>``: lower is worse; ``<=``/``<``:
higher is worse; ``==``/``!=``: no direction).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.explore.stats import Interval, clopper_pearson

__all__ = ["BASELINE_FILE", "LAST_GREEN", "compare", "load_runs", "resolve_baseline"]

BASELINE_FILE = "baseline/slo-results.json"
"""Where, inside a reports folder, the last green run's results are kept: the pytest plugin
copies ``slo-results.json`` there after a session with ``--slo-reports`` in which every scenario
passed. ``baseline/`` is not a report, so the next run's folder swap carries it over."""
LAST_GREEN = "last-green"

_LOWER_IS_WORSE = (">=", ">")
_HIGHER_IS_WORSE = ("<=", "<")


def resolve_baseline(given: str | None, reports: Path = Path("reports")) -> Path:
    """Return the baseline file to compare with: ``given``, or for ``last-green`` (and when
    none is given) the last green run kept in ``reports``; HarnessError when there is none."""
    if given is not None and given != LAST_GREEN:
        return Path(given)
    kept = reports / BASELINE_FILE
    if not kept.is_file():
        raise HarnessError(
            f"no last green run in {reports}: {kept} is written by a pytest session with "
            "--slo-reports in which every scenario passed; or name a baseline file"
        )
    return kept


def load_runs(path: Path) -> tuple[str, dict[tuple[str, ...], dict[str, Any]]]:
    """Return (kind, check key → what is compared) from a results or sweep JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HarnessError(f"{path}: cannot read it as JSON: {error}") from None
    if isinstance(data, dict) and data.get("kind") == "sweep":
        return "sweep", _sweep_checks(data)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return "results", _result_checks(data["results"])
    raise HarnessError(f"{path}: neither a results file (slo-results.json) nor a sweep's JSON")


def _result_checks(results: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    checks: dict[tuple[str, ...], dict[str, Any]] = {}
    for result in results:
        scenario = result["scenario"]["name"]
        for name, upstream in result["upstreams"].items():
            for entry in upstream["objectives"]:
                checks[(scenario, name, entry["objective"])] = {
                    "observed": entry["observed"],
                    "samples": entry["samples"],
                    "unit": entry["unit"],
                    "op": entry.get("op"),
                    "passed": entry["passed"],
                }
    return checks


def _sweep_checks(data: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    scenario = data["scenario"]["name"]
    whole = data["scenario_passes"]
    checks: dict[tuple[str, ...], dict[str, Any]] = {
        (scenario, "*", "every check"): _pass_count(whole)
    }
    for entry in data["checks"]:
        checks[(scenario, entry["upstream"], entry["check"])] = _pass_count(entry)
    return checks


def _pass_count(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "observed": summary["pass_probability"],
        "samples": summary["runs"],
        "unit": "ratio",
        "op": ">=",  # a pass probability: lower is worse
        "passed": summary.get("verdict") != "FAIL",
    }


def compare(baseline_path: Path, current_path: Path, confidence: float = 0.95) -> dict[str, Any]:
    """Compare two files of the same kind; return every check's change and verdict."""
    kind, baseline = load_runs(baseline_path)
    current_kind, current = load_runs(current_path)
    if kind != current_kind:
        raise HarnessError(
            f"cannot compare a {current_kind} file ({current_path}) with a {kind} file "
            f"({baseline_path}): compare results with results, sweeps with sweeps"
        )
    rows = [
        _row(key, baseline.get(key), current.get(key), confidence)
        for key in _keys(baseline, current)
    ]
    if not any(row["verdict"] not in ("new", "gone") for row in rows):
        raise HarnessError(f"{current_path} and {baseline_path} have no check in common")
    return {
        "kind": kind,
        "baseline": str(baseline_path),
        "current": str(current_path),
        "confidence": confidence,
        "checks": rows,
        "regressions": sum(row["verdict"] == "REGRESSION" for row in rows),
    }


def _keys(
    baseline: dict[tuple[str, ...], Any], current: dict[tuple[str, ...], Any]
) -> list[tuple[str, ...]]:
    keys = list(current)
    keys += [key for key in baseline if key not in current]
    return keys


def _row(
    key: tuple[str, ...],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    confidence: float,
) -> dict[str, Any]:
    scenario, upstream, check = key
    row: dict[str, Any] = {"scenario": scenario, "upstream": upstream, "check": check}
    shown = after or before or {}
    row.update(unit=shown.get("unit"), baseline=_side(before), current=_side(after))
    if before is None or after is None:
        row["verdict"] = "new" if before is None else "gone"
        return row
    row["verdict"], row["reason"], intervals = _judge(before, after, confidence)
    if intervals is not None:
        row["baseline"]["interval"], row["current"]["interval"] = (i.to_dict() for i in intervals)
    row["now_fails"] = bool(before["passed"]) and not after["passed"]
    return row


def _side(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"observed": entry["observed"], "samples": entry["samples"], "passed": entry["passed"]}


Judged = tuple[str, str, tuple[Interval, Interval] | None]


def _judge(before: dict[str, Any], after: dict[str, Any], confidence: float) -> Judged:
    """Return (verdict, why, the two intervals): REGRESSION, improved, ~ (no significant
    change) or no verdict."""
    old, new, op = before["observed"], after["observed"], after.get("op")
    if not (_is_number(old) and _is_number(new)):
        return ("~", "unchanged", None) if old == new else ("no verdict", "not a number", None)
    if after["unit"] != "ratio" or not before["samples"] or not after["samples"]:
        if old == new:
            return "~", "unchanged", None
        return "no verdict", "one run per side: its spread across runs is unknown; sweep both", None
    intervals = (
        _interval(old, before["samples"], confidence),
        _interval(new, after["samples"], confidence),
    )
    if intervals[0].high >= intervals[1].low and intervals[1].high >= intervals[0].low:
        return "~", "the intervals overlap", intervals
    worse = (
        (new < old) if op in _LOWER_IS_WORSE else (new > old) if op in _HIGHER_IS_WORSE else None
    )
    if worse is None:
        return "no verdict", f"no direction for {op!r}", intervals
    verdict = "REGRESSION" if worse else "improved"
    return verdict, "the intervals do not overlap", intervals


def _interval(rate: float, samples: int, confidence: float) -> Interval:
    successes = min(samples, max(0, round(rate * samples)))  # the rate was successes / samples
    return clopper_pearson(successes, samples, confidence)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
