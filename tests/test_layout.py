"""The package's layout: imports flow one way through its parts, with no cycles.

An AST walk over ``harness/`` (no import-linter): it reads every import a module makes, at
the top, inside functions and under ``TYPE_CHECKING`` alike (a type-only import is still a
dependency of the design), resolves ``from harness.x import y`` to the module ``y`` where one
exists, and checks two rules, with the offending file named:

- **Layers.** A module imports only from its own part or from parts below it (``LAYERS``, lowest
  first); parts on one layer do not import each other; nothing imports the facade
  (``harness/__init__.py``), and only the faces import pytest.
- **No cycles** between modules, whatever their parts.

Chosen over import-linter: ~80 lines with no dependency, it sees function-level and
``TYPE_CHECKING`` imports (import-linter's graph builder skips the latter by default), and it
finds cycles of any length, which import-linter's layer contracts do not report as such. It runs
in ``nox -s lint`` and in the suite; a test below proves each rule fails on a planted violation.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "harness"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("harness.version", "harness.errors", "harness.events"),
    ("harness.clock",),
    ("harness.format",),
    ("harness.upstreams", "harness.breakers"),
    ("harness.verdicts",),
    ("harness.engines",),
    ("harness.report",),
    ("harness.explore",),
    (
        "harness.options",
        "harness.cli",
        "harness.strategies",
        "harness.pytest_plugin",
        "harness.__main__",
    ),
)
"""The parts of the package, lowest first: the data flow of DESIGN.md. A part is a module or a
package with everything below it."""

FACES = LAYERS[-1]
Graph = dict[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of the module at ``path`` inside the package at ``root``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> tuple[Graph, dict[str, set[str]], dict[str, Path]]:
    """Return (module → package modules it imports, module → top-level names of every import,
    module → its file) for the package at ``root``."""
    files = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    graph: Graph = {}
    externals: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, name, is_package)
                targets.update(
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    for alias in node.names
                )
        graph[name] = {target for target in targets if target in files and target != name}
        externals[name] = {target.split(".")[0] for target in targets}
    return graph, externals, files


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    here = module.split(".") if is_package else module.split(".")[:-1]
    base = here[: len(here) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def layer_of(module: str) -> tuple[int, str] | None:
    """Return (layer index, part) of ``module``, or None for the facade."""
    for index, parts in enumerate(LAYERS):
        for part in parts:
            if module == part or module.startswith(f"{part}."):
                return index, part
    return None


def layer_violations(graph: Mapping[str, set[str]], externals: Mapping[str, set[str]]) -> list[str]:
    """Return every import against the layers, as ``importer -> imported: why``."""
    found = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        if "pytest" in externals[module] and (own is None or own[1] not in FACES):
            found.append(f"{module} -> pytest: only the faces {FACES} may import pytest")
        for target in sorted(targets):
            theirs = layer_of(target)
            if theirs is None:
                found.append(f"{module} -> {target}: nothing inside imports the facade")
            elif own is not None and theirs[0] > own[0]:
                found.append(f"{module} -> {target}: {own[1]} is below {theirs[1]}")
            elif own is not None and own[0] == theirs[0] != len(LAYERS) - 1 and own != theirs:
                found.append(f"{module} -> {target}: {own[1]} and {theirs[1]} are siblings")
    return found


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Return the import cycles: strongly connected components of more than one module, each
    sorted (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_imports_flow_one_way_through_the_layers() -> None:
    graph, externals, _ = import_graph(PACKAGE)
    assert layer_violations(graph, externals) == []


def test_no_import_cycles() -> None:
    graph, _, _ = import_graph(PACKAGE)
    assert cycles(graph) == []


def test_every_module_is_in_a_part() -> None:
    _, _, files = import_graph(PACKAGE)
    assert sorted(name for name in files if layer_of(name) is None) == ["harness"]


def test_at_most_a_dozen_modules_at_the_top() -> None:
    top = [path.name for path in PACKAGE.glob("*.py")]
    assert len(top) <= 12, top


def _plant(root: Path, files: Mapping[str, str]) -> Path:
    package = root / "harness"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return package


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "__init__.py": "",
                "format/__init__.py": "",
                "format/a.py": "from harness.format import b\n",
                "format/b.py": "def f():\n    from harness.format.c import x\n",
                "format/c.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from harness.format.a import y\n",
            },
            [["harness.format.a", "harness.format.b", "harness.format.c"]],
            id="a cycle of three through a function-level and a type-only import",
        ),
        pytest.param(
            {
                "__init__.py": "",
                "errors.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from harness.verdicts.result import Result\n",
                "verdicts/__init__.py": "",
                "verdicts/result.py": "from ..errors import HarnessError\n",
            },
            [["harness.errors", "harness.verdicts.result"]],
            id="a cycle across parts through a relative import",
        ),
    ],
)
def test_a_planted_cycle_is_found(
    tmp_path: Path, files: Mapping[str, str], expected: list[list[str]]
) -> None:
    graph, _, _ = import_graph(_plant(tmp_path, files))
    assert cycles(graph) == expected


def test_planted_layer_violations_are_found(tmp_path: Path) -> None:
    package = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "format/__init__.py": "",
            "format/model.py": "from harness.verdicts.result import Result\n",
            "breakers/__init__.py": "",
            "breakers/core.py": "from harness.upstreams import faults\nimport pytest\n",
            "upstreams/__init__.py": "",
            "upstreams/faults.py": "import harness\n",
            "verdicts/__init__.py": "",
            "verdicts/result.py": "",
        },
    )
    graph, externals, _ = import_graph(package)
    assert layer_violations(graph, externals) == [
        f"harness.breakers.core -> pytest: only the faces {FACES} may import pytest",
        "harness.breakers.core -> harness.upstreams.faults: harness.breakers and "
        "harness.upstreams are siblings",
        "harness.format.model -> harness.verdicts.result: harness.format is below harness.verdicts",
        "harness.upstreams.faults -> harness: nothing inside imports the facade",
    ]
