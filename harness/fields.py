"""Field types the scenario format shares between its modules: durations, rates, strict models.

They live apart from :mod:`harness.scenario` so the modules that define parts of the format
(breaker settings, expectations) can use them without importing the whole scenario model.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from harness.units import format_duration, parse_duration, parse_rate

__all__ = ["DURATION_SCHEMA", "RATE_SCHEMA", "Duration", "Rate", "StrictModel", "unit_field"]


def unit_field(parser: Any, kind: str) -> BeforeValidator:
    """Return a validator that parses a unit with ``parser``; its errors are of type ``kind``."""

    def validate(value: object) -> object:
        try:
            return parser(value)
        except ValueError as error:
            raise PydanticCustomError(kind, str(error)) from None

    return BeforeValidator(validate)


DURATION_SCHEMA = {
    "type": "string",
    "pattern": r"^(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$",
    "examples": ["500ms", "2s", "10m", "1h30m"],
}
RATE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1},
        {"type": "string", "pattern": r"^(100(\.0+)?|\d{1,2}(\.\d+)?)\s*%$"},
    ],
    "examples": ["30%", 0.3],
}
Duration = Annotated[
    int,
    unit_field(parse_duration, "duration"),
    WithJsonSchema(DURATION_SCHEMA),
    PlainSerializer(format_duration, return_type=str),
]
"""A duration written with its unit (``"500ms"``), held in whole nanoseconds."""
Rate = Annotated[float, unit_field(parse_rate, "rate"), WithJsonSchema(RATE_SCHEMA)]
"""A rate written as ``"30%"`` or ``0.3``, held as a fraction in [0, 1]."""


class StrictModel(BaseModel):
    """A model that rejects unknown keys (the error message suggests the closest known one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
