"""Parse and format the units scenario files use; the only place units are parsed.

- durations: ``"500ms"``, ``"1.5s"``, ``"2m"``, ``"1h30m"`` → whole nanoseconds (``int``)
- rates: ``"30%"`` or ``0.3`` → a fraction in [0, 1] (``float``)
- throughputs: ``"20/s"``, ``"1200/m"``, ``"90/h"`` → requests per second (``Fraction``)

Every parser raises :class:`ValueError` with a message that quotes the bad value and says what
was expected; callers add the location.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

__all__ = [
    "NS_PER_MS",
    "NS_PER_S",
    "format_duration",
    "format_rate",
    "format_throughput",
    "parse_duration",
    "parse_rate",
    "parse_throughput",
]

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000

_DURATION_UNITS: dict[str, int] = {
    "ns": 1,
    "us": NS_PER_US,
    "µs": NS_PER_US,
    "ms": NS_PER_MS,
    "s": NS_PER_S,
    "m": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION_PART = re.compile(rf"({_NUMBER})(ns|us|µs|ms|s|m|h)")
_DURATION_WHOLE = re.compile(rf"(?:{_NUMBER}(?:ns|us|µs|ms|s|m|h))+")
_THROUGHPUT = re.compile(rf"({_NUMBER})\s*/\s*(s|sec|m|min|h)")
_THROUGHPUT_PER = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_DURATION_HINT = "a duration like 500ms, 2s, 10m or 1h30m"
_RATE_HINT = "a rate like 30% or 0.3"
_THROUGHPUT_HINT = "a request rate like 20/s, 600/m or 90/h"


def parse_duration(value: object) -> int:
    """Return the duration ``value`` (e.g. ``"1.5s"``) in whole nanoseconds."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected {_DURATION_HINT}, got {value!r} (the unit is required)")
    text = value.strip().replace(" ", "")
    if text.startswith("-"):
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    if re.fullmatch(_NUMBER, text):
        raise ValueError(f"expected {_DURATION_HINT}, got {value!r} (the unit is required)")
    if not _DURATION_WHOLE.fullmatch(text):
        raise ValueError(f"expected {_DURATION_HINT}, got {value!r}")
    total = Decimal(0)
    for number, unit in _DURATION_PART.findall(text):
        total += Decimal(number) * _DURATION_UNITS[unit]
    if total != total.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of nanoseconds")
    return int(total)


def format_duration(ns: int) -> str:
    """Return the shortest exact spelling of ``ns`` nanoseconds; the inverse of parse_duration."""
    if ns < 0:
        raise ValueError(f"a duration cannot be negative, got {ns} ns")
    if ns == 0:
        return "0s"
    for unit in ("h", "m", "s", "ms", "us"):
        scale = _DURATION_UNITS[unit]
        if ns >= scale and ns % scale == 0:
            return f"{ns // scale}{unit}"
    if ns >= NS_PER_S:  # not whole in any unit above: write seconds with the exact decimals
        return f"{_decimal_text(Decimal(ns) / NS_PER_S)}s"
    if ns >= NS_PER_MS:
        return f"{_decimal_text(Decimal(ns) / NS_PER_MS)}ms"
    return f"{ns}ns"


def parse_rate(value: object) -> float:
    """Return the rate ``value`` (``"30%"`` or ``0.3``) as a fraction in [0, 1]."""
    if isinstance(value, bool):
        raise ValueError(f"expected {_RATE_HINT}, got {value!r}")
    if isinstance(value, int | float):
        fraction = float(value)
        shown = repr(value)
    elif isinstance(value, str) and value.strip().endswith("%"):
        number = _to_decimal(value.strip()[:-1].strip(), value, _RATE_HINT)
        fraction = float(number / 100)
        shown = repr(value)
    elif isinstance(value, str):
        fraction = float(_to_decimal(value.strip(), value, _RATE_HINT))
        shown = repr(value)
    else:
        raise ValueError(f"expected {_RATE_HINT}, got {value!r}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a rate must lie between 0% and 100% (0 and 1), got {shown}")
    return fraction


def format_rate(fraction: float) -> str:
    """Return ``fraction`` as a percentage, e.g. ``0.3`` → ``"30%"``."""
    text = f"{fraction * 100:.6f}".rstrip("0").rstrip(".")
    return f"{text}%"


def parse_throughput(value: object) -> Fraction:
    """Return the request rate ``value`` (``"20/s"``) in requests per second, exactly."""
    if not isinstance(value, str):
        raise ValueError(f"expected {_THROUGHPUT_HINT}, got {value!r} (the unit is required)")
    match = _THROUGHPUT.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"expected {_THROUGHPUT_HINT}, got {value!r}")
    per_second = Fraction(Decimal(match.group(1))) / _THROUGHPUT_PER[match.group(2)]
    if per_second <= 0:
        raise ValueError(f"a request rate must be above zero, got {value!r}")
    return per_second


def format_throughput(per_second: Fraction) -> str:
    """Return a request rate as the shortest exact ``N/s``, ``N/m`` or ``N/h`` spelling."""
    for unit, scale in (("s", 1), ("m", 60), ("h", 3600)):
        scaled = per_second * scale
        if scaled.denominator == 1:
            return f"{scaled.numerator}/{unit}"
    decimal = _exact_decimal(per_second)
    return f"{decimal}/s" if decimal is not None else f"{float(per_second)!r}/s"


def _to_decimal(text: str, original: object, hint: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"expected {hint}, got {original!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected {hint}, got {original!r}")
    return number


def _decimal_text(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _exact_decimal(value: Fraction) -> str | None:
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return None
    return _decimal_text(Decimal(value.numerator) / Decimal(value.denominator))
