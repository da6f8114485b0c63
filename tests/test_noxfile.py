"""The nox sessions run what the README and CI say they run: the suite on a fast profile with
the shared inner sessions started once, and ``deep`` with every full example count."""

from __future__ import annotations

import re
from typing import Any

from tests import support
from tests.support import ROOT, noxfile


class Session:
    """Records what a session installs and runs."""

    def __init__(self) -> None:
        self.posargs: list[str] = []
        self.installed: list[str] = []
        self.ran: list[str] = []
        self.env: dict[str, str] = {}

    def install(self, *arguments: str, env: object = None) -> None:
        self.installed += arguments

    def run(self, *arguments: str, env: dict[str, Any] | None = None) -> None:
        self.ran += arguments
        self.env.update(env or {})

    def log(self, *arguments: object) -> None:
        pass


def test_deep_runs_every_file_with_a_fast_profile_with_full_counts() -> None:
    session = Session()
    noxfile().deep(session)
    using = sorted(
        f"tests/{path.name}"
        for path in (ROOT / "tests").glob("test_*.py")
        if any(mark in path.read_text(encoding="utf-8") for mark in noxfile().DEEP_MARKS)
    )
    assert {"tests/test_breaker_model.py", "tests/test_fault_ramps.py"} <= set(using)
    assert [argument for argument in session.ran if argument.startswith("tests/")] == using
    assert session.env["SLO_TESTS_DEEP"] == "1"


def test_the_suite_runs_in_parallel_on_the_fast_profile() -> None:
    session = Session()
    noxfile().tests(session)
    assert session.ran[:5] == ["pytest", "-n", "auto", "--dist", "worksteal"]
    assert "SLO_TESTS_DEEP" not in session.env


def test_the_fast_profile_draws_fewer_examples_than_the_deep_one() -> None:
    assert support.examples(deep=1_000, fast=150) == (1_000 if support.DEEP else 150)
    assert (["http", "direct"] if support.DEEP else ["direct"]) == support.ENGINES


def test_no_test_times_itself_against_the_wall_clock() -> None:
    """Tests never depend on the machine's speed: no assertion on elapsed real time (speed
    goals live in ``nox -s bench``). A test that must show something happens "at once" asserts
    what did not happen instead (e.g. the ``network_calls`` fixture)."""
    timed = re.compile(
        r"assert\s.*(perf_counter|monotonic|process_time|time\.time)\(\)\s*-\s*\w+\s*[<=]"
    )
    found = [
        f"{path.name}:{number}"
        for path in sorted((ROOT / "tests").glob("test_*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if timed.search(line) and "virtual" not in line
    ]
    assert found == []
