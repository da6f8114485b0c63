"""Reports: read Results, never change them. Every file is written atomically."""

from __future__ import annotations

from harness.report.files import atomic_write, safe_file_name
from harness.report.json import results_document, write_results
from harness.report.samples import write_samples
from harness.report.text import result_table, summary_table

__all__ = [
    "atomic_write",
    "result_table",
    "results_document",
    "safe_file_name",
    "summary_table",
    "write_results",
    "write_samples",
]
