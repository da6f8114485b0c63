"""Burn-rate alert expectations: an alert must fire soon after a phase starts, or must not fire
during one. They read the upstream's error budget (``slo_period`` and a target objective), not a
breaker::

    expect:
      - alert_fires: {factor: 14.4, within: 5m, after_start_of: outage}
      - no_alert_during: {phase: brownout}              # no alert of any factor
      - no_alert_during: {phase: brownout, factor: 14.4}

``factor`` names one alert of the workbook's table (14.4, 6, 3 or 1); without it, any alert.
They are checked by :mod:`harness.verdicts.alert_checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import field_validator

from harness.errors import KeyPath
from harness.format.error_budget import ALERT_PAIRS
from harness.format.fields import Number, StrictModel
from harness.format.phase_windows import Window

__all__ = [
    "ALERT_FACTORS",
    "AlertFires",
    "NoAlertDuring",
    "alert_problems",
    "factor_text",
]

ALERT_FACTORS = tuple(factor for _, _, factor in ALERT_PAIRS)


def factor_text(factor: float | None) -> str:
    """Return ``the 14.4× alert`` or ``an alert`` (no factor: any)."""
    return "an alert" if factor is None else f"the {factor:g}× alert"


def _known_factor(value: float | None) -> float | None:
    if value is None or value in ALERT_FACTORS:
        return value
    nearest = min(ALERT_FACTORS, key=lambda factor: abs(factor - value))
    known = ", ".join(f"{factor:g}" for factor in ALERT_FACTORS)
    raise ValueError(
        f"no burn-rate alert has the factor {value:g}; did you mean {nearest:g}? (the alerts' "
        f"factors: {known})"
    )


class AlertWindow(Window):
    """A deadline after a phase's start (or end) for an alert of a factor (any, if left out)."""

    factor: Number | None = None

    @field_validator("factor")
    @classmethod
    def _factor(cls, value: float | None) -> float | None:
        return _known_factor(value)

    @field_validator("within")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("an alert needs time to fire: give a deadline above zero")
        return value


class AlertFires(StrictModel):
    """A burn-rate alert fires within a deadline after a phase starts (or ends)."""

    alert_fires: AlertWindow

    @property
    def factor(self) -> float | None:
        """Return the alert's factor (None: any alert)."""
        return self.alert_fires.factor

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        return f"{factor_text(self.factor)} {self.alert_fires.text('fires')}"


class PhaseFactor(StrictModel):
    """A named phase, and an alert's factor (any, if left out)."""

    phase: str
    factor: Number | None = None

    @field_validator("factor")
    @classmethod
    def _factor(cls, value: float | None) -> float | None:
        return _known_factor(value)


class NoAlertDuring(StrictModel):
    """No burn-rate alert (of a factor, or of any) fires during a phase."""

    no_alert_during: PhaseFactor

    @property
    def factor(self) -> float | None:
        """Return the alert's factor (None: any alert)."""
        return self.no_alert_during.factor

    @property
    def text(self) -> str:
        """Return the expectation as a sentence."""
        which = "no alert" if self.factor is None else f"the {self.factor:g}× alert never"
        return f"{which} fires during {self.no_alert_during.phase!r}"


def alert_problems(
    expect: Sequence[Any], period_ns: int | None, has_target: bool
) -> list[tuple[KeyPath, str]]:
    """Return a problem per alert expectation of an upstream without an error budget to alert on
    (paths under the upstream); phase names are checked with the breaker expectations'."""
    if period_ns is not None and has_target:
        return []
    missing = [
        *(["slo_period (the period the alert windows scale by)"] if period_ns is None else []),
        *([] if has_target else ["a target objective in slo, like 'success_rate >= 99.9%'"]),
    ]
    return [
        (
            ("expect", index, _key(item)),
            f"burn-rate alerts need an error budget: add {' and '.join(missing)}",
        )
        for index, item in enumerate(expect)
        if isinstance(item, AlertFires | NoAlertDuring)
    ]


def _key(item: AlertFires | NoAlertDuring) -> str:
    return "alert_fires" if isinstance(item, AlertFires) else "no_alert_during"
