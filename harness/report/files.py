"""Write report files atomically, under names that cannot escape their folder."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "safe_file_name"]


def atomic_write(path: str | Path, write: Callable[[IO[str]], None] | str) -> Path:
    """Write ``path`` all at once: readers see the old file or the whole new one, never half.

    ``write`` is the text, or a function that writes to the open file. Missing parent folders
    are created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            if isinstance(write, str):
                stream.write(write)
            else:
                write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; reports are for sharing
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def safe_file_name(name: str, suffix: str = "") -> str:
    """Return ``name`` reduced to a plain file name (no folders, no dots first) plus ``suffix``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "scenario"
    return stem[:100] + suffix
