"""Replace a whole reports folder at once, so it always holds one run's complete set.

A new set is written into a fresh hidden sibling (``.reports.new-<hex>``); when every file is
there, whatever else the old folder held (files that are not reports: a ``.gitkeep``, notes)
is carried over, and the two folders are exchanged in one step (Linux ``renameat2`` with
``RENAME_EXCHANGE``; elsewhere two renames, with the gap repaired by the next run). The old
set, now in ``.reports.old-<hex>``, is then removed. A run killed at any moment leaves the old
set or the new one in place, plus at most a hidden sibling that the next run removes.

Deleting never follows a symbolic link: ``shutil.rmtree`` removes a link, not what it points
to, and only the hidden siblings this module names are ever removed whole.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["clear_leftovers", "fresh_sibling", "real_folder", "swap_in"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
UNFINISHED = ".slo-harness-unfinished"
"""A mark in a folder being filled with a new set: a sibling holding it after a kill is an
unfinished set (removed whole); one without it is an old set swapped out."""
Ours = Callable[[Path], bool | None]
"""Whether an entry of a reports folder is a report an earlier run wrote (True: it goes), is
someone else's (False: it is kept), or is a folder of reports that may hold someone's files
(None: its entries are asked about)."""
_SIBLING = re.compile(r"\.(?P<name>.+)\.(?P<kind>new|old|dead)-[0-9a-f]{12}")


def real_folder(folder: Path) -> Path:
    """Return ``folder`` with symbolic links resolved: a linked reports folder is written
    through to its target, and the link stays as it is."""
    return Path(os.path.realpath(folder))


def fresh_sibling(folder: Path, ours: Ours) -> Path:
    """Create and return an empty hidden folder beside ``folder`` for a new set (after
    repairing what an earlier run left, see :func:`clear_leftovers`)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    clear_leftovers(folder, ours)
    while True:
        sibling = folder.with_name(f".{folder.name}.new-{secrets.token_hex(6)}")
        try:
            sibling.mkdir()
        except FileExistsError:  # 48 random bits clashed: draw again
            continue
        (sibling / UNFINISHED).touch()
        return sibling


def swap_in(new: Path, folder: Path, ours: Ours) -> None:
    """Put the set in ``new`` at ``folder``; carry over every entry of the old folder that
    ``ours`` says is not a report of an earlier run. Call with interrupts held."""
    if not folder.exists():
        new.rename(folder)
        (folder / UNFINISHED).unlink()
        return
    later = _carry(folder, new, ours)
    old = _exchange(new, folder)
    for part in later:  # folders cannot be linked: moved once the new set is in place
        with contextlib.suppress(OSError):
            os.rename(old / part, folder / part)
    (folder / UNFINISHED).unlink()
    _remove(old, folder)


def _remove(old: Path, folder: Path) -> None:
    """Remove an old set: renamed first, so a kill halfway through removing it leaves a
    folder the next run knows to remove whole, not a half set that looks like someone's."""
    dead = folder.with_name(f".{folder.name}.dead-{secrets.token_hex(6)}")
    os.rename(old, dead)
    shutil.rmtree(dead, ignore_errors=True)


def _carry(source: Path, new: Path, ours: Ours) -> list[Path]:
    """Carry what ``source`` holds that is not a report into ``new``: link files now; return
    the folders to move after the swap (relative paths)."""
    later: list[Path] = []
    for entry in _entries(source):
        verdict = True if entry.name == UNFINISHED else ours(entry)
        if verdict is True:
            continue
        clash = entry.is_dir() and not entry.is_symlink() and (new / entry.name).is_dir()
        if verdict is None or clash:  # its entries are asked about, or merged into the new
            (new / entry.name).mkdir(exist_ok=True)
            inner = ours if verdict is None else _keep
            later += [entry.name / part for part in _carry(entry, new / entry.name, inner)]
            with contextlib.suppress(OSError):
                (new / entry.name).rmdir()  # nothing of someone's in it, none in the new set
        elif not _carry_now(entry, new / entry.name):
            later.append(Path(entry.name))
    return later


def clear_leftovers(folder: Path, ours: Ours) -> None:
    """Repair what a run killed during a swap left beside ``folder``: put an old set back if
    the folder is missing, carry over folders that are not reports and were not yet moved,
    and remove every hidden sibling."""
    if not folder.parent.is_dir():
        return
    for sibling in sorted(_siblings(folder)):
        kind = _SIBLING.fullmatch(sibling.name)
        if kind and kind["kind"] == "old" and not os.path.lexists(folder):
            os.rename(sibling, folder)  # killed between two renames: the old set goes back
            continue
        old = kind is not None and kind["kind"] != "dead" and not (sibling / UNFINISHED).exists()
        if old:  # an old set, swapped out: its folders that
            for entry in _entries(sibling):  # are not reports may not have been moved yet
                moved = entry.is_dir() and not entry.is_symlink() and ours(entry) is False
                if moved and not os.path.lexists(folder / entry.name):
                    with contextlib.suppress(OSError):
                        os.rename(entry, folder / entry.name)
        shutil.rmtree(sibling, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (folder / UNFINISHED).unlink()  # killed just after a swap: the set is whole


def _siblings(folder: Path) -> Iterable[Path]:
    for entry in folder.parent.iterdir():
        found = _SIBLING.fullmatch(entry.name)
        if found and found["name"] == folder.name and not entry.is_symlink():
            yield entry


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _keep(entry: Path) -> bool:
    return False


def _carry_now(entry: Path, target: Path) -> bool:
    """Link a file (or symbolic link) into the new set; return False for a folder, moved after
    the swap. A name the new set also has is the new set's."""
    if os.path.lexists(target):
        return True
    if entry.is_symlink():
        os.symlink(os.readlink(entry), target)
        return True
    if entry.is_dir():
        return False
    try:
        os.link(entry, target, follow_symlinks=False)
    except OSError:  # a file system without hard links: copy it
        shutil.copy2(entry, target, follow_symlinks=False)
    return True


def _exchange(new: Path, folder: Path) -> Path:
    """Put ``new`` at ``folder``, in one step where possible; return where the old set is."""
    if _renameat2_exchange(new, folder):
        return new  # the two swapped: `new` names the old set now
    old = folder.with_name(f".{folder.name}.old-{secrets.token_hex(6)}")
    os.rename(folder, old)  # a kill here leaves no folder: clear_leftovers puts `old` back
    os.rename(new, folder)
    return old


def _renameat2_exchange(first: Path, second: Path) -> bool:
    """Exchange two paths atomically; return False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    done = function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))
