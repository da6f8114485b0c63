"""Terminal layout: tables cut to the terminal's width, verdicts in colour, failing rows first.

- :func:`fit_table` aligns rows under a header and, given a width, makes them fit it: columns
  marked shrinkable are shortened (their cells end in ``…``) down to a minimum, then columns
  marked droppable are left out, least needed first. A row's note goes on its own indented line
  below it, wrapped to the width, so a long note never widens the table.
- :data:`VERDICT_STYLES` says how each verdict is shown: its colour and where its rows sort
  (failing first). A new verdict (``INCONCLUSIVE``) is one more entry; an unknown one sorts
  just before ``PASS`` and is shown uncoloured.
- :func:`use_colour` follows the conventions terminals share: ``NO_COLOR`` (any non-empty value)
  turns colour off, ``FORCE_COLOR`` (non-empty) turns it on, otherwise colour only on a TTY
  whose ``TERM`` is not ``dumb``. :func:`terminal_width` is the TTY's width, or ``COLUMNS``
  where set, or no limit (a log file).
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from harness.errors import printable

__all__ = [
    "VERDICT_STYLES",
    "Column",
    "VerdictStyle",
    "coloured",
    "fit_table",
    "shorten",
    "terminal_width",
    "use_colour",
    "verdict_rank",
]

ELLIPSIS = "…"


@dataclass(frozen=True)
class VerdictStyle:
    """How one verdict is shown: its ANSI colour (SGR parameters) and its sort rank."""

    colour: str
    rank: int  # rows sort by rank: lower first, so failures lead


VERDICT_STYLES: Mapping[str, VerdictStyle] = {
    "ERROR": VerdictStyle("1;31", 0),  # bold red
    "FAIL": VerdictStyle("1;31", 1),
    "INCONCLUSIVE": VerdictStyle("1;33", 2),  # bold yellow
    "PASS": VerdictStyle("32", 9),  # green
}
_UNKNOWN_RANK = 8  # an unlisted verdict: after every failing one, before PASS


def verdict_rank(verdict: str) -> int:
    """Return where rows with ``verdict`` sort (failing first)."""
    style = VERDICT_STYLES.get(verdict)
    return _UNKNOWN_RANK if style is None else style.rank


def coloured(text: str, verdict: str, colour: bool) -> str:
    """Return ``text`` in ``verdict``'s colour when ``colour`` is on and the verdict has one."""
    style = VERDICT_STYLES.get(verdict)
    if not colour or style is None:
        return text
    return f"\033[{style.colour}m{text}\033[0m"


def use_colour(stream: TextIO) -> bool:
    """Return whether to colour what is written to ``stream`` (NO_COLOR, FORCE_COLOR, TTY)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def terminal_width(stream: TextIO) -> int | None:
    """Return the width to fit output to: the terminal's, ``COLUMNS`` if set, else None."""
    isatty = getattr(stream, "isatty", None)
    if isatty and isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def shorten(text: str, width: int) -> str:
    """Return ``text`` cut to ``width`` characters, ending in ``…`` where it was cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


@dataclass(frozen=True)
class Column:
    """A table column: its title, how narrow it may be shortened (0: never), and when it may
    be left out to fit (lower first; None: never)."""

    title: str
    shrink_to: int = 0
    drop: int | None = None


def fit_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None = None,
    indent: str = "",
    notes: Sequence[str | None] = (),
    colour: bool = False,
) -> str:
    """Return ``rows`` aligned under ``columns``, fitted to ``width`` (see the module).

    The first column is the verdict: coloured (after padding, so alignment holds) when
    ``colour`` is on. ``notes[i]``, if given, is printed below row ``i``.
    """
    # A scenario's text cannot forge a line, a colour or a cursor move: escaped before fitting.
    rows = [[printable(cell) for cell in row] for row in rows]
    notes = [None if note is None else printable(note) for note in notes]
    kept = list(range(len(columns)))
    widths = _widths(columns, rows, kept, width, len(indent))
    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop is not None)
    while width is not None and _total(widths, indent) > width and droppable:
        kept.remove(droppable.pop(0)[1])
        widths = _widths(columns, rows, kept, width, len(indent))
    header = [columns[i].title for i in kept]
    lines = [_line(header, widths, indent, colour=False)]
    for index, row in enumerate(rows):
        cells = [row[i] for i in kept]
        lines.append(_line(cells, widths, indent, colour=colour and kept[0] == 0))
        note = notes[index] if index < len(notes) else None
        if note:
            lines += _note_lines(note, indent + "    ", width)
    return "\n".join(lines)


def _widths(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    kept: Sequence[int],
    width: int | None,
    indent: int,
) -> list[int]:
    """Return each kept column's width: its widest cell, shrunk to fit ``width`` if allowed."""
    widths = [max([len(columns[i].title), *(len(row[i]) for row in rows)]) for i in kept]
    if width is None:
        return widths
    excess = indent + sum(widths) + 2 * (len(widths) - 1) - width
    floors = {
        k: max(columns[i].shrink_to, len(columns[i].title))
        for k, i in enumerate(kept)
        if columns[i].shrink_to
    }
    while excess > 0:  # the widest shrinkable column gives a character, until all fit
        room = [k for k, floor in floors.items() if widths[k] > floor]
        if not room:
            break
        widest = max(room, key=lambda k: widths[k])
        widths[widest] -= 1
        excess -= 1
    return widths


def _total(widths: Sequence[int], indent: str) -> int:
    return len(indent) + sum(widths) + 2 * (len(widths) - 1)


def _line(cells: Sequence[str], widths: Sequence[int], indent: str, *, colour: bool) -> str:
    shown = [shorten(cell, w).ljust(w) for cell, w in zip(cells, widths, strict=True)]
    if colour and shown:
        verdict = cells[0]
        shown[0] = coloured(shorten(verdict, widths[0]), verdict, True) + " " * (
            widths[0] - len(shorten(verdict, widths[0]))
        )
    return (indent + "  ".join(shown)).rstrip()


def _note_lines(note: str, indent: str, width: int | None) -> list[str]:
    if width is None or width - len(indent) < 20:
        return [indent + note]
    return textwrap.wrap(
        note, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )
