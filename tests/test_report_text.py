"""Terminal tables: verdict first, failing rows first, fitted to the width, in colour on a TTY."""

from __future__ import annotations

import copy
import io
import re

import pytest

from harness import Result
from harness.report.layout import (
    VERDICT_STYLES,
    Column,
    fit_table,
    terminal_width,
    use_colour,
    verdict_rank,
)
from harness.report.text import result_table, summary_table
from tests.reporting import OUTAGE, outage, pair, run_text

__all__ = ["outage"]  # fixtures

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG = OUTAGE.replace(
    "name: outage-demo", "name: " + "a-scenario-with-a-very-long-name-" * 3
).replace(
    "opens >= 1, final_state == CLOSED]\n",
    "opens >= 1, final_state == CLOSED]\n"
    "    expect: [{opens: {within: 5s, after_start_of: outage}}, half_open_trials: {at_most: 3}]\n",
)


@pytest.fixture(scope="module")
def long_named() -> Result:
    return run_text(LONG, "scenarios/long.yaml")


@pytest.mark.parametrize("width", [80, 100, 200])
def test_the_result_table_fits_the_width(long_named: Result, width: int) -> None:
    text = result_table(long_named, width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert lines[0].startswith("FAIL  a-scenario-with")
    assert ("…" in lines[0]) == (width < 140)
    assert lines[1].split() == ["verdict", "upstream", "check", "observed", "n"]
    rows = [line for line in lines[2:] if line.startswith("  ") and line[2:6].strip()]
    verdicts = [row.split()[0] for row in rows]
    assert verdicts == sorted(verdicts, key=verdict_rank)  # failing first
    assert verdicts[0] == "FAIL"
    assert verdicts.count("FAIL") == len(long_named.failures)


def test_notes_go_on_an_indented_line_of_their_own(long_named: Result) -> None:
    lines = result_table(long_named, width=80).splitlines()
    notes = [check.note for check in long_named.upstreams["api"].expectations if check.note]
    assert len(notes) == 2
    for note in notes:
        [at] = [i for i, line in enumerate(lines) if line.strip().startswith(note[:30])]
        assert lines[at].startswith("      ")  # below its row, indented past the verdict
        assert lines[at - 1].startswith(("  PASS", "  FAIL", "      "))


def test_without_a_width_nothing_is_cut(long_named: Result) -> None:
    text = result_table(long_named)
    assert "…" not in text
    assert long_named.scenario.name in text


@pytest.mark.parametrize("width", [80, 200])
def test_the_summary_fits_and_puts_failures_first(long_named: Result, width: int) -> None:
    entry = pair(long_named)[0]
    passing = copy.deepcopy(entry)
    passing["scenario"]["name"] = "steady"
    for upstream in passing["upstreams"].values():
        upstream["passed"], upstream["outcome"] = True, "PASS"
    errored = {"file": "scenarios/typo.yaml", "name": None, "stage": "collection", "error": "x"}
    lines = summary_table([passing, entry], [errored], width=width).splitlines()
    assert max(len(line) for line in lines) <= width
    assert [line.split()[0] for line in lines] == [
        "verdict",
        "ERROR",
        "FAIL",
        "PASS",
        "PASS",
        "PASS",
    ]
    assert ("success@upstream" in lines[0]) == (width >= 100)
    assert ("…" in lines[2]) == (width < 100)  # the long scenario name is shortened


def test_colour_marks_verdicts_without_moving_columns(outage: Result) -> None:
    plain = result_table(outage, width=80)
    colour = result_table(outage, width=80, colour=True)
    assert _ANSI.sub("", colour) == plain
    assert "\x1b[1;31mFAIL\x1b[0m" in colour
    assert "\x1b[32mPASS\x1b[0m" in colour


def test_a_third_verdict_is_one_more_entry() -> None:
    columns = [Column("verdict"), Column("check")]
    rows = [("PASS", "a"), ("INCONCLUSIVE", "b"), ("FAIL", "c"), ("NEW", "d")]
    ordered = sorted(rows, key=lambda row: verdict_rank(row[0]))
    assert [row[0] for row in ordered] == ["FAIL", "INCONCLUSIVE", "NEW", "PASS"]
    text = fit_table(columns, ordered, colour=True)
    assert f"\x1b[{VERDICT_STYLES['INCONCLUSIVE'].colour}mINCONCLUSIVE\x1b[0m" in text
    assert "NEW" in text
    assert "\x1b[" not in text.splitlines()[3]  # an unknown verdict is shown uncoloured


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR wins
        (True, {"NO_COLOR": ""}, True),  # an empty NO_COLOR is not set
        (True, {"TERM": "dumb"}, False),
    ],
)
def test_colour_follows_no_color_force_color_and_the_tty(
    monkeypatch: pytest.MonkeyPatch, tty: bool, environ: dict[str, str], expected: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert use_colour(_Stream(tty)) is expected


def test_the_width_is_the_terminals_or_columns_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "93")
    assert terminal_width(_Stream(True)) == 93  # shutil reads COLUMNS first
    assert terminal_width(_Stream(False)) == 93
    monkeypatch.delenv("COLUMNS")
    assert terminal_width(_Stream(False)) is None  # a log: nothing is cut
