"""The command line's progress bar (on a terminal only) and its --reports folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.progress import Progress
from tests.reporting import HOSTILE, write_scenarios


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_shows_virtual_time_covered_on_a_terminal() -> None:
    terminal = _Terminal()
    progress = Progress(total_ns=4 * 60 * 10**9, scenarios=2, stream=terminal, width=200)
    progress.start("first")
    progress.reached(30 * 10**9)
    assert progress.line() == (
        "[###---------------------]  12%  0/2 scenarios  0:30/4:00 virtual  running first"
    )
    progress.finish(60 * 10**9)
    progress.start("second\x1b[2J")
    progress.finish(3 * 60 * 10**9)
    assert progress.line() == "[########################] 100%  2/2 scenarios  4:00/4:00 virtual"
    progress.close()
    assert "running second?[2J" in terminal.getvalue()  # no escape reaches the terminal
    assert terminal.getvalue().endswith("\r\x1b[K")


@pytest.mark.parametrize(
    ("covered_s", "total_s", "shown"),
    [
        (66, 600, "1:06/10:00"),  # once "66s/10m"
        (114, 600, "1:54/10:00"),
        (59.9, 60, "0:59/1:00"),  # never claims time not yet covered
        (3725, 7200, "1:02:05/2:00:00"),  # past an hour, both as h:mm:ss
        (5, 3600, "0:00:05/1:00:00"),
    ],
)
def test_covered_and_total_time_read_alike(covered_s: float, total_s: int, shown: str) -> None:
    progress = Progress(total_ns=total_s * 10**9, scenarios=1, stream=_Terminal())
    progress.start("x")
    progress.reached(int(covered_s * 10**9))
    assert f"  {shown} virtual" in progress.line()


def test_the_bar_stays_out_of_pipes_and_logs() -> None:
    pipe = io.StringIO()
    progress = Progress(total_ns=10**9, scenarios=1, stream=pipe)
    progress.start("x")
    progress.finish(10**9)
    progress.close()
    assert pipe.getvalue() == ""


def test_run_writes_every_report_into_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_scenarios(tmp_path / "scenarios", hostile=HOSTILE)
    code = main(["run", str(tmp_path / "scenarios"), "--reports", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr()
    assert "reports written to" in out.out
    assert out.err == ""  # not a terminal: no progress bar
    assert (tmp_path / "out" / "junit.xml").exists()
    assert (tmp_path / "out" / "script-alert-1-script" / "timeseries.csv").exists()


@pytest.mark.parametrize("width", [40, 80, 200])
def test_every_redraw_fits_one_line_of_the_terminal(width: int) -> None:
    terminal = _Terminal()
    hour = 3600 * 10**9
    progress = Progress(total_ns=2 * hour, scenarios=2, stream=terminal, width=width)
    progress.start("vertex-outage-recovery-with-a-name-long-enough-to-wrap-at-eighty")
    for percent in range(1, 101):  # the run reports every 1% of its duration
        progress.reached(hour * percent // 100)
    progress.finish(hour)
    progress.close()
    drawn = terminal.getvalue().split("\r\x1b[K")
    assert len(drawn) == 1 + 1 + 100 + 1 + 1  # before, start, each 1%, finish, close
    # Shorter than the width (the last column may wrap on some terminals), so \r redraws in
    # place: the whole run leaves exactly one line.
    longest = max(len(text) for text in drawn)
    assert longest <= width - 1
    assert all("\n" not in text for text in drawn)
    cut = [text for text in drawn if text.endswith("…")]
    assert bool(cut) == (width < 145)  # the running line is 144 characters long
    assert all(len(text) == width - 1 for text in cut)
