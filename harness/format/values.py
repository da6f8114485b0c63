"""The one way values are shown to people: terminal, failure messages, JUnit, HTML, summaries.

Numbers keep at least 4 significant digits and 3 decimals (``11.107ms``, ``96.882%``,
``180.854s``) and never look rounder than they are: a value that rounds to ``100`` but is not
100 gets the digits that show it (``99.9996%``, not ``100%``). Given the value it is compared
with (an objective's threshold), a value also gets the digits that tell the two apart, so a
failing check never reads ``observed 100%`` against ``>= 100%``.

Rates are shown as percentages, and times in automatic units as k6 shows them: milliseconds
below a second (``523.4ms``), seconds from one second on (``1.115s``, never ``1115.021ms`` beside
``1.459s``) — by exact decimal arithmetic on the shortest form of the float, so ``0.07`` is
``7%``, never ``7.000000000000001%``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

__all__ = ["format_number", "format_value"]

_SCALES = {"ratio": (Decimal(100), "%")}
_TIME_UNITS = ("ms", "duration_ms")  # values in milliseconds, shown in ms or s by their size
_SECONDS = (Decimal("0.001"), "s")
_MILLISECONDS = (None, "ms")


def format_value(
    value: Any, unit: str | None, *, missing: str = "no data", beside: Any = None
) -> str:
    """Return ``value`` (in ``unit``, as results' JSON holds it) as a person reads it.

    ``beside`` is a value it is shown next to (a threshold): where the two differ, their texts
    differ too.
    """
    if value is None:
        return missing
    if isinstance(value, str | bool):
        return str(value)
    if isinstance(value, list):  # a sequence of states
        return " → ".join(_folded([str(state) for state in value]))
    if isinstance(value, Mapping):
        return ", ".join(
            f"{key} {format_value(item, unit, missing='-')}" for key, item in value.items()
        )
    if unit == "count":
        return str(int(value))
    if unit in _TIME_UNITS:
        scale, suffix = _SECONDS if abs(value) >= 1000 else _MILLISECONDS
    else:
        scale, suffix = _SCALES.get(unit or "", (None, f" {unit}" if unit else ""))
    other = beside if _is_number(beside) else None
    return format_number(value, scale=scale, beside=other) + suffix


def format_number(
    value: float, *, scale: Decimal | None = None, beside: float | None = None
) -> str:
    """Return ``value × scale`` with at least 4 significant digits and 3 decimals, no trailing
    zeros, never rounded to look exact when it is not, and different from ``beside`` (scaled
    alike) wherever the two values differ."""
    if not math.isfinite(value):
        return str(value)
    number = _decimal(value, scale)
    if beside is None or not math.isfinite(beside) or float(beside) == float(value):
        return _shown(number, None)
    return _shown(number, _shown(_decimal(beside, scale), None))


def _decimal(value: float, scale: Decimal | None) -> Decimal:
    # The shortest decimal that round-trips the float, scaled exactly (no binary artefacts).
    number = Decimal(repr(float(value)))
    return number if scale is None else number * scale


def _shown(number: Decimal, avoid: str | None) -> str:
    """Return ``number`` rounded to the fewest decimals (3 at least) that keep 4 significant
    digits, do not end in a rounded-away zero and do not read as ``avoid``."""
    if number == number.to_integral_value():
        return _plain(number)
    places = max(3, 3 - number.adjusted())
    with localcontext() as context:
        context.prec = 60  # enough for any float's digits at any of these places
        while True:
            rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
            text = _plain(rounded)
            if rounded == number:
                return text
            looks_exact = rounded.as_tuple().digits[-1] == 0  # e.g. 99.9996 → 100.000
            if not looks_exact and text != avoid:
                return text
            places += 1


def _plain(number: Decimal) -> str:
    """Return ``number`` in positional notation without trailing zeros (``-0`` as ``0``)."""
    text = format(number.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _folded(states: list[str]) -> list[str]:
    """Return ``states`` with a repeated pair written once: ``(HALF_OPEN → OPEN) ×5``."""
    folded: list[str] = []
    index = 0
    while index < len(states):
        pair = states[index : index + 2]
        repeats = 1
        while len(pair) == 2 and states[index + 2 * repeats : index + 2 * repeats + 2] == pair:
            repeats += 1
        if repeats > 2:
            folded.append(f"({' → '.join(pair)}) ×{repeats}")
            index += 2 * repeats
        else:
            folded.append(states[index])
            index += 1
    return folded
