"""Values both front ends (``python -m harness`` and the pytest plugin) take from users, checked
the same way before anything runs: seeds, and the paths reports are written to.

Light on purpose (standard library only): the plugin checks its options when pytest starts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = [
    "REPORT_FILES",
    "SEED_LIMIT",
    "check_output_file",
    "check_output_folder",
    "check_reports_folder",
    "parse_seed",
]

SEED_LIMIT = 2**63
"""Seeds are whole numbers in [0, 2**63), as a scenario's ``seed:`` and :func:`harness.run`."""


REPORT_FILES = (
    "junit.xml",
    "slo-metrics.prom",
    "slo-metrics.txt",
    "slo-report.html",
    "slo-results.json",
)
"""The session files a reports folder holds (see harness.report.bundle)."""


def parse_seed(text: str | int) -> int:
    """Return ``text`` as a seed; raise ValueError saying what is wrong."""
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(f"expected a seed between 0 and 2**63-1, got {value}")
    return value


def check_output_file(path: str | Path) -> Path:
    """Return ``path`` if a file can be written there; raise ValueError saying why not.

    The path must not be a folder, and its folder must exist or be creatable. Nothing is left
    behind: the check creates and removes a probe only.
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{target} is a folder; expected a file path")
    _check_creatable(target.parent)
    return target


def check_output_folder(path: str | Path) -> Path:
    """Return ``path`` if files can be written into it; raise ValueError saying why not."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ValueError(f"{target} is a file; expected a folder")
    _check_creatable(target)
    return target


def check_reports_folder(path: str | Path) -> Path:
    """Return ``path`` if a reports folder can be written there (see check_output_folder),
    and none of its session files is a folder; raise ValueError saying why not."""
    target = check_output_folder(path)
    for name in REPORT_FILES:
        if (target / name).is_dir():
            raise ValueError(f"{target / name} is a folder; the report file cannot be written")
    return target


def _check_creatable(folder: Path) -> None:
    """Raise ValueError unless ``folder`` exists and takes new files, or can be created."""
    existing = folder
    while not existing.exists():  # the nearest ancestor that exists
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"cannot create {folder}: {existing} is a file")
    # Asking the file system is the only reliable test: permissions, read-only mounts, /proc
    # and full disks all answer here, and os.access() is wrong for root and for ACLs.
    try:
        probe = tempfile.mkdtemp(prefix=".slo-harness-probe-", dir=existing)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(
            f"cannot write to {folder}: {existing} refuses new files ({reason})"
        ) from None
    os.rmdir(probe)
