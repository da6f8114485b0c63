"""The harness's exceptions, one tree.

HarnessError                 base of everything the harness raises on purpose
├── ScenarioError            a scenario file or value is invalid (also a ValueError);
│                            carries every Problem found, each with file:line:col and key path
├── VirtualTimeError         the virtual clock cannot go on (nothing scheduled, nothing to wait for)
└── SLOViolation             a run broke an objective (also an AssertionError, so pytest
                             reports a failure, not an error)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "HarnessError",
    "Problem",
    "SLOViolation",
    "ScenarioError",
    "VirtualTimeError",
    "printable",
    "shorten",
]

KeyPath = tuple[str | int, ...]
SHOWN_MAX = 60
"""Characters of a value quoted in a message; longer ones are shortened."""
# A run this long between quotes is a value, not the words between two quoted names.
_QUOTED = re.compile(r"'[^'\n]{200,}'|\"[^\"\n]{200,}\"")


# C0 and C1 controls (ESC, CR, LF, BEL…), the line and paragraph separators, and the bidi
# controls that reorder what a terminal shows (Trojan Source).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """Return ``text`` with every control character written as an escape (``\\x1b``,
    ``\\r``, ``\\n``): text from a scenario file can then neither move a terminal's cursor,
    clear it or set its title, nor forge a line of a CI log."""
    return _UNPRINTABLE.sub(lambda found: _escape(found.group()), text)


def _escape(character: str) -> str:
    code = ord(character)
    return _ESCAPES.get(character) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def shorten(text: str, limit: int = SHOWN_MAX) -> str:
    """Return ``text`` whole when short, else its start and end around how much was left out."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]}…({len(text) - 2 * keep:,} characters)…{text[-keep:]}"


class HarnessError(Exception):
    """Base class of every exception the harness raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where it is and what was expected."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    key_path: KeyPath = ()

    def __post_init__(self) -> None:
        # Messages quote the value they are about: a file can hold a value of a million
        # characters, and a message must stay a line someone can read.
        if len(self.message) > 4 * SHOWN_MAX:
            short = _QUOTED.sub(lambda found: shorten(found.group()), self.message)
            object.__setattr__(self, "message", shorten(short, 2_000))

    @property
    def dotted_path(self) -> str:
        """Return the key path as ``upstreams.vertex.timeline[0].from``."""
        text = ""
        for key in self.key_path:
            text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
        return text

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        path = f" {self.dotted_path}:" if self.key_path else ""
        return printable(f"{where}:{path} {self.message}")


class ScenarioError(HarnessError, ValueError):
    """A scenario is invalid; ``problems`` lists every located problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @classmethod
    def single(
        cls,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key_path: KeyPath = (),
    ) -> ScenarioError:
        """Return an error holding one problem."""
        return cls([Problem(message, file, line, column, key_path)])


class VirtualTimeError(HarnessError, RuntimeError):
    """The virtual clock has nothing scheduled and nothing real to wait for: a deadlock."""


class _Judged(Protocol):
    # What SLOViolation reads of a harness.Result; named by shape so this module, which every
    # other imports, imports none of them.
    def failure_text(self) -> str: ...


class SLOViolation(HarnessError, AssertionError):
    """A run broke at least one objective; ``result`` (a :class:`harness.Result`) holds every
    verdict."""

    def __init__(self, result: _Judged) -> None:
        self.result = result
        super().__init__(result.failure_text())
