from __future__ import annotations

import harness


def test_the_public_names_are_exactly_all() -> None:
    modules = {name for name, value in vars(harness).items() if type(value).__name__ == "module"}
    public = {name for name in vars(harness) if not name.startswith("_")} - modules
    public.discard("annotations")  # from __future__ import annotations
    assert public == set(harness.__all__) - {"__version__"}
    assert harness.__all__ == sorted(harness.__all__)


def test_the_engine_does_not_import_pytest() -> None:
    import subprocess
    import sys

    code = (
        "import sys, harness, harness.engines.runner, harness.cli, harness.report;"
        "print('pytest' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
