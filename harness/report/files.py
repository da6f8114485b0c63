"""Write report files atomically, alone or as a set, under names that cannot escape their folder.

A set of reports is written through a :class:`Staging` (``with staged() as staging:``): each
file is written in full to a temporary name beside its target as soon as it is rendered, so
nothing waits in memory; when the block ends, every file is put in place (``os.replace``,
atomic per file), and a whole folder staged with :meth:`Staging.swap_folder` is swapped in at
once (:mod:`harness.report.swap`). Interrupts (Ctrl-C, SIGTERM) wait until that is done. If
anything fails first (a chart, a full disk), every temporary and every folder the staging made
is removed: a failed run writes nothing new.

Outputs never clobber what they name: ``-`` is standard output; a character device or a FIFO
(``/dev/null``, ``/dev/stdout``, a pipe) is written to directly, when the set is committed; a
symbolic link is written through to its target and stays a link. Temporaries an earlier,
killed run left beside a target are removed.

Temporary files are created with mode 0o666 and the kernel applies the umask (and any default
ACL), as for any new file; the process umask is never read or changed, which would race with
other threads.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from harness.report.swap import Ours, fresh_sibling, real_folder, swap_in

__all__ = [
    "STDOUT",
    "Staging",
    "atomic_write",
    "csv_cell",
    "interrupts_held",
    "is_stream",
    "safe_file_name",
    "staged",
]

STDOUT = Path("-")
"""The output path that means standard output."""
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")

Content = Callable[[IO[str]], None] | str
"""The text of a file, or a function that writes it to the open file."""


class Staging:
    """Files written under temporary names, put in place together by :meth:`commit`."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)
        self._deletions: list[Path] = []
        self._made: list[Path] = []  # folders created here, outermost first
        self._direct: list[tuple[Path, Content]] = []  # standard output, devices, FIFOs
        self._swaps: list[tuple[Path, Path, Ours]] = []  # (new folder, folder, ours)

    def swap_folder(self, folder: str | Path, ours: Ours) -> Path:
        """Return a fresh, empty folder to write a set into; at commit it replaces ``folder``
        whole, keeping the old folder's entries that ``ours`` says are not reports."""
        target = real_folder(Path(folder))
        new = fresh_sibling(target, ours)
        self._swaps.append((new, target, ours))
        return new

    def write(self, path: str | Path, content: Content) -> Path:
        """Write ``content`` for ``path`` under a temporary name beside it; return ``path``.

        Standard output (``-``), a character device and a FIFO are written to at commit
        instead; a symbolic link is written through to its target.
        """
        if is_stream(path):
            self._direct.append((Path(path), content))
            return Path(path)
        target = Path(path)
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        self._make_folder(target.parent)
        _remove_stale_temporaries(target)
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
        return Path(path)

    def delete(self, path: str | Path) -> None:
        """Remove ``path`` (a file, or an empty folder) when the staging is committed."""
        self._deletions.append(Path(path))

    def commit(self) -> list[Path]:
        """Put every staged file and folder in place, make the deletions, then write the
        streams; return the files placed. Interrupts wait until the files are in place."""
        with interrupts_held():
            placed = self._place()
        for target, content in self._direct:
            _write_stream(target, content)
        self._direct = []
        return placed

    def _place(self) -> list[Path]:
        placed: list[Path] = []
        try:
            for temporary, target in self._pending:
                os.replace(temporary, target)
                placed.append(target)
            while self._swaps:
                new, folder, ours = self._swaps[0]
                swap_in(new, folder, ours)
                self._swaps.pop(0)
        finally:
            self._pending = self._pending[len(placed) :]
            self._discard_files()
        for path in self._deletions:
            if not path.is_dir():
                path.unlink(missing_ok=True)
                continue
            with contextlib.suppress(OSError):  # something else lives there now: leave it
                path.rmdir()
        self._deletions = []
        return placed

    def discard(self) -> None:
        """Remove every temporary not yet in place, and the folders made for them if empty;
        write nothing to the streams."""
        self._direct = []
        self._discard_files()

    def _discard_files(self) -> None:
        for temporary, _ in self._pending:
            temporary.unlink(missing_ok=True)
        self._pending = []
        for new, _, _ in self._swaps:
            shutil.rmtree(new, ignore_errors=True)  # removes links, never what they point to
        self._swaps = []
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


def is_stream(path: str | Path) -> bool:
    """Return whether ``path`` is standard output (``-``), or names a character device or a
    FIFO (after links): places written to directly, never replaced by a file."""
    if Path(path) == STDOUT:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then deliver the first that came,
    so a set of files is never left half in place by Ctrl-C; only the main thread can.

    The signals are caught by a handler that notes them rather than masked: numpy's threads
    would take a masked signal for the process, and Python would raise in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    numbers: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for number in numbers:
        if signal.getsignal(number) is not None:  # None: a handler Python cannot put back
            previous[number] = signal.signal(number, lambda got, _: caught.append(got))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            signal.raise_signal(caught[0])


def _write_stream(target: Path, content: Content) -> None:
    if target == STDOUT:
        stream: IO[str] = sys.stdout
        _fill(stream, content)
        stream.flush()
        return
    with open(target, "w", encoding="utf-8", newline="") as device:
        _fill(device, content)


def _fill(stream: IO[str], content: Content) -> None:
    if isinstance(content, str):
        stream.write(content)
    else:
        content(stream)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove the temporaries a killed run left beside ``target`` (``.NAME.<hex>.tmp``)."""
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            ours = entry.name.startswith(prefix) and _TEMPORARY.fullmatch(entry.name)
            if ours and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


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


_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Return ``value`` safe as a CSV cell: text a spreadsheet would run as a formula (starting
    with ``= + - @``, a tab or CR) gets a leading ``'`` (OWASP's CSV-injection rule); numbers,
    and text that is a number (``-1.5``), are left as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_LEAD):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value
