"""The scenario format (v1): a typed, immutable model of what a scenario file says.

A scenario names upstreams; each has a fault profile (latency, failure rate, error mix, see
:mod:`harness.format.fault_settings`), a timeline of phases that override the profile for a window,
traffic, an optional breaker (:mod:`harness.format.breaker_settings`), objectives and expectations.
Per-upstream parts are in :mod:`harness.format.upstream`; loading files and the JSON Schema in
:mod:`harness.format.loader`. See the README for the full reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, Strict, field_validator

from harness.errors import KeyPath, Problem, ScenarioError
from harness.format.cross_checks import cross_checks
from harness.format.fields import Duration, Flag, exactly
from harness.format.fields import StrictModel as _Strict
from harness.format.messages import problems_of
from harness.format.objectives import Objective, parse_objective
from harness.format.overrides import apply_override
from harness.format.policies import Pool
from harness.format.units import shorten
from harness.format.upstream import Burst, Phase, Traffic, Upstream, normal_url
from harness.format.yamlsource import SourceMap

# Burst, Phase, Traffic and Upstream live in harness.format.upstream; named here too, as before.
__all__ = ["Burst", "Phase", "Scenario", "Traffic", "Upstream", "validate_data"]

FORMAT_VERSION: Literal[1] = 1
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
"""An upstream's name: 1-64 ASCII letters, digits, '_', '-' or '.'."""
_NAME = re.compile(NAME_PATTERN)
MAX_UPSTREAMS = 1_000
"""The most upstreams a scenario may name: each is validated, mocked and reported on."""
_SURROGATE = re.compile("[\ud800-\udfff]")
ALL_CALLED = "upstream.requests >= 1"
"""The objective ``assert_all_called`` adds to every upstream: it was reached at least once."""


class Scenario(_Strict):
    """A complete scenario: what to inject, what traffic to send and what must hold."""

    version: Annotated[Literal[1], exactly(1)] = FORMAT_VERSION
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0, lt=2**63)] = 0
    duration: Duration
    percentile_method: Literal["nearest_rank", "linear"] = "nearest_rank"
    engine: Literal["http", "direct"] = "http"
    assert_all_called: Flag = False
    """Every mocked upstream must be reached at least once, as respx's ``assert_all_called``
    and pytest-httpx's ``assert_all_responses_were_requested`` check: see :meth:`objectives_of`."""
    upstreams: dict[str, Upstream]
    pools: dict[str, Pool] = Field(default_factory=dict)
    """Bulkheads shared across upstreams, by name (see :mod:`harness.format.policies`)."""

    @field_validator("duration")
    @classmethod
    def _positive_duration(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("the scenario's duration must be above zero")
        return value

    @field_validator("upstreams")
    @classmethod
    def _upstream_names(cls, value: dict[str, Upstream]) -> dict[str, Upstream]:
        if not value:
            raise ValueError("at least one upstream is required")
        for name in value:
            if not _NAME.fullmatch(str(name)):
                raise ValueError(
                    f"upstream name {name!r} must be 1-64 letters, digits, '_', '-' or '.'"
                )
        return value

    def objectives_of(self, upstream: str) -> tuple[Objective, ...]:
        """Return the objectives ``upstream`` is held to: its ``slo``, and with
        ``assert_all_called`` the objective :data:`ALL_CALLED` (unless the slo states it)."""
        stated = self.upstreams[upstream].slo
        if not self.assert_all_called or any(o.text == ALL_CALLED for o in stated):
            return stated
        return (*stated, parse_objective(ALL_CALLED))

    def url_of(self, upstream: str) -> str:
        """Return the base URL of ``upstream`` (``https://NAME.test/`` unless given), always
        ending in ``/``: ``traffic.path`` is relative to it, so joining never glues segments."""
        given = self.upstreams[upstream].url or f"https://{upstream}.test/"
        url = normal_url(given) or given
        return url if url.endswith("/") else f"{url}/"

    def override(self, changes: Mapping[str, Any]) -> Scenario:
        """Return a copy with dotted-path ``changes`` applied, validated like a file.

        ``scenario.override({"seed": 7, "upstreams.vertex.failure_rate": "50%"})``. Each path
        must name a key that exists, or a key the format allows there (a model's field, or a
        new entry of a mapping such as ``upstreams.NEW``); anything else is a ScenarioError
        naming the path and the keys there.
        """
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=False)
        where = f"<override of {self.name}>"
        for dotted, value in changes.items():
            apply_override(data, type(self), dotted, value, where)
        return validate_data(data, SourceMap(file=where))


def validate_data(data: dict[str, Any], source_map: SourceMap) -> Scenario:
    """Validate ``data`` into a Scenario; raise ScenarioError locating every problem.

    Nothing else escapes: this is the boundary between a file's content and the harness, so
    an exception no check foresaw becomes a ScenarioError too (located at the file), never a
    traceback.
    """
    try:
        return _validated(data, source_map)
    except ScenarioError:
        raise
    except Exception as error:  # by design: see the docstring
        reason = shorten(f"{type(error).__name__}: {error}", 200)
        message = f"the scenario cannot be validated ({reason})"
        raise ScenarioError([Problem(message, source_map.file)]) from None


def _validated(data: dict[str, Any], source_map: SourceMap) -> Scenario:
    upstreams = data.get("upstreams")
    if isinstance(upstreams, dict) and len(upstreams) > MAX_UPSTREAMS:
        message = f"{len(upstreams):,} upstreams, over the limit of {MAX_UPSTREAMS:,}"
        raise ScenarioError([source_map.problem(("upstreams",), message)])
    unwritable = list(_unwritable_text(data, ()))
    if unwritable:
        raise ScenarioError([source_map.problem(path, message) for path, message in unwritable])
    try:
        scenario = Scenario.model_validate(data)
    except pydantic.ValidationError as error:
        raise ScenarioError(problems_of(error, data, source_map, Scenario)) from None
    problems = [source_map.problem(path, message) for path, message in cross_checks(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


def _unwritable_text(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """Yield every string (key or value) holding a lone surrogate: no report could write it
    (UTF-8 has no form for one), so it is refused here rather than failing a report later."""
    if isinstance(value, str):
        if found := _SURROGATE.search(value):
            code = ord(found.group())
            yield path, f"the text holds a lone surrogate (U+{code:04X}), which is not a character"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unwritable_text(key, (*path, key) if isinstance(key, str) else path)
            yield from _unwritable_text(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _unwritable_text(item, (*path, index))
