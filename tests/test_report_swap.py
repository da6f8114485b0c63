"""A reports folder always holds one run's complete set: killed at any step of writing a new
set, it holds the old set or the new one, and the next run removes whatever was left over.

A kill is simulated deterministically: a forked child writes the new set with every file
system step counted, and ends itself with ``os._exit`` (no cleanup, as SIGKILL) at step k,
for every k until the write completes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import harness.report.bundle as bundle_module
import harness.report.swap as swap_module
from harness.cli import main
from harness.engines.runner import run
from harness.format.loader import parse_scenario
from harness.report.bundle import write_reports
from harness.report.digest import digest

SCENARIO = """\
name: swapped
duration: 3s
upstreams:
  t1:
    failure_rate: 30%
    traffic: {rate: 10/s}
    slo: [success_rate >= 50%]
"""
STEPS = [
    (os, "replace"),
    (os, "rename"),
    (os, "link"),
    (os, "symlink"),
    (os, "unlink"),
    (os, "rmdir"),
    (os, "mkdir"),
    (shutil, "rmtree"),
    (swap_module, "_renameat2_exchange"),
]
Pairs = list[tuple[dict[str, Any], dict[str, Any]]]


def _pairs(seed: int, name: str) -> Pairs:
    result = run(parse_scenario(SCENARIO.replace("swapped", name), "s.yaml"), seed=seed)
    return [(result.to_dict(run_info=False), digest(result))]


@pytest.fixture(scope="module")
def sets() -> tuple[Pairs, Pairs]:
    """Two runs that differ in every file, and in their scenario folder's name."""
    return _pairs(1, "first"), _pairs(2, "second")


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def _written(pairs: Pairs, folder: Path) -> dict[str, bytes]:
    write_reports(folder, pairs)
    return _files(folder)


def _killed_at(step: int, folder: Path, pairs: Pairs) -> bool:
    """Write ``pairs`` into ``folder`` in a child that dies at file-system step ``step``;
    return whether the write finished first."""
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        count = [0]
        for module, name in STEPS:
            setattr(module, name, _counting(getattr(module, name), count, step))
        try:
            write_reports(folder, pairs)
        finally:
            os._exit(0 if count[0] < step else 9)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _counting(function: Callable[..., Any], count: list[int], step: int) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        if count[0] == step:
            os._exit(9)  # as SIGKILL: no finally, no cleanup
        return function(*args, **kwargs)

    return counted


def _mine(folder: Path) -> dict[str, bytes]:
    """The folder's files but someone's notes, and the mark of a swap killed just after it
    (the set is whole then; the next run removes the mark)."""
    skipped = ("notes", swap_module.UNFINISHED)
    return {name: data for name, data in _files(folder).items() if not name.startswith(skipped)}


def _cheap_page(pairs: Pairs, errors: object) -> str:
    """A stand-in for the HTML page: the swap is under test here, not the page (its charts
    cost ~0.2 s a write, and this test writes three sets at every step)."""
    return "<html>" + ",".join(str(entry["seed"]) for entry, _ in pairs) + "</html>"


def test_a_kill_at_any_step_leaves_one_complete_set(
    sets: tuple[Pairs, Pairs], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle_module, "_html", _cheap_page)
    old_set, new_set = sets
    expected_old = _written(old_set, tmp_path / "old")
    expected_new = _written(new_set, tmp_path / "new")
    assert expected_old.keys() != expected_new.keys()
    assert _written(new_set, tmp_path / "again") == expected_new  # the bytes are the run's
    folder = tmp_path / "reports"
    finished, step = False, 0
    while not finished:
        step += 1
        assert step < 500, "the write never finished"
        shutil.rmtree(folder, ignore_errors=True)
        write_reports(folder, old_set)
        (folder / "notes").mkdir()
        (folder / "notes" / "mine.txt").write_text("someone's")
        (folder / ".gitkeep").write_text("")
        finished = _killed_at(step, folder, new_set)
        if folder.exists():
            left = _mine(folder)
            left.pop(".gitkeep", None)  # linked before the swap, so at times in both
            assert left in (expected_old, expected_new), f"mixed at step {step}"
        write_reports(folder, new_set)  # the next run repairs and cleans up
        assert not (folder / swap_module.UNFINISHED).exists()
        assert _mine(folder) == {**expected_new, ".gitkeep": b""}
        assert (folder / "notes" / "mine.txt").read_text() == "someone's"
        assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []
        assert not list(folder.rglob("*.tmp"))
    assert step > 10  # the write has many steps, and a kill was tried at each


def test_deleting_never_follows_a_link(sets: tuple[Pairs, Pairs], tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("timeseries.csv", "p95-results.json", "status.json"):
        (outside / name).write_text("not the harness's")
    folder = tmp_path / "reports"
    write_reports(folder, sets[0])
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    write_reports(folder, sets[1])
    assert sorted(path.name for path in outside.iterdir()) == [
        "p95-results.json",
        "status.json",
        "timeseries.csv",
    ]
    assert (folder / "linked").is_symlink()


def test_interrupts_wait_until_the_files_are_in_place() -> None:
    """In a process of its own: signals go to the main thread, which an xdist worker's test
    may not run in (and a worker ignores SIGINT, which its children inherit)."""
    program = (
        "import os, signal\n"
        "from harness.report.files import interrupts_held\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # xdist ignores SIGINT
        "reached = []\n"
        "try:\n"
        "    with interrupts_held():\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        reached.append('the block goes on')\n"
        "except KeyboardInterrupt:\n"
        "    print('delivered after', reached)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert done.stdout == "delivered after ['the block goes on']\n"


def test_ctrl_c_ends_in_one_line_exit_130_and_the_old_set_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    folder = tmp_path / "reports"
    assert main(["run", str(scenario), "--reports", str(folder)]) == 0
    before = _files(folder)
    capsys.readouterr()

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("harness.cli.run", interrupted)
    assert main(["run", str(scenario), "--reports", str(folder), "--seed", "9"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert _files(folder) == before
