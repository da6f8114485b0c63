"""Breaker expectations: what a breaker must do in a run, stated per upstream under ``expect:``.

Each item is one key naming the check::

    expect:
      - opens: {within: 1s, after_start_of: outage}     # OPEN at most 1s after the phase starts
      - closes: {within: 35s, after_end_of: outage}     # CLOSED at most 35s after it ends
      - no_upstream_calls_while_open                    # no request admitted while OPEN
      - half_open_trials: {at_most: 1}                  # per HALF_OPEN episode
      - open_episodes: {min: 1, max: 3}                 # or exactly: open_episodes: 2
      - time_open: {at_most: 4m}                        # total time OPEN
      - transitions: [CLOSED, OPEN, HALF_OPEN, ..., CLOSED]   # ... = any run of states
      - alert_fires: {factor: 14.4, within: 5m, after_start_of: outage}   # no breaker needed:
      - no_alert_during: {phase: brownout}              # see harness.format.alert_expectations

They are checked after the run from its samples and transitions
(:mod:`harness.verdicts.expectation_checks`) and reported like objectives: observed value,
threshold, verdict and a note saying what happened, with virtual times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from harness.errors import KeyPath
from harness.format.alert_expectations import AlertFires, NoAlertDuring, alert_problems
from harness.format.fields import Duration, StrictModel, WholeNumber, exactly
from harness.format.phase_windows import PhaseLike, Window, span
from harness.format.units import shown

__all__ = [
    "EXPECTATION_MODELS",
    "WILDCARD",
    "AlertFires",
    "Closes",
    "Expectation",
    "ExpectationField",
    "HalfOpenTrials",
    "NoAlertDuring",
    "NoUpstreamCallsWhileOpen",
    "OpenEpisodes",
    "Opens",
    "TimeOpen",
    "Transitions",
    "expectation_problems",
]

WILDCARD = "..."
"""In an expected path of states: any number (zero or more) of states."""

_STATES = ("CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED")
_BARE = "no_upstream_calls_while_open"


class AtMost(StrictModel):
    """An upper bound on a count."""

    at_most: WholeNumber


class Between(StrictModel):
    """A count within ``[min, max]`` (either bound may be left out)."""

    min: WholeNumber | None = None
    max: WholeNumber | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Between:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    def holds(self, count: int) -> bool:
        """Return whether ``count`` is within the bounds."""
        return (self.min is None or count >= self.min) and (self.max is None or count <= self.max)

    def text(self) -> str:
        """Return ``between 1 and 3``, ``exactly 2``, ``at least 1`` or ``at most 3``."""
        if self.min == self.max:
            return f"exactly {self.min}"
        if self.min is not None and self.max is not None:
            return f"between {self.min} and {self.max}"
        return f"at least {self.min}" if self.min is not None else f"at most {self.max}"


class DurationAtMost(StrictModel):
    """An upper bound on a duration."""

    at_most: Duration


class Opens(StrictModel):
    """The breaker is OPEN within a deadline after a phase starts (or ends)."""

    opens: Window

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return self.opens.text("opens")


class Closes(StrictModel):
    """The breaker is CLOSED within a deadline after a phase ends (or starts)."""

    closes: Window

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return self.closes.text("closes")


class NoUpstreamCallsWhileOpen(StrictModel):
    """No request the breaker admitted while OPEN reached the upstream."""

    no_upstream_calls_while_open: Annotated[Literal[True], exactly(True)] = True

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return "no upstream calls while OPEN"


class HalfOpenTrials(StrictModel):
    """Each HALF_OPEN episode admits at most N trial calls."""

    half_open_trials: AtMost

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return f"HALF_OPEN admits at most {self.half_open_trials.at_most} trial call(s)"


class _CountOrBounds:
    """Document that a count range may also be written as one number (exactly that)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return {"anyOf": [{"type": "integer", "minimum": 0}, handler(core_schema)]}


class OpenEpisodes(StrictModel):
    """The number of times the breaker entered OPEN is in a range (a number: exactly that)."""

    open_episodes: Annotated[Between, _CountOrBounds]

    @field_validator("open_episodes", mode="before")
    @classmethod
    def _exactly(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"min": value, "max": value}
        if not isinstance(value, dict | BaseModel):
            raise PydanticCustomError(
                "expectation_kind",
                "expected a count (open_episodes: 2) or a mapping with min, max or both "
                "(open_episodes: {example}), got {value}",
                {"example": "{min: 1, max: 3}", "value": shown(value)},
            )
        return value

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return f"OPEN episodes {self.open_episodes.text()}"


class TimeOpen(StrictModel):
    """The total time spent OPEN is at most a duration."""

    time_open: DurationAtMost

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return f"time OPEN at most {span(self.time_open.at_most)}"


StatePattern = Literal["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED", "..."]


class Transitions(StrictModel):
    """The states the breaker went through, in order, match a pattern (``...``: any run)."""

    transitions: Annotated[tuple[StatePattern, ...], Field(min_length=1)]

    @field_validator("transitions", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [item.upper() if isinstance(item, str) else item for item in value]
        return value

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return "transitions " + " → ".join(
            "…" if item == WILDCARD else item for item in self.transitions
        )


EXPECTATION_MODELS: dict[str, type[StrictModel]] = {
    "opens": Opens,
    "closes": Closes,
    _BARE: NoUpstreamCallsWhileOpen,
    "half_open_trials": HalfOpenTrials,
    "open_episodes": OpenEpisodes,
    "time_open": TimeOpen,
    "transitions": Transitions,
    "alert_fires": AlertFires,
    "no_alert_during": NoAlertDuring,
}
Expectation = (
    Opens
    | Closes
    | NoUpstreamCallsWhileOpen
    | HalfOpenTrials
    | OpenEpisodes
    | TimeOpen
    | Transitions
    | AlertFires
    | NoAlertDuring
)


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return next(iter(value), None)
    for tag, model in EXPECTATION_MODELS.items():
        if isinstance(value, model):
            return tag
    return None


def _check_kind(value: Any) -> Any:
    """Accept ``- no_upstream_calls_while_open`` bare; reject anything but one known key."""
    if value == _BARE:
        return {_BARE: True}
    if not isinstance(value, dict) or len(value) != 1:
        raise PydanticCustomError(
            "expectation_kind",
            "an expectation is one key naming the check, e.g. {example}, got {value} (known: "
            "{known})",
            {
                "example": "{opens: {within: 1s, after_start_of: outage}}",
                "value": _shape(value),
                "known": ", ".join(EXPECTATION_MODELS),
                "key": None,
            },
        )
    key = next(iter(value))
    if key in EXPECTATION_MODELS:
        return value
    close = get_close_matches(str(key), EXPECTATION_MODELS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise PydanticCustomError(
        "expectation_kind",
        "unknown expectation {name}{hint} (known: {known})",
        {"name": repr(key), "hint": hint, "known": ", ".join(EXPECTATION_MODELS), "key": key},
    )


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return f"the keys {', '.join(map(repr, value))}" if value else "an empty mapping"
    return shown(value)


class _ExpectationSchema:
    """Document that ``no_upstream_calls_while_open`` may be written bare."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        return {"anyOf": [{"const": _BARE}, handler(core_schema)]}


ExpectationField = Annotated[
    Annotated[Opens, Tag("opens")]
    | Annotated[Closes, Tag("closes")]
    | Annotated[NoUpstreamCallsWhileOpen, Tag(_BARE)]
    | Annotated[HalfOpenTrials, Tag("half_open_trials")]
    | Annotated[OpenEpisodes, Tag("open_episodes")]
    | Annotated[TimeOpen, Tag("time_open")]
    | Annotated[Transitions, Tag("transitions")]
    | Annotated[AlertFires, Tag("alert_fires")]
    | Annotated[NoAlertDuring, Tag("no_alert_during")],
    Discriminator(_tag),
    BeforeValidator(_check_kind),
    _ExpectationSchema,
]
"""One item of an upstream's ``expect:`` list."""


def expectation_problems(
    expect: Sequence[Expectation],
    timeline: Sequence[PhaseLike],
    *,
    has_breaker: bool,
    has_traffic: bool,
    slo_period: int | None = None,
    has_target: bool = False,
) -> list[tuple[KeyPath, str]]:
    """Return problems with one upstream's expectations, as (path under the upstream, message).

    Breaker expectations need a breaker; alert expectations (``alert_fires``,
    ``no_alert_during``) need an error budget instead (``slo_period`` and a target objective).
    """
    if not expect:
        return []
    alerting = [item for item in expect if isinstance(item, AlertFires | NoAlertDuring)]
    if not has_breaker and len(alerting) < len(expect):
        return [(("expect",), "expectations need a breaker, and this upstream has none")]
    found: list[tuple[KeyPath, str]] = []
    if not has_traffic:
        what = "the breaker" if len(alerting) < len(expect) else "its alerts"
        found.append((("expect",), f"expectations need traffic to observe {what}"))
    found += alert_problems(expect, slo_period, has_target)
    names = Counter(str(phase.name) for phase in timeline if phase.name)
    for index, expectation in enumerate(expect):
        for kind, key, phase in _named_phases(expectation):
            problem = _phase_problem(phase, names)
            if problem:
                found.append((("expect", index, kind, key), problem))
    return found


def _named_phases(expectation: Expectation) -> list[tuple[str, str, str]]:
    """Return (expectation key, key, phase name) for each phase an expectation names."""
    if isinstance(expectation, NoAlertDuring):
        return [("no_alert_during", "phase", expectation.no_alert_during.phase)]
    for kind in ("opens", "closes", "alert_fires"):
        window = getattr(expectation, kind, None)
        if isinstance(window, Window):
            return [(kind, window.anchor_key, window.phase)]
    return []


def _phase_problem(name: str, names: Counter[str]) -> str | None:
    if names[name] == 1:
        return None
    if names[name] > 1:
        return f"{names[name]} phases of the timeline are named {name!r}; give them distinct names"
    known = sorted(names)
    close = get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = f" (named phases: {', '.join(known)})" if known else " (no phase has a name)"
    return f"no phase named {name!r} in this upstream's timeline{hint}{listed}"
