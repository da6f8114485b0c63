"""Deadlines and phases that expectations name: ``within: 1s, after_start_of: outage``."""

from __future__ import annotations

from typing import Protocol

from pydantic import model_validator

from harness.format.fields import Duration, StrictModel
from harness.format.units import format_duration, vtime

__all__ = ["PhaseLike", "Window", "span"]


def span(ns: int) -> str:
    """Return a duration as written in a file (``30s``, ``4m``), or in seconds (``2.02s``)."""
    text = format_duration(ns)
    return vtime(ns) if ns >= 1_000_000_000 and text.endswith(("ms", "us", "ns")) else text


class PhaseLike(Protocol):
    """What expectations need of a timeline phase."""

    @property
    def name(self) -> str | None:
        """Return the phase's name, if it has one."""
        ...

    @property
    def start(self) -> int:
        """Return when the phase starts (ns)."""
        ...

    @property
    def end(self) -> int:
        """Return when the phase ends (ns, exclusive)."""
        ...


class Window(StrictModel):
    """A deadline counted from the start or the end of a named timeline phase."""

    within: Duration
    after_start_of: str | None = None
    after_end_of: str | None = None

    @model_validator(mode="after")
    def _one_anchor(self) -> Window:
        if (self.after_start_of is None) == (self.after_end_of is None):
            raise ValueError("give exactly one of after_start_of or after_end_of (a phase name)")
        return self

    @property
    def phase(self) -> str:
        """Return the name of the phase the deadline counts from."""
        return self.after_start_of or self.after_end_of or ""

    @property
    def anchor_key(self) -> str:
        """Return which key names the phase."""
        return "after_start_of" if self.after_start_of is not None else "after_end_of"

    def anchor_ns(self, phase: PhaseLike) -> int:
        """Return the instant the deadline counts from."""
        return phase.start if self.after_start_of is not None else phase.end

    @property
    def edge(self) -> str:
        """Return "starts" or "ends"."""
        return "starts" if self.after_start_of is not None else "ends"

    def text(self, verb: str) -> str:
        """Return ``opens within 1s after 'outage' starts``."""
        return f"{verb} within {span(self.within)} after {self.phase!r} {self.edge}"
