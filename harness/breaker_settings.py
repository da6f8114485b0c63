"""The settings of the third-party breakers a scenario can put under test, spelled as each
library spells them, and of a user's own breaker (``impl: "package.module:factory"``).

The built-in breaker's settings are :class:`harness.scenario.Breaker`; ``Upstream.breaker`` is
the union of all of them, told apart by ``impl`` (omitted: the built-in breaker). Defaults are
the libraries' own. The libraries are optional: a scenario naming one that is not installed is
a located error when it is loaded, not a traceback when it runs.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from difflib import get_close_matches
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PositiveInt, field_validator
from pydantic_core import PydanticCustomError

from harness.fields import Duration, StrictModel
from harness.units import NS_PER_S

__all__ = [
    "THIRD_PARTY",
    "AiobreakerSettings",
    "CircuitbreakerSettings",
    "CustomBreakerSettings",
    "PurgatorySettings",
    "PybreakerSettings",
    "breaker_tag",
    "check_breaker_impl",
    "library_problem",
    "resolve_factory",
]

THIRD_PARTY = ("pybreaker", "aiobreaker", "circuitbreaker", "purgatory")
"""The third-party libraries a scenario can name as ``impl``."""
_IMPLS = ("builtin", *THIRD_PARTY)
_FACTORY = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


def _positive(value: int) -> int:
    if value <= 0:
        # The libraries treat 0 as "not given" and silently use their default instead.
        raise ValueError("must be above 0s (the library would silently use its default)")
    return value


class _Library(StrictModel):
    """Settings of a third-party breaker; all of them read the wall clock."""

    reads_wall_clock: ClassVar[bool] = True


class PybreakerSettings(_Library):
    """``pybreaker.CircuitBreaker``: opens after ``fail_max`` consecutive failures, lets calls
    through again ``reset_timeout`` later, closes after ``success_threshold`` successes."""

    impl: Literal["pybreaker"]
    fail_max: PositiveInt = 5
    reset_timeout: Duration = 60 * NS_PER_S
    success_threshold: PositiveInt = 1


class AiobreakerSettings(_Library):
    """``aiobreaker.CircuitBreaker``: opens after ``fail_max`` consecutive failures and lets
    one call through ``timeout_duration`` later."""

    impl: Literal["aiobreaker"]
    fail_max: PositiveInt = 5
    timeout_duration: Duration = 60 * NS_PER_S

    _positive_timeout = field_validator("timeout_duration")(_positive)


class CircuitbreakerSettings(_Library):
    """``circuitbreaker.CircuitBreaker``: opens after ``failure_threshold`` consecutive
    failures and is HALF_OPEN once ``recovery_timeout`` has passed."""

    impl: Literal["circuitbreaker"]
    failure_threshold: PositiveInt = 5
    recovery_timeout: Duration = 30 * NS_PER_S

    _positive_timeout = field_validator("recovery_timeout")(_positive)


class PurgatorySettings(_Library):
    """purgatory's ``AsyncCircuitBreakerFactory().get_breaker(name, threshold, ttl)``: opens
    after ``threshold`` consecutive failures and lets calls through after ``ttl``."""

    impl: Literal["purgatory"]
    threshold: PositiveInt = 5
    ttl: Duration = 30 * NS_PER_S

    _positive_ttl = field_validator("ttl")(_positive)


class CustomBreakerSettings(StrictModel):
    """Your own breaker or client wrapper: ``factory(**settings)`` returns it.

    The factory may return a pybreaker, aiobreaker or circuitbreaker breaker (driven as those
    are), or any object with ``async call(attempt)`` and a ``state`` (see the README).
    """

    impl: Annotated[str, Field(pattern=_FACTORY, examples=["mypackage.breakers:make_breaker"])]
    settings: dict[str, Any] = Field(default_factory=dict)
    wall_clock: bool = True
    """Whether the breaker reads ``time.*``/``datetime.now`` (so the run must patch them)."""

    @property
    def reads_wall_clock(self) -> bool:
        """Return whether the breaker reads the wall clock."""
        return self.wall_clock


def breaker_tag(value: Any) -> str | None:
    """Return which settings model a breaker mapping is for (the union's discriminator)."""
    impl = value.get("impl", "builtin") if isinstance(value, dict) else getattr(value, "impl", None)
    if not isinstance(impl, str):
        return None
    return "custom" if ":" in impl else impl


def check_breaker_impl(value: Any) -> Any:
    """Reject an unknown ``impl`` with a message naming the choices (before the union runs)."""
    if not isinstance(value, dict) or "impl" not in value:
        return value
    impl = value["impl"]
    if isinstance(impl, str) and (impl in _IMPLS or ":" in impl):
        return value
    close = get_close_matches(str(impl), _IMPLS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise PydanticCustomError(
        "breaker_impl",
        "unknown breaker impl {impl}{hint} (expected one of {impls}, or "
        "'package.module:factory' for your own breaker)",
        {"impl": repr(impl), "hint": hint, "impls": ", ".join(_IMPLS), "key": "impl"},
    )


def library_problem(impl: str) -> str | None:
    """Return why the library ``impl`` cannot be used here, or None when it can."""
    if impl not in THIRD_PARTY or importlib.util.find_spec(impl) is not None:
        return None
    return (
        f"impl {impl!r} needs the {impl} package, which is not installed "
        f"(pip install 'slo-harness[{impl}]' or pip install {impl})"
    )


def resolve_factory(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:factory"`` and return the factory; raise ValueError if unusable."""
    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as error:  # any failure to import user code is reported, not raised
        raise ValueError(
            f"cannot import {module_name!r} for impl {spec!r}: {type(error).__name__}: {error}"
        ) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{module_name!r} has no attribute {attribute!r} (impl {spec!r})")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"impl {spec!r} names a {type(target).__name__}, not a callable factory")
    return target  # type: ignore[no-any-return]
