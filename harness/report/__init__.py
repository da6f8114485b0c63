"""Reports: read Results, never change them. Every file is written atomically.

Everything but the HTML page and the OpenMetrics export needs only the core dependencies;
those two need the ``report`` extra and are imported only when written.
"""

from __future__ import annotations

from harness.report.bundle import write_reports
from harness.report.digest import digest
from harness.report.files import atomic_write, safe_file_name
from harness.report.json import results_document, write_results
from harness.report.junit import write_junit
from harness.report.samples import write_samples
from harness.report.text import result_table, summary_table

__all__ = [
    "atomic_write",
    "digest",
    "result_table",
    "results_document",
    "safe_file_name",
    "summary_table",
    "write_junit",
    "write_reports",
    "write_results",
    "write_samples",
]
