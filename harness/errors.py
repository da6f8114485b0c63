"""The harness's exceptions, one tree.

HarnessError                 base of everything the harness raises on purpose
├── ScenarioError            a scenario file or value is invalid (also a ValueError);
│                            carries every Problem found, each with file:line:col and key path
├── VirtualTimeError         the virtual clock cannot go on (nothing scheduled, nothing to wait for)
└── SLOViolation             a run broke an objective (also an AssertionError, so pytest
                             reports a failure, not an error)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["HarnessError", "Problem", "SLOViolation", "ScenarioError", "VirtualTimeError"]

KeyPath = tuple[str | int, ...]


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
        return f"{where}:{path} {self.message}"


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
