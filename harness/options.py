"""Values both front ends (``python -m harness`` and the pytest plugin) take from users, checked
the same way before anything runs: seeds, and the paths reports are written to.

Light on purpose (standard library only): the plugin checks its options when pytest starts.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "REPORT_FILES",
    "SEED_LIMIT",
    "check_distinct",
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

    ``-`` (standard output), a character device and a FIFO are written to as they are. A
    symbolic link is written through, so its target is checked. Otherwise the path must not be
    a folder, and its folder must exist or be creatable. Nothing is left behind: the check
    creates and removes a probe only.
    """
    target = Path(path)
    if target == Path("-") or _is_device(target):
        return target
    if target.is_symlink():
        target = Path(os.path.realpath(target))
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
    check_output_folder(path)
    real = check_output_folder(os.path.realpath(path))  # a link is written through
    _check_creatable(real.parent)  # the new set is built beside the folder, then swapped in
    for name in REPORT_FILES:
        if (real / name).is_dir():
            raise ValueError(f"{Path(path) / name} is a folder; the report file cannot be written")
    return Path(path)


def check_distinct(inputs: Sequence[Path], outputs: Sequence[tuple[str, Path]]) -> None:
    """Raise ValueError if an output (named by its option) is an input, or the same file as
    another output: writing it would destroy what is read, or lose one of the two.

    Paths are compared after links are resolved; standard output and devices are exempt
    (several outputs may go to /dev/null), except two outputs both on standard output.
    """
    read = {os.path.realpath(path): path for path in inputs}
    taken: dict[str, str] = {}
    for option, path in outputs:
        key = "-" if path == Path("-") else os.path.realpath(path)
        if key != "-" and _is_device(Path(key)):
            continue
        if key in read:
            raise ValueError(f"{option} {path} would overwrite the scenario {read[key]}")
        if key in taken:
            raise ValueError(f"{option} {path} is the same file as {taken[key]}")
        taken[key] = f"{option} {path}"


def _is_device(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


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
