"""Where a breaker under test comes from: a third-party library, which must be installed, or
your own factory (``impl: "package.module:factory"``), found without running it.

Loading a scenario must run nothing from it: :func:`factory_problem` looks a factory's module up
the way an import would find it, without importing it; :func:`resolve_factory` imports it when
the scenario runs.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "CODE_PATTERN",
    "THIRD_PARTY",
    "factory_origin",
    "factory_problem",
    "import_attribute",
    "library_problem",
    "resolve_factory",
]

# An identifier not starting with "__" (no __class__, __builtins__, __import__): written
# without look-ahead, which pydantic's regex engine lacks.
_PART = r"(?:[A-Za-z][A-Za-z0-9_]*|_[A-Za-z0-9][A-Za-z0-9_]*|_)"
CODE_PATTERN = rf"^{_PART}(?:\.{_PART})*:{_PART}$"
"""``package.module:name``: a module's dotted name, then one plain attribute of it (no chain
through other objects): how a scenario names code of your own (a factory, an entry point)."""

THIRD_PARTY = ("pybreaker", "aiobreaker", "circuitbreaker", "purgatory")
"""The third-party libraries a scenario can name as ``impl``."""


def library_problem(impl: str) -> str | None:
    """Return why the library ``impl`` cannot be used here, or None when it can."""
    if impl not in THIRD_PARTY or importlib.util.find_spec(impl) is not None:
        return None
    return (
        f"impl {impl!r} needs the {impl} package, which is not installed "
        f"(pip install 'slo-harness[{impl}]' or pip install {impl})"
    )


def factory_problem(spec: str) -> str | None:
    """Return why the factory ``"package.module:factory"`` cannot be used, or None.

    Nothing is imported: importing runs the module's code, and loading a scenario must not run
    anything. The module is looked up on the path, package by package, by the same finders an
    import uses; its attribute is looked for when the scenario runs.
    """
    module_name = spec.partition(":")[0]
    top = module_name.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return (
            f"a custom breaker factory must be your own code, not the standard library's "
            f"{top!r} (impl {spec!r})"
        )
    found = _find(module_name)
    if isinstance(found, str):
        return f"no module {found!r} can be found for impl {spec!r} (is it on sys.path?)"
    return None


def factory_origin(spec: str) -> str | None:
    """Return the file the factory ``"package.module:factory"`` would be imported from (found
    without importing it), or None when it cannot be found."""
    found = _find(spec.partition(":")[0])
    if isinstance(found, str):
        return None
    return found.origin


def _find(module_name: str) -> importlib.machinery.ModuleSpec | str:
    """Find ``module_name`` package by package without importing it; return its spec, or the
    first part that cannot be found."""
    locations: list[str] | None = None
    found: importlib.machinery.ModuleSpec | None = None
    parts = module_name.split(".")
    for end in range(1, len(parts) + 1):
        name = ".".join(parts[:end])
        try:  # find_spec imports a dotted name's parents: only the top level is given to it
            found = (
                importlib.util.find_spec(name)
                if locations is None
                else importlib.machinery.PathFinder.find_spec(name, locations)
            )
        except (ImportError, ValueError):  # a module without a spec, such as __main__
            found = None
        if found is None:
            return name
        locations = list(found.submodule_search_locations or [])
    assert found is not None
    return found


def resolve_factory(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:factory"`` and return the factory; raise ValueError if unusable.

    This runs the module's code: it is called when a scenario runs, never when one is loaded.
    """
    problem = factory_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    target = import_attribute(spec, "impl")
    if not callable(target):
        raise ValueError(f"impl {spec!r} names a {type(target).__name__}, not a callable factory")
    return target  # type: ignore[no-any-return]


def import_attribute(spec: str, key: str) -> Any:
    """Import the module of ``"package.module:name"`` and return its attribute ``name``; raise
    ValueError (naming the scenario's ``key``) unless it is one plain attribute of that very
    module: no chain through other objects, no dunder, no module ``sys.modules`` swapped in."""
    module_name, _, attribute = spec.partition(":")
    if "." in attribute or attribute.startswith("__"):  # the format refuses them; so does this
        raise ValueError(f"{key} {spec!r} must name one plain attribute of its module")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # any failure to import user code is reported, not raised
        raise ValueError(
            f"cannot import {module_name!r} for {key} {spec!r}: {type(error).__name__}: {error}"
        ) from None
    if getattr(module, "__name__", None) != module_name:  # sys.modules made it another module
        raise ValueError(f"importing {module_name!r} gave the module {module.__name__!r}")
    target: Any = getattr(module, attribute, None)
    if target is None:
        raise ValueError(f"{module_name!r} has no attribute {attribute!r} ({key} {spec!r})")
    return target
