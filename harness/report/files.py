"""Write report files atomically, alone or as a set, under names that cannot escape their folder.

A set of reports is written through a :class:`Staging` (``with staged() as staging:``): each
file is written in full to a temporary name beside its target as soon as it is rendered, so
nothing waits in memory; when the block ends, every file is put in place (``os.replace``,
atomic per file). If anything fails first (a chart, a full disk), every temporary and every
folder the staging made is removed: a failed run writes nothing new.

Temporary files are created with mode 0o666 and the kernel applies the umask (and any default
ACL), as for any new file; the process umask is never read or changed, which would race with
other threads.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["Staging", "atomic_write", "safe_file_name", "staged"]

Content = Callable[[IO[str]], None] | str
"""The text of a file, or a function that writes it to the open file."""


class Staging:
    """Files written under temporary names, put in place together by :meth:`commit`."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)
        self._deletions: list[Path] = []
        self._made: list[Path] = []  # folders created here, outermost first

    def write(self, path: str | Path, content: Content) -> Path:
        """Write ``content`` for ``path`` under a temporary name beside it; return ``path``."""
        target = Path(path)
        self._make_folder(target.parent)
        handle, temporary = _create_beside(target)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                if isinstance(content, str):
                    stream.write(content)
                else:
                    content(stream)
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._pending.append((temporary, target))
        return target

    def delete(self, path: str | Path) -> None:
        """Remove ``path`` (a file, or an empty folder) when the staging is committed."""
        self._deletions.append(Path(path))

    def commit(self) -> list[Path]:
        """Put every staged file in place and make the deletions; return the files."""
        placed: list[Path] = []
        try:
            for temporary, target in self._pending:
                os.replace(temporary, target)
                placed.append(target)
        finally:
            self._pending = self._pending[len(placed) :]
            self.discard()
        for path in self._deletions:
            if not path.is_dir():
                path.unlink(missing_ok=True)
                continue
            with contextlib.suppress(OSError):  # something else lives there now: leave it
                path.rmdir()
        self._deletions = []
        return placed

    def discard(self) -> None:
        """Remove every temporary not yet in place, and the folders made for them if empty."""
        for temporary, _ in self._pending:
            temporary.unlink(missing_ok=True)
        self._pending = []
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):  # not empty: a file placed, or someone else's
                folder.rmdir()
        self._made = []

    def _make_folder(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for made in reversed(missing):
            made.mkdir(exist_ok=True)
            self._made.append(made)


@contextmanager
def staged() -> Iterator[Staging]:
    """Yield a :class:`Staging`; commit it when the block ends, discard it if the block raises."""
    staging = Staging()
    try:
        yield staging
    except BaseException:
        staging.discard()
        raise
    staging.commit()


def atomic_write(path: str | Path, write: Content) -> Path:
    """Write ``path`` all at once: readers see the old file or the whole new one, never half.

    ``write`` is the text, or a function that writes to the open file. Missing parent folders
    are created.
    """
    with staged() as staging:
        staging.write(path, write)
    return Path(path)


def _create_beside(target: Path) -> tuple[int, Path]:
    """Create and open a new, uniquely named hidden file next to ``target``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:  # a clash of 48 random bits: draw again
            continue


def safe_file_name(name: str, suffix: str = "") -> str:
    """Return ``name`` reduced to a plain file name (no folders, no dots first) plus ``suffix``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "scenario"
    return stem[:100] + suffix
