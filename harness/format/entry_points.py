"""Where a scenario's entry point comes from: your own service code, named as
``traffic.entry_point: "package.module:callable"``.

The refusal rules are those of custom breaker factories (:mod:`harness.format.breaker_code`):
loading a scenario runs nothing, so only the module is looked up (not imported) and a standard
library module is refused; the callable itself is imported, and its signature checked, when
the scenario runs (:func:`resolve_entry_point`), before any traffic is sent.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from harness.format.breaker_code import CODE_PATTERN, factory_problem, import_attribute

__all__ = [
    "ENTRY_POINT_PATTERN",
    "entry_point_problem",
    "resolve_entry_point",
    "signature_problem",
]

ENTRY_POINT_PATTERN = CODE_PATTERN
"""``package.module:callable``: one plain attribute of the module, as for breaker factories."""


def entry_point_problem(spec: str) -> str | None:
    """Return why the entry point ``spec`` cannot be used, or None; imports nothing."""
    problem = factory_problem(spec)
    if problem is None:
        return None
    # The factory rules speak of a breaker factory and its impl; say entry point instead.
    return (
        problem.replace("a custom breaker factory", "an entry point")
        .replace(f"impl {spec!r}", f"entry_point {spec!r}")
        .replace("a callable factory", "a callable")
    )


def resolve_entry_point(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:callable"`` and return it; raise ValueError if unusable.

    The callable must accept exactly one positional argument, the request's context. This runs
    the module's code: it is called when a scenario runs, never when one is loaded.
    """
    problem = entry_point_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    target = import_attribute(spec, "entry_point")
    if not callable(target):
        raise ValueError(f"entry_point {spec!r} names a {type(target).__name__}, not a callable")
    problem = signature_problem(target)
    if problem is not None:
        raise ValueError(f"entry_point {spec!r} {problem}")
    return target  # type: ignore[no-any-return]


def signature_problem(target: Callable[..., Any]) -> str | None:
    """Return why ``target`` cannot be called as ``target(context)``, or None."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # some builtins have none: let the call itself tell
        return None
    try:
        signature.bind(object())
    except TypeError:
        shown = f"{getattr(target, '__name__', type(target).__name__)}{signature}"
        return (
            f"must accept one argument, the request's context (async def handle(ctx)); "
            f"it is {shown}"
        )
    return None
