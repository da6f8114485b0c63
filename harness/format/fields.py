"""Field types the scenario format shares between its modules: durations, rates, counts, flags,
strict models.

They live apart from :mod:`harness.format.scenario` so the modules that define parts of the format
(breaker settings, expectations) can use them without importing the whole scenario model.
Counts and flags are strict: ``true`` is never a number and ``"5"`` never a count, as a YAML
reader would expect (``version: "1"`` is rejected the same way).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from harness.format.units import (
    DURATION_PATTERN,
    RATE_PATTERN,
    format_duration,
    parse_duration,
    parse_rate,
    shown,
)

__all__ = [
    "DURATION_SCHEMA",
    "RATE_SCHEMA",
    "Count",
    "Duration",
    "Flag",
    "Number",
    "Rate",
    "StrictModel",
    "WholeNumber",
    "exactly",
    "unit_field",
]


def unit_field(parser: Any, kind: str) -> BeforeValidator:
    """Return a validator that parses a unit with ``parser``; its errors are of type ``kind``."""

    def validate(value: object) -> object:
        try:
            return parser(value)
        except ValueError as error:
            raise PydanticCustomError(kind, str(error)) from None
        except Exception as error:  # arithmetic on a value no check foresaw: still located
            reason = f"{type(error).__name__}: {error}"
            raise PydanticCustomError(kind, f"{shown(value)} cannot be read ({reason})") from None

    return BeforeValidator(validate)


def exactly(*choices: object) -> BeforeValidator:
    """Return a validator for a Literal that refuses look-alikes of another type (``True`` for
    ``1``, ``1`` for ``True``), which pydantic's Literal would take."""

    def validate(value: object) -> object:
        if any(value == choice and type(value) is not type(choice) for choice in choices):
            listed = " or ".join(shown(choice) for choice in choices)
            raise PydanticCustomError(
                "literal",
                "expected {listed}, got {value}",
                {"listed": listed, "value": shown(value)},
            )
        return value

    return BeforeValidator(validate)


DURATION_SCHEMA = {
    "type": "string",
    "pattern": DURATION_PATTERN,
    "description": "a duration up to 30 days (720h)",
    "examples": ["500ms", "2s", "10m", "1h30m"],
}
RATE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1},
        {"type": "string", "pattern": RATE_PATTERN},
    ],
    "examples": ["30%", 0.3],
}
Duration = Annotated[
    int,
    unit_field(parse_duration, "duration"),
    WithJsonSchema(DURATION_SCHEMA),
    PlainSerializer(format_duration, return_type=str),
]
"""A duration written with its unit (``"500ms"``), held in whole nanoseconds; at most 30 days."""
Rate = Annotated[float, unit_field(parse_rate, "rate"), WithJsonSchema(RATE_SCHEMA)]
"""A rate written as ``"30%"`` or ``0.3``, held as a fraction in [0, 1]."""
Count = Annotated[int, Strict(), Field(ge=1)]
"""A count of at least 1, written as a whole number (never ``true``, never ``"5"``)."""
WholeNumber = Annotated[int, Strict(), Field(ge=0)]
"""A whole number of at least 0, written as a number."""
Number = Annotated[float, Strict()]
"""A number (whole or not), written as a number."""
Flag = Annotated[bool, Strict()]
"""``true`` or ``false`` (never ``1``, ``"yes"`` or ``"on"``)."""


class StrictModel(BaseModel):
    """A model that rejects unknown keys (the error message suggests the closest known one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
