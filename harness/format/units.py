"""Parse and format the units scenario files use; the only place units are parsed.

- durations: ``"500ms"``, ``"1.5s"``, ``"2m"``, ``"1h30m"`` → whole nanoseconds (``int``)
- rates: ``"30%"`` or ``0.3`` → a fraction in [0, 1] (``float``)
- throughputs: ``"20/s"``, ``"1200/m"``, ``"90/h"`` → requests per second (``Fraction``)

Numbers are ASCII decimals without a sign or exponent; the JSON Schema's patterns are the
grammars here, so an editor and the loader accept the same strings. Every parser raises
:class:`ValueError` with a message that quotes the bad value and says what was expected;
callers add the location.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction

from harness.errors import SHOWN_MAX, shorten

__all__ = [
    "DURATION_PATTERN",
    "MAX_DURATION_NS",
    "MAX_REQUESTS_PER_S",
    "NS_PER_MS",
    "NS_PER_S",
    "RATE_PATTERN",
    "THROUGHPUT_PATTERN",
    "format_duration",
    "format_rate",
    "format_throughput",
    "parse_duration",
    "parse_rate",
    "parse_throughput",
    "shorten",
    "shown",
    "vtime",
]

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
MAX_DURATION_NS = 30 * 24 * 3600 * NS_PER_S
"""The longest duration a scenario may write: 30 days.

Every instant a run computes is a sum of a few durations (an arrival before the end, a latency,
a timeout, a breaker's wait). With each at most 30 days (2.6e15 ns) such sums stay below a year:
far inside int64 nanoseconds (292 years), and below 2**53 ns (104 days) for a sum of three, so
they are exact even as floats (asyncio's clock).
"""
MAX_REQUESTS_PER_S = 1_000_000
"""The highest request rate a scenario may write (per upstream)."""

_DURATION_UNITS: dict[str, int] = {
    "h": 3600 * NS_PER_S,
    "m": 60 * NS_PER_S,
    "s": NS_PER_S,
    "ms": NS_PER_MS,
    "us": NS_PER_US,
    "µs": NS_PER_US,
    "ns": 1,
}
# The grammars below are written once and used both here and, verbatim, as the JSON Schema's
# patterns, so the two accept exactly the same strings. They use [0-9], never \d: Python's \d
# also matches other scripts' digits ("٥ms"), and a schema validator may run Python's re.
NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
"""A decimal number as the format writes it: ASCII digits, an optional point, no sign."""
DURATION_PATTERN = (
    "^(?=[0-9.])"  # at least one part
    + "".join(rf"(?:{NUMBER} *{unit} *)?" for unit in ("h", "m", "s", "ms", "(?:us|µs)", "ns"))
    + "$"
)
"""A duration: parts in strictly decreasing units, each at most once (``1h30m``, ``1m 30s``)."""
RATE_PATTERN = (
    r"^(?:0*(?:100(?:\.0*)?|[0-9]{1,2}(?:\.[0-9]*)?|\.[0-9]+) *%"  # 0%-100%
    r"|0+(?:\.[0-9]*)?|0*\.[0-9]+|0*1(?:\.0*)?)$"  # a fraction in [0, 1]
)
"""A rate written as text: a percentage up to 100% or a fraction up to 1."""
THROUGHPUT_PATTERN = rf"^{NUMBER} */ *(?:s|sec|m|min|h)$"
"""A request rate: a number per second, minute or hour."""

_DURATION_PART = re.compile(rf"({NUMBER}) *(ns|us|µs|ms|s|m|h)")
_DURATION = re.compile(DURATION_PATTERN)
_DURATION_PARTS = re.compile(rf"(?:{NUMBER} *(?:ns|us|µs|ms|s|m|h) *)+")
_RATE_TEXT = re.compile(rf"({NUMBER})( *%)?")
_THROUGHPUT = re.compile(rf"({NUMBER}) */ *(s|sec|m|min|h)")
_THROUGHPUT_PER = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
MAX_UNIT_TEXT = 100
"""The longest text a duration, rate or request rate may be: the longest real spelling
(``1h 30m 15s 500ms 250us 125ns``) is under 40 characters, and a bound keeps exact decimal
arithmetic (and the messages that quote the text) small whatever a file holds."""
_DURATION_HINT = "a duration like 500ms, 2s, 10m or 1h30m"
_RATE_HINT = "a rate like 30% or 0.3"
_THROUGHPUT_HINT = "a request rate like 20/s, 600/m or 90/h"


def parse_duration(value: object) -> int:
    """Return the duration ``value`` (e.g. ``"1.5s"``) in whole nanoseconds."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected {_DURATION_HINT}, got {shown(value)} (the unit is required)")
    _check_length(value, _DURATION_HINT)
    if value.startswith("-"):
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    if re.fullmatch(NUMBER, value):
        raise ValueError(f"expected {_DURATION_HINT}, got {value!r} (the unit is required)")
    if not _DURATION.match(value):
        raise ValueError(f"expected {_DURATION_HINT}, got {value!r}{_duration_hint(value)}")
    with localcontext(prec=4 * MAX_UNIT_TEXT):  # exact: every part has at most 100 digits
        total = sum(
            (
                Decimal(number) * _DURATION_UNITS[unit]
                for number, unit in _DURATION_PART.findall(value)
            ),
            Decimal(0),
        )
    if total > MAX_DURATION_NS:
        raise ValueError(f"a duration can be at most 30 days (720h), got {value!r}")
    if total != total.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of nanoseconds")
    return int(total)


def _check_length(value: str, hint: str) -> None:
    """Refuse text too long to be a unit's value, before any arithmetic or quoting."""
    if len(value) > MAX_UNIT_TEXT:
        raise ValueError(
            f"expected {hint}, got {shown(value)} ({len(value):,} characters; "
            f"at most {MAX_UNIT_TEXT})"
        )


def _duration_hint(value: str) -> str:
    if not _DURATION_PARTS.fullmatch(value):  # findall would be quadratic on a long number
        return ""
    units = [unit for _, unit in _DURATION_PART.findall(value)]
    if units and len(set(units)) < len(units):
        return " (each unit at most once)"
    order = list(_DURATION_UNITS)
    if [order.index(unit) for unit in units] != sorted(order.index(unit) for unit in units):
        return " (units from the largest to the smallest, as in 1h30m)"
    return ""


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
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected {_RATE_HINT}, got {shown(value)}")
    if isinstance(value, str):
        _check_length(value, _RATE_HINT)
        match = _RATE_TEXT.fullmatch(value)
        if match is None:
            raise ValueError(f"expected {_RATE_HINT}, got {value!r}")
        number = Decimal(match.group(1))
        fraction = float(number / 100 if match.group(2) else number)
    elif isinstance(value, int) and not 0 <= value <= 1:  # float() of a huge int overflows
        fraction = 2.0
    else:
        fraction = float(value)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a rate must lie between 0% and 100% (0 and 1), got {shown(value)}")
    return fraction


def format_rate(fraction: float) -> str:
    """Return ``fraction`` as a percentage, e.g. ``0.3`` → ``"30%"``."""
    text = f"{fraction * 100:.6f}".rstrip("0").rstrip(".")
    return f"{text}%"


def parse_throughput(value: object) -> Fraction:
    """Return the request rate ``value`` (``"20/s"``) in requests per second, exactly."""
    if not isinstance(value, str):
        raise ValueError(f"expected {_THROUGHPUT_HINT}, got {shown(value)} (the unit is required)")
    _check_length(value, _THROUGHPUT_HINT)
    match = _THROUGHPUT.fullmatch(value)
    if match is None:
        raise ValueError(f"expected {_THROUGHPUT_HINT}, got {value!r}")
    per_second = Fraction(Decimal(match.group(1))) / _THROUGHPUT_PER[match.group(2)]
    if per_second <= 0:
        raise ValueError(f"a request rate must be above zero, got {value!r}")
    if per_second > MAX_REQUESTS_PER_S:
        raise ValueError(f"a request rate can be at most {MAX_REQUESTS_PER_S:,}/s, got {value!r}")
    return per_second


def format_throughput(per_second: Fraction) -> str:
    """Return a request rate as the shortest exact ``N/s``, ``N/m`` or ``N/h`` spelling."""
    units = (("s", 1), ("m", 60), ("h", 3600))
    for unit, scale in units:
        scaled = per_second * scale
        if scaled.denominator == 1:
            return f"{scaled.numerator}/{unit}"
    for unit, scale in units:  # a parsed rate is a decimal per s, m or h: one of these is exact
        decimal = _exact_decimal(per_second * scale)
        if decimal is not None:
            return f"{decimal}/{unit}"
    return f"{_decimal_text(Decimal(float(per_second)))}/s"


def shown(value: object) -> str:
    """Return ``value`` as the file wrote it: true, null, 'text', a mapping, a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and abs(value) >= 10**SHOWN_MAX:
        digits = int((abs(value).bit_length() - 1) * math.log10(2)) + 1  # str() refuses
        digits += abs(value) >= 10**digits  # over 4300 digits, and is slow before that
        return f"a number of {digits:,} digits"
    return shorten(repr(value))


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


def vtime(ns: int) -> str:
    """Return a virtual time or duration as seconds, to the microsecond: ``"34.500012s"``."""
    text = f"{ns / 1e9:.6f}".rstrip("0").rstrip(".")
    return f"{text}s"
