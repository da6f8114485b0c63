"""The machine-readable results file (``slo-results.json``): every result of a session."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.report.files import atomic_write
from harness.result import RESULT_SCHEMA_VERSION, Result

__all__ = ["results_document", "write_results"]


def results_document(
    results: Iterable[Result | Mapping[str, Any]], *, run_info: bool = True
) -> dict[str, Any]:
    """Return the results file's content; results may already be in their JSON form."""
    from harness import __version__

    entries = [
        item.to_dict(run_info=run_info) if isinstance(item, Result) else dict(item)
        for item in results
    ]
    if not run_info:
        for entry in entries:
            entry.pop("run_info", None)
    entries.sort(key=lambda entry: (str(entry["scenario"].get("file")), entry["scenario"]["name"]))
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "harness_version": __version__,
        "passed": all(entry["passed"] for entry in entries),
        "results": entries,
    }


def write_results(
    path: str | Path, results: Iterable[Result | Mapping[str, Any]], *, run_info: bool = True
) -> Path:
    """Write the results file atomically; keys sorted so equal runs give equal bytes."""
    document = results_document(results, run_info=run_info)
    return atomic_write(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
