"""The machine-readable results file (``slo-results.json``): every result of a session.

``{schema_version, harness_version, passed, results: [...], errors: [...]}``. ``errors`` lists
the scenarios that produced no result: a file that failed to load (``stage: "collection"``) or
a run that crashed (``"setup"``, ``"call"``, ``"teardown"``), each with ``file``, ``name``
(null if unknown) and the ``error`` text. ``passed`` is true only when there was at least one
result, every result passed and nothing errored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.report.files import atomic_write
from harness.verdicts.result import RESULT_SCHEMA_VERSION, Result
from harness.version import __version__

__all__ = ["error_entry", "error_order", "results_document", "results_text", "write_results"]

Entries = Iterable[Result | Mapping[str, Any]]


def error_entry(*, file: str | None, name: str | None, stage: str, error: str) -> dict[str, Any]:
    """Return the record of a scenario that produced no result, as every report reads it."""
    return {"file": file, "name": name, "stage": stage, "error": error}


def results_document(
    results: Entries, *, errors: Iterable[Mapping[str, Any]] = (), run_info: bool = True
) -> dict[str, Any]:
    """Return the results file's content; results may already be in their JSON form."""
    entries = [
        item.to_dict(run_info=run_info) if isinstance(item, Result) else dict(item)
        for item in results
    ]
    if not run_info:
        for entry in entries:
            entry.pop("run_info", None)
    entries.sort(key=lambda entry: (str(entry["scenario"].get("file")), entry["scenario"]["name"]))
    failures = sorted((dict(error) for error in errors), key=error_order)
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "harness_version": __version__,
        "passed": bool(entries) and not failures and all(entry["passed"] for entry in entries),
        "results": entries,
        "errors": failures,
    }


def error_order(error: Mapping[str, Any]) -> tuple[str, str, str]:
    """Return the key errors are listed by in every report: file, name, stage."""
    return (str(error.get("file")), str(error.get("name")), str(error.get("stage")))


def results_text(
    results: Entries, *, errors: Iterable[Mapping[str, Any]] = (), run_info: bool = True
) -> str:
    """Return the results file's text: keys sorted, so equal runs give equal bytes."""
    document = results_document(results, errors=errors, run_info=run_info)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_results(
    path: str | Path,
    results: Entries,
    *,
    errors: Iterable[Mapping[str, Any]] = (),
    run_info: bool = True,
) -> Path:
    """Write the results file atomically."""
    return atomic_write(path, results_text(results, errors=errors, run_info=run_info))
