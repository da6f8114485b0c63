"""Breaker settings as scenarios write them: the built-in breaker's (:class:`Breaker`,
resilience4j's names), the third-party breakers' (spelled as each library spells them), and a
user's own (``impl: "package.module:factory"``).

:data:`BreakerConfig`, the type of ``Upstream.breaker``, is the union of all of them, told apart
by ``impl`` (omitted: the built-in breaker). Third-party defaults are the libraries' own.
The libraries are optional: a scenario naming one that is not installed is a located error
when it is loaded, not a traceback when it runs.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Annotated, Any, ClassVar, Literal

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from harness.format.breaker_code import (
    CODE_PATTERN,
    THIRD_PARTY,
    factory_problem,
    library_problem,
    resolve_factory,
)
from harness.format.fault_settings import ERROR_KINDS, STATUS_PATTERN
from harness.format.fields import Count, Duration, Flag, Number, Rate, StrictModel
from harness.format.units import NS_PER_S, format_duration, shown

__all__ = [
    "BREAKER_MODELS",
    "ERROR_CLASSES",
    "THIRD_PARTY",
    "AiobreakerSettings",
    "Breaker",
    "BreakerConfig",
    "CircuitbreakerSettings",
    "CustomBreakerSettings",
    "ErrorSelectors",
    "PurgatorySettings",
    "PybreakerSettings",
    "breaker_tag",
    "check_breaker_impl",
    "factory_problem",
    "library_problem",
    "resolve_factory",
]

_IMPLS = ("builtin", *THIRD_PARTY)
_FACTORY = CODE_PATTERN
_SETTINGS_HINT = (
    "a mapping of breaker settings (impl optional: builtin, pybreaker, aiobreaker, "
    "circuitbreaker, purgatory, or 'package.module:factory' for your own)"
)
MAX_WINDOW = 1_000_000
"""The largest sliding window (calls, or seconds: a time window keeps one bucket a second)."""


def _positive(value: int) -> int:
    if value <= 0:
        # aiobreaker, circuitbreaker and purgatory treat 0 as "not given" and silently use their
        # default; pybreaker would let every call through at once: no wait, no breaker.
        raise ValueError("must be above 0s: a breaker must wait in OPEN")
    return value


class _Library(StrictModel):
    """Settings of a third-party breaker; all of them read the wall clock."""

    reads_wall_clock: ClassVar[bool] = True


class PybreakerSettings(_Library):
    """``pybreaker.CircuitBreaker``: opens after ``fail_max`` consecutive failures, lets calls
    through again ``reset_timeout`` later, closes after ``success_threshold`` successes."""

    impl: Literal["pybreaker"]
    fail_max: Count = 5
    reset_timeout: Duration = 60 * NS_PER_S
    success_threshold: Count = 1

    _positive_timeout = field_validator("reset_timeout")(_positive)


class AiobreakerSettings(_Library):
    """``aiobreaker.CircuitBreaker``: opens after ``fail_max`` consecutive failures and lets
    one call through ``timeout_duration`` later."""

    impl: Literal["aiobreaker"]
    fail_max: Count = 5
    timeout_duration: Duration = 60 * NS_PER_S

    _positive_timeout = field_validator("timeout_duration")(_positive)


class CircuitbreakerSettings(_Library):
    """``circuitbreaker.CircuitBreaker``: opens after ``failure_threshold`` consecutive
    failures and is HALF_OPEN once ``recovery_timeout`` has passed."""

    impl: Literal["circuitbreaker"]
    failure_threshold: Count = 5
    recovery_timeout: Duration = 30 * NS_PER_S

    _positive_timeout = field_validator("recovery_timeout")(_positive)


class PurgatorySettings(_Library):
    """purgatory's ``AsyncCircuitBreakerFactory().get_breaker(name, threshold, ttl)``: opens
    after ``threshold`` consecutive failures and lets calls through after ``ttl``."""

    impl: Literal["purgatory"]
    threshold: Count = 5
    ttl: Duration = 30 * NS_PER_S

    _positive_ttl = field_validator("ttl")(_positive)


class CustomBreakerSettings(StrictModel):
    """Your own breaker or client wrapper: ``factory(**settings)`` returns it.

    The factory may return a pybreaker, aiobreaker or circuitbreaker breaker (driven as those
    are), or any object with ``async call(attempt)`` and a ``state`` (see the README).
    """

    impl: Annotated[str, Field(pattern=_FACTORY, examples=["mypackage.breakers:make_breaker"])]
    settings: dict[str, Any] = Field(default_factory=dict)
    wall_clock: Flag = True
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
    """Reject what is no breaker, or an unknown ``impl``, with a message naming the choices
    (before the union runs)."""
    if not isinstance(value, dict):
        if isinstance(value, BaseModel):
            return value
        raise PydanticCustomError(
            "breaker",
            "expected {hint}, got {value}",
            {"hint": _SETTINGS_HINT, "value": shown(value)},
        )
    if "impl" not in value:
        return value
    impl = value["impl"]
    if isinstance(impl, str) and impl in _IMPLS:
        return value
    if isinstance(impl, str) and ":" in impl:
        _check_factory_spelling(impl)
        return value
    close = get_close_matches(str(impl), _IMPLS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise PydanticCustomError(
        "breaker_impl",
        "unknown breaker impl {impl}{hint} (expected one of {impls}, or "
        "'package.module:factory' for your own breaker)",
        {"impl": shown(impl), "hint": hint, "impls": ", ".join(_IMPLS), "key": "impl"},
    )


def _check_factory_spelling(impl: str) -> None:
    if not re.fullmatch(_FACTORY, impl):
        raise PydanticCustomError(
            "breaker_impl",
            "expected your own factory as 'package.module:factory' (ASCII letters, digits "
            "and '_', the module's parts joined by '.', then one name; none starting with "
            "'__'), got {impl}",
            {"impl": repr(impl), "key": "impl"},
        )


ERROR_CLASSES = ("4xx", "5xx")


def _error_selectors(value: Any) -> Any:
    """Validate the answers a breaker setting selects: 503, 5xx or an error kind."""
    if not isinstance(value, list | tuple):
        raise PydanticCustomError(
            "error_kind",
            "expected a list of HTTP statuses (503), status classes (5xx) or error kinds "
            "(timeout, connect_error, connection_reset), got {value}",
            {"value": shown(value)},
        )
    return tuple(_error_selector(item) for item in value)


def _error_selector(item: object) -> str:
    text = str(item) if isinstance(item, str | int) and not isinstance(item, bool) else ""
    if text in ERROR_CLASSES or text in ERROR_KINDS or re.fullmatch(STATUS_PATTERN, text):
        return text
    close = get_close_matches(text, [*ERROR_KINDS, *ERROR_CLASSES], n=1)
    raise PydanticCustomError(
        "error_kind",
        "unknown error {item}{hint} (expected an HTTP status 400-599, 4xx, 5xx, or one of {kinds})",
        {
            "item": shown(item),
            "hint": f"; did you mean {close[0]!r}?" if close else "",
            "kinds": ", ".join(ERROR_KINDS),
        },
    )


ErrorSelectors = Annotated[
    tuple[str, ...],
    BeforeValidator(_error_selectors),
    WithJsonSchema(
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "integer", "minimum": 400, "maximum": 599},
                    {
                        "type": "string",
                        "pattern": rf"^(?:{STATUS_PATTERN}|[45]xx|{'|'.join(ERROR_KINDS)})$",
                    },
                ]
            },
            "examples": [[500, 503, "timeout"], ["5xx", "connect_error"]],
        }
    ),
]
"""Answers selected by HTTP status (503), status class (5xx) or error kind (timeout)."""


class Breaker(StrictModel):
    """The built-in circuit breaker's settings: resilience4j's names in snake_case (see the
    README's table), rates as percentages, durations with units.

    As in resilience4j, an answer in ``ignore_errors`` counts neither way, and an error answer
    not in ``record_errors`` (default: every error) counts as a success.
    """

    impl: Literal["builtin"] = "builtin"
    failure_rate_threshold: Rate = 0.5
    slow_call_rate_threshold: Rate = 1.0
    slow_call_duration_threshold: Duration = 60 * NS_PER_S
    sliding_window_type: Literal["count", "time"] = "count"
    sliding_window_size: Annotated[Count, Field(le=MAX_WINDOW)] = 100
    minimum_number_of_calls: Count = 100
    wait_duration_in_open_state: Duration = 60 * NS_PER_S
    enable_exponential_backoff: Flag = False
    exponential_backoff_multiplier: Annotated[Number, Field(ge=1)] = 1.5
    exponential_max_wait_duration_in_open_state: Duration | None = None
    permitted_number_of_calls_in_half_open_state: Count = 10
    max_wait_duration_in_half_open_state: Duration = 0
    record_errors: ErrorSelectors = (*ERROR_CLASSES, *ERROR_KINDS)
    ignore_errors: ErrorSelectors = ()

    @field_validator("failure_rate_threshold", "slow_call_rate_threshold")
    @classmethod
    def _positive_threshold(cls, value: float, info: pydantic.ValidationInfo) -> float:
        if value <= 0:
            raise ValueError(f"{info.field_name} must be above 0%, or the breaker never closes")
        return value

    @field_validator("wait_duration_in_open_state")
    @classmethod
    def _positive_wait(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("wait_duration_in_open_state must be above zero")
        return value

    @field_validator(
        "exponential_backoff_multiplier", "exponential_max_wait_duration_in_open_state"
    )
    @classmethod
    def _backoff_enabled(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        default = cls.model_fields[str(info.field_name)].default
        if value != default and not info.data.get("enable_exponential_backoff"):
            raise ValueError(
                f"{info.field_name} has no effect unless enable_exponential_backoff is true"
            )
        wait = info.data.get("wait_duration_in_open_state")
        is_cap = info.field_name == "exponential_max_wait_duration_in_open_state"
        if is_cap and value is not None and wait is not None and value < wait:
            raise ValueError(
                f"the cap ({format_duration(value)}) is below wait_duration_in_open_state "
                f"({format_duration(wait)})"
            )
        return value

    @field_validator("ignore_errors")
    @classmethod
    def _not_both(cls, value: tuple[str, ...], info: pydantic.ValidationInfo) -> tuple[str, ...]:
        recorded = info.data.get("record_errors")
        if recorded is None or recorded == cls.model_fields["record_errors"].default:
            return value  # ignoring part of "every error" is what ignore_errors is for
        both = [item for item in value if item in recorded]
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both recorded and ignored")
        return value


BreakerConfig = Annotated[
    Annotated[Breaker, Tag("builtin")]
    | Annotated[PybreakerSettings, Tag("pybreaker")]
    | Annotated[AiobreakerSettings, Tag("aiobreaker")]
    | Annotated[CircuitbreakerSettings, Tag("circuitbreaker")]
    | Annotated[PurgatorySettings, Tag("purgatory")]
    | Annotated[CustomBreakerSettings, Tag("custom")],
    Discriminator(breaker_tag),
    BeforeValidator(check_breaker_impl),
]
"""The breaker under test: the built-in one unless ``impl`` names another."""
BREAKER_MODELS: dict[str, type[BaseModel]] = {
    "builtin": Breaker,
    "pybreaker": PybreakerSettings,
    "aiobreaker": AiobreakerSettings,
    "circuitbreaker": CircuitbreakerSettings,
    "purgatory": PurgatorySettings,
    "custom": CustomBreakerSettings,
}
