"""Built-in breaker settings that are valid but cannot work as written: warnings, not errors.

A scenario with them still runs (resilience4j accepts them too); ``validate`` says why its
breaker will not behave as its author likely meant.
"""

from __future__ import annotations

from fractions import Fraction

from harness.format.breaker_settings import Breaker
from harness.format.scenario import Scenario

__all__ = ["breaker_warnings"]


def breaker_warnings(scenario: Scenario) -> list[str]:
    """Return one message per built-in breaker setting that cannot work, by key path."""
    found: list[str] = []
    for name, upstream in scenario.upstreams.items():
        breaker = upstream.breaker
        if not isinstance(breaker, Breaker):
            continue
        path = f"upstreams.{name}.breaker.minimum_number_of_calls"
        rate = None if upstream.traffic is None else upstream.traffic.start_rate
        found.extend(f"{path}: {problem}" for problem in _problems(breaker, rate))
    return found


def _problems(breaker: Breaker, rate: Fraction | None) -> list[str]:
    size, minimum = breaker.sliding_window_size, breaker.minimum_number_of_calls
    if size >= minimum and breaker.sliding_window_type == "count":
        return []
    if breaker.sliding_window_type == "count":
        return [
            f"a count window of {size} calls never holds {minimum}; the breaker decides from "
            f"{size} calls on (as resilience4j does)"
        ]
    if rate is None or rate * size >= minimum:  # a time window's size is in seconds
        return []
    return [
        f"at {float(rate):g}/s a {size} s time window holds about {float(rate * size):g} calls, "
        f"fewer than {minimum}: the breaker can never open (bursts aside)"
    ]
