"""Outputs never clobber what they name, and text from a scenario never reaches a terminal,
a CI log or a spreadsheet as something other than text."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness.cli import main
from harness.errors import printable
from harness.report.files import csv_cell
from tests.support import ROOT

QUICK = """\
name: "{name}"
duration: 2s
upstreams:
  t1:
    traffic: {{rate: 5/s}}
    slo: [{slo}]
"""
HOSTILE_NAME = '=HYPERLINK(\\"x\\")\\e]0;owned\\a\\e[2J\\r\\nPASS  everything\\u202e'


@pytest.fixture
def quick(tmp_path: Path) -> Path:
    path = tmp_path / "quick.yaml"
    path.write_text(QUICK.format(name="quick", slo="success_rate >= 90%"))
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(QUICK.format(name=HOSTILE_NAME, slo="requests >= 1000"))
    return path


def test_json_to_stdout_prints_only_the_json(
    quick: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(quick), "--json", "-", "--no-run-info"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["passed"] is True  # the tables went to stderr
    assert "PASS  quick" in err


def test_a_character_device_is_written_to_not_replaced(quick: Path) -> None:
    before = os.stat("/dev/null")
    assert main(["run", str(quick), "--json", "/dev/null", "--samples", "/dev/null"]) == 0
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_mode, after.st_rdev) == (
        before.st_ino,
        before.st_mode,
        before.st_rdev,
    )


def test_a_fifo_is_written_to_directly(quick: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    assert main(["run", str(quick), "--json", str(fifo), "--no-run-info"]) == 0
    out, _ = reader.communicate(timeout=60)
    assert json.loads(out)["passed"] is True
    assert fifo.is_fifo()


def test_a_symlink_is_written_through_and_stays_a_link(quick: Path, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    reports_target = tmp_path / "real" / "reports"
    reports_link = tmp_path / "reports"
    reports_link.symlink_to(reports_target, target_is_directory=True)
    assert main(["run", str(quick), "--json", str(link), "--reports", str(reports_link)]) == 0
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert json.loads(target.read_text())["passed"] is True
    assert reports_link.is_symlink()
    assert (reports_target / "junit.xml").is_file()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--json", "{input}"],
        ["--samples", "{input}"],
        ["--json", "{tmp}/same", "--samples", "{tmp}/same"],
        ["--json", "{tmp}/r/slo-results.json", "--reports", "{tmp}/r"],
        ["--json", "-", "--samples", "-"],
        ["--reports", "{tmp}"],  # the folder holding the scenario is replaced whole
    ],
)
def test_an_output_that_is_an_input_or_another_output_is_a_usage_error(
    quick: Path, tmp_path: Path, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = quick.read_text()
    filled = [part.format(input=quick, tmp=tmp_path) for part in arguments]
    assert main(["run", str(quick), *filled]) == 2
    assert "error: " in capsys.readouterr().err
    assert quick.read_text() == text
    assert not (tmp_path / "same").exists()


def test_a_linked_input_is_recognised_as_the_input(quick: Path, tmp_path: Path) -> None:
    link = tmp_path / "alias.json"
    link.symlink_to(quick)
    assert main(["run", str(quick), "--json", str(link)]) == 2
    assert quick.read_text() == QUICK.format(name="quick", slo="success_rate >= 90%")


def test_printable_escapes_every_control_character() -> None:
    assert printable("a\x1b[2Jb\r\nc\td\x07\x85\u202e\u2028é✓") == (
        "a\\x1b[2Jb\\r\\nc\\td\\x07\\x85\\u202e\\u2028é✓"
    )


def test_a_hostile_name_reaches_no_terminal_raw(
    hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples, reports = tmp_path / "s.csv", tmp_path / "reports"
    assert main(["run", str(hostile), "--samples", str(samples), "--reports", str(reports)]) == 1
    assert main(["validate", str(hostile)]) == 0
    out, err = capsys.readouterr()
    for raw in ("\x1b", "\r", "\x07", "\u202e"):
        assert raw not in out + err
    assert "\nPASS  everything" not in out
    assert "\\x1b[2J\\r\\nPASS  everything" in out
    messages = [
        element.get("message") or ""
        for element in ElementTree.parse(reports / "junit.xml").iter()
        if element.tag in ("failure", "error")
    ]
    assert messages
    for message in messages:
        assert not {"\x1b", "\r", "\n"} & set(message)
    with samples.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert {row[0] for row in rows[1:]} == {
        '\'=HYPERLINK("x")\x1b]0;owned\x07\x1b[2J\r\nPASS  everything\u202e'
    }


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("-1.5", "-1.5"),
        ("vertex", "vertex"),
        (-3, -3),
        (None, None),
    ],
)
def test_csv_cells_that_read_as_formulas_are_neutralised(cell: object, safe: object) -> None:
    assert csv_cell(cell) == safe


def test_python_m_harness_does_not_import_from_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "pybreaker.py").write_text("raise SystemExit('the stray pybreaker.py ran')\n")
    (tmp_path / "s.yaml").write_text(
        "duration: 2s\nengine: direct\nupstreams:\n  t1:\n    traffic: {rate: 5/s}\n"
        "    breaker: {impl: pybreaker}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "s.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "stray" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
