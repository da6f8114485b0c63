"""Report files: written atomically, alone or as a set that appears whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.report import atomic_write
from harness.report.files import staged


def _fail() -> None:
    raise RuntimeError("killed mid-write")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _current_umask() -> int:
    current = os.umask(0o022)  # this test's own thread only: the test runs nothing else
    os.umask(current)
    return current


def test_a_file_is_written_whole_or_the_old_one_stays(tmp_path: Path) -> None:
    target = atomic_write(tmp_path / "new" / "folder" / "file.txt", "complete")
    assert target.read_text() == "complete"
    with pytest.raises(RuntimeError):
        atomic_write(target, lambda stream: (stream.write("half"), _fail()))
    assert target.read_text() == "complete"  # the old file survives a failed write
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]  # no temporary left


def test_files_get_the_mode_any_new_file_gets_under_the_umask(tmp_path: Path) -> None:
    assert _mode(atomic_write(tmp_path / "a.txt", "x")) == 0o666 & ~_current_umask()
    previous = os.umask(0o027)
    try:
        assert _mode(atomic_write(tmp_path / "b.txt", "x")) == 0o640
    finally:
        os.umask(previous)


def test_writing_never_changes_the_process_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Setting the umask (even to put it back) races with every other thread creating files.
    calls: list[int] = []
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or 0o022)
    atomic_write(tmp_path / "a.txt", "x")
    assert calls == []


def test_a_set_appears_only_when_every_file_is_written(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("old")

    def half_a_set() -> None:
        with staged() as staging:
            staging.write(tmp_path / "old.txt", "new")
            staging.write(tmp_path / "deep" / "er" / "b.txt", "new")
            staging.delete(tmp_path / "old.txt")
            assert not (tmp_path / "deep" / "er" / "b.txt").exists()  # not in place yet
            _fail()

    with pytest.raises(RuntimeError):
        half_a_set()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["old.txt"]  # nothing new, no folder
    assert (tmp_path / "old.txt").read_text() == "old"
    with staged() as staging:
        staging.write(tmp_path / "a.txt", "new")
        staging.delete(tmp_path / "old.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
