"""Sessions: ``tests`` (the test suite), ``slo`` (every shipped scenario, reports in reports/),
``lint`` (ruff and mypy), ``deep`` (the property tests with their full example counts),
``bench`` (benchmarks against peers) and ``fuzz`` (the loader, deeply); the last three are not
run by default. Extra arguments after ``--`` go to the tool, e.g. ``nox -s slo -- -k outage``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "slo", "lint"]
nox.options.reuse_existing_virtualenvs = True
# uv makes and fills a session's environment in seconds where virtualenv and pip take most of a
# minute (measured: 8 s against 52 s for the tests session's); without uv, nox uses virtualenv.
# `pip install 'nox[uv]'` (the README's quick start) brings it.
nox.options.default_venv_backend = "uv|virtualenv"

ROOT = Path(__file__).parent
REPORTS = ROOT / "reports"


def install(session: nox.Session, *extras: str, also: tuple[str, ...] = ()) -> None:
    """Install the project (editable) with ``extras``, and the requirements ``also``, into the
    session's environment, unless it already holds them for this pyproject.toml.

    The install is editable, so code changes need no reinstall; only a change to pyproject.toml
    (dependencies, entry points) does. Skipping pip saves ~6 s per run of a reused environment.
    """
    target = f".[{','.join(extras)}]" if extras else "."
    wanted = " ".join((target, *also)).encode()
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + wanted).hexdigest()
    location = getattr(getattr(session, "virtualenv", None), "location", None)
    stamp = Path(location) / f".slo-harness-{digest[:16]}" if location else None
    if stamp is not None and stamp.exists():
        session.log(f"{target} already installed for this pyproject.toml")
        return
    # Compiled at install, on every core, rather than by each test worker at first import.
    session.install("-e", target, *also, env={"UV_COMPILE_BYTECODE": "1"})
    if stamp is not None:
        stamp.touch()


# One worker per core; an idle worker takes tests queued for a busy one (worksteal), so a few
# long tests at the end do not leave the other core idle (80 s against 86 s for `load` here).
PARALLEL = ("-n", "auto", "--dist", "worksteal")


def _scratch() -> dict[str, str]:
    """Put the tests' temporary folders in memory where the machine has a tmpfs: the report
    tests write and fsync thousands of small files (the kill-at-every-step test alone ~1 000),
    which on a disk costs more than the work they check."""
    memory = Path("/dev/shm")
    if "TMPDIR" not in os.environ and memory.is_dir() and os.access(memory, os.W_OK):
        return {"TMPDIR": str(memory)}
    return {}


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit, property-based, plugin and browser tests); the costliest
    property tests draw a fast profile of examples (``nox -s deep`` draws all)."""
    install(session, "test", "report", "examples")  # examples/ runs the real SDKs under test
    session.run("pytest", *PARALLEL, *session.posargs, env=_scratch())


DEEP_MARKS = ("examples(deep=", "ENGINES", "only_deep")  # tests.support's fast and deep forms


def _deep_tests() -> list[str]:
    """The test files that do less on a fast run than on a deep one (``tests.support``)."""
    return sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").glob("test_*.py")
        if any(mark in path.read_text(encoding="utf-8") for mark in DEEP_MARKS)
    )


@nox.session
def deep(session: nox.Session) -> None:
    """Run the property tests that ``nox -s tests`` runs on a fast profile with their full
    example counts (``SLO_TESTS_DEEP=1``); CI runs it once."""
    install(session, "test", "report", "examples")
    environment = {**_scratch(), "SLO_TESTS_DEEP": "1"}
    session.run("pytest", *PARALLEL, *_deep_tests(), *session.posargs, env=environment)


@nox.session
def slo(session: nox.Session) -> None:
    """Run every scenario under scenarios/; write every report into reports/.

    junit.xml, slo-report.html, slo-results.json, slo-metrics.txt, and per scenario its
    timeseries.csv, p95-results.json and status.json (see harness/report/bundle.py).
    """
    # The shipped scenarios drive every library. `nox -s slo -- -n 2` (README, DESIGN) runs the
    # scenarios in parallel: pytest-xdist is in neither extra (only in "test", with far more).
    install(session, "report", "breakers", also=("pytest-xdist>=3.5",))
    session.run(
        "pytest",
        "scenarios/",
        "-p",
        "no:cacheprovider",
        f"--slo-reports={REPORTS}",
        *session.posargs,
    )


@nox.session
def fuzz(session: nox.Session) -> None:
    """Fuzz the scenario loader deeply (the suite runs the same tests on a fast profile):
    every input must load or raise a located ScenarioError. ``SLO_FUZZ_EXAMPLES`` sets the
    examples per test (default here 5000)."""
    install(session, "test")
    examples = os.environ.get("SLO_FUZZ_EXAMPLES", "5000")
    arguments = ["tests/test_loader_fuzz.py", "-p", "no:cacheprovider", *session.posargs]
    session.run("pytest", *arguments, env={"SLO_FUZZ_EXAMPLES": examples})


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks: ratios against peers measured in the same run; JSON in reports/."""
    install(session, "bench")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style (ruff), types (mypy, strict on the package) and the layout (imports flow one
    way through the package's parts, no cycles: tests/test_layout.py)."""
    install(session, "lint", "test", "report", "service")  # mypy reads every module
    session.run("ruff", "check", "harness", "tests", "benchmarks", "examples", "noxfile.py")
    session.run(
        "ruff", "format", "--check", "harness", "tests", "benchmarks", "examples", "noxfile.py"
    )
    session.run("mypy")
    session.run("pytest", "tests/test_layout.py", "-q", "-p", "no:cacheprovider")
