"""Third-party breakers as the system under test: each library's cycle at the virtual times its
documentation promises, on both engines; what the run records; the wall clock; user factories;
missing libraries; memory over long OPEN spells."""

from __future__ import annotations

import importlib.util
import traceback
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import harness.engines.runner
import harness.format.breaker_code
from harness import BreakerState, CircuitOpenError, HarnessError, Outcome, ScenarioError, run
from harness.breakers.adapters import create_guard
from harness.cli import main
from harness.clock import VirtualClock
from harness.format.loader import load_scenario
from harness.strategies import library_breakers, scenarios
from tests.support import SCENARIOS, scenario
from tests.test_engines import assert_same

OPEN, HALF_OPEN, CLOSED = "OPEN", "HALF_OPEN", "CLOSED"

# (virtual seconds, state entered), as each scenario's comments derive them from the docs.
PROMISED = {
    "pybreaker": [
        (62.02, OPEN),  # the 5th consecutive failure (fail_max 5) answers
        (92.5, HALF_OPEN),  # first call once reset_timeout (30s) has passed
        (92.52, OPEN),  # the trial call fails: Vertex is still down
        (123.0, HALF_OPEN),
        (123.7, CLOSED),  # the second successful trial (success_threshold 2)
    ],
    "aiobreaker": [
        (62.02, OPEN),
        (107.5, HALF_OPEN),  # timeout_duration 45s
        (107.52, OPEN),
        (153.0, HALF_OPEN),
        (153.2, CLOSED),
    ],
    "circuitbreaker": [
        (62.02, OPEN),
        (92.5, HALF_OPEN),  # HALF_OPEN from 92.02s (recovery_timeout 30s), seen at the next call
        (92.52, OPEN),
        (123.0, HALF_OPEN),
        (123.2, CLOSED),
    ],
    "purgatory": [
        (61.02, OPEN),  # threshold 3
        (81.5, HALF_OPEN),  # the first call strictly after ttl (20s)
        (81.52, OPEN),
        (102.0, HALF_OPEN),
        (102.02, OPEN),
        (122.5, HALF_OPEN),
        (122.7, CLOSED),
    ],
}


def moves(result: Any, upstream: str = "vertex") -> list[tuple[float, str]]:
    breaker = result.upstreams[upstream].breaker
    return [(move.at_ns / 1e9, move.target.name) for move in breaker.transitions]


@pytest.mark.parametrize("impl", sorted(PROMISED))
@pytest.mark.parametrize("engine", ["http", "direct"])
def test_each_library_cycles_at_the_promised_virtual_times(impl: str, engine: str) -> None:
    result = run(load_scenario(SCENARIOS / f"{impl}-outage.yaml"), engine=engine)
    assert moves(result) == PROMISED[impl]
    assert result.upstreams["vertex"].breaker.impl == impl  # type: ignore[union-attr]
    assert result.passed, result.failure_text()


@pytest.mark.parametrize("impl", sorted(PROMISED))
def test_the_call_that_trips_the_breaker_is_recorded_with_the_upstreams_answer(impl: str) -> None:
    # pybreaker and aiobreaker raise "circuit opened" from that call instead of its error.
    result = run(load_scenario(SCENARIOS / f"{impl}-outage.yaml"), engine="direct")
    samples = result.upstreams["vertex"].samples
    tripped = moves(result)[0][0]
    ends = (samples.start_ns + samples.latency_ns) / 1e9
    tripping = [i for i in range(len(samples)) if abs(ends[i] - tripped) < 1e-9]
    assert [(samples.outcome[i], samples.status[i]) for i in tripping] == [
        (Outcome.HTTP_ERROR, 503)
    ]
    rejected = samples.outcome == Outcome.SHORT_CIRCUITED
    assert set(samples.state[rejected].tolist()) == {BreakerState.OPEN}


def test_the_wall_clock_is_patched_once_per_run_and_only_when_a_breaker_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entered: list[object] = []
    real = harness.engines.runner.WallClockPatch

    def counting(clock: VirtualClock) -> Any:
        entered.append(clock)
        return real(clock)

    monkeypatch.setattr(harness.engines.runner, "WallClockPatch", counting)
    two_libraries = """
        duration: 5s
        upstreams:
          a: {traffic: {rate: 5/s}, breaker: {impl: pybreaker}}
          b: {traffic: {rate: 5/s}, breaker: {impl: purgatory}}
          c: {traffic: {rate: 5/s}, breaker: {}}
    """
    run(scenario(two_libraries))
    assert len(entered) == 1
    run(scenario("duration: 5s\nupstreams: {c: {traffic: {rate: 5/s}, breaker: {}}}"))
    assert len(entered) == 1
    own = "{impl: 'tests.custom_breakers:counting', wall_clock: false}"
    run(scenario(f"duration: 5s\nupstreams: {{c: {{traffic: {{rate: 5/s}}, breaker: {own}}}}}"))
    assert len(entered) == 1


def test_the_library_reads_virtual_time_not_real_time() -> None:
    # An hour of OPEN wait passes in virtual time: the breaker half-opens on schedule.
    loaded = scenario(
        """
        duration: 2h
        upstreams:
          vertex:
            latency: 10ms
            timeline: [{from: 0s, to: 1m, failure_rate: 100%}]
            traffic: {rate: 1/m}
            breaker: {impl: aiobreaker, fail_max: 1, timeout_duration: 1h}
        """
    )
    assert moves(run(loaded, engine="direct")) == [
        (0.01, OPEN),
        (3660.0, HALF_OPEN),  # the first arrival at least 1h after 10ms
        (3660.01, CLOSED),
    ]


class TestMissingLibrary:
    TEXT = "duration: 1m\nupstreams:\n  vertex:\n    breaker: {impl: pybreaker, fail_max: 3}\n"

    @pytest.fixture(autouse=True)
    def _without_pybreaker(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = importlib.util.find_spec
        monkeypatch.setattr(
            harness.format.breaker_code.importlib.util,
            "find_spec",
            lambda name, *args: None if name == "pybreaker" else real(name, *args),
        )

    def test_is_a_located_error(self) -> None:
        with pytest.raises(ScenarioError) as caught:
            scenario(self.TEXT, "vertex.yaml")
        assert str(caught.value) == (
            "vertex.yaml:4:21: upstreams.vertex.breaker.impl: impl 'pybreaker' needs the "
            "pybreaker package, which is not installed (pip install 'slo-harness[pybreaker]' "
            "or pip install pybreaker)"
        )

    def test_exits_2_on_the_command_line(
        self, tmp_path: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = tmp_path / "vertex.yaml"
        path.write_text(self.TEXT)
        assert main(["run", str(path)]) == 2
        assert "needs the pybreaker package" in capsys.readouterr().err

    def test_is_a_collection_error_under_pytest(self, pytester: pytest.Pytester) -> None:
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        pytester.makefile(".yaml", vertex=self.TEXT)
        outcome = pytester.runpytest("vertex.yaml", "-p", "no:cacheprovider")
        outcome.assert_outcomes(errors=1)
        outcome.stdout.fnmatch_lines(["*vertex.yaml:4:21: *needs the pybreaker package*"])
        assert "Traceback" not in outcome.stdout.str()


def test_a_library_missing_at_run_time_is_a_harness_error(monkeypatch: pytest.MonkeyPatch) -> None:
    config = scenario("duration: 1m\nupstreams: {v: {breaker: {impl: purgatory}}}").upstreams["v"]
    monkeypatch.setitem(__import__("sys").modules, "harness.breakers.adapters.purgatory", None)
    with pytest.raises(HarnessError, match=r"upstreams\.v\.breaker: cannot load the adapter"):
        create_guard(config.breaker, "v", VirtualClock(), lambda *args: None)


FLAKY = """
duration: 20s
engine: direct
upstreams:
  vertex:
    latency: 10ms
    timeline: [{name: outage, from: 2s, to: 5s, failure_rate: 100%}]
    traffic: {rate: 2/s}
    breaker: BREAKER
"""


class TestYourOwnBreaker:
    def test_a_factory_returning_a_library_breaker_is_driven_as_that_library(self) -> None:
        impl = "tests.custom_breakers:configured_pybreaker"
        breaker = f"{{impl: '{impl}', settings: {{fail_max: 2, reset_timeout: 1}}}}"
        result = run(scenario(FLAKY.replace("BREAKER", breaker)))
        assert result.upstreams["vertex"].breaker.impl == impl  # type: ignore[union-attr]
        # OPEN after 2 failures (2s, 2.5s); the first call 1s later (4s) fails: Vertex is down.
        assert moves(result)[:3] == [(2.51, OPEN), (4.0, HALF_OPEN), (4.01, OPEN)]

    def test_any_object_with_call_and_state_is_observed(self) -> None:
        breaker = "{impl: 'tests.custom_breakers:counting', settings: {limit: 2}}"
        result = run(scenario(FLAKY.replace("BREAKER", breaker)))
        assert moves(result) == [(2.51, OPEN)]  # this breaker never closes again
        samples = result.upstreams["vertex"].samples
        assert (samples.outcome == Outcome.SHORT_CIRCUITED).sum() == 34  # every call from 3s

    @pytest.mark.parametrize(
        ("factory", "message"),
        [
            ("broken", "the factory raised ValueError: cannot build a breaker from {}"),
            ("not_a_breaker", "returned a object, which has no async call"),
            ("OddStates", "unknown breaker state 'sideways'"),
            # Loading never imports the module, so these show only when the scenario runs.
            ("nothing", "has no attribute 'nothing'"),
            ("NOT_CALLABLE", "names a int, not a callable factory"),
        ],
    )
    def test_a_factory_that_does_not_give_a_breaker_is_a_harness_error(
        self, factory: str, message: str
    ) -> None:
        loaded = scenario(FLAKY.replace("BREAKER", f"{{impl: 'tests.custom_breakers:{factory}'}}"))
        with pytest.raises(HarnessError, match=r"upstreams\.vertex\.breaker") as caught:
            run(loaded)
        assert message in str(caught.value)

    @pytest.mark.parametrize(
        ("impl", "message"),
        [
            ("tests.nowhere:make", "no module 'tests.nowhere' can be found"),
            ("os:system", "must be your own code, not the standard library's 'os'"),
        ],
    )
    def test_an_unusable_factory_is_a_located_error(self, impl: str, message: str) -> None:
        with pytest.raises(ScenarioError, match=r"x\.yaml:9:\d+: upstreams\.vertex\.breaker\.impl"):
            scenario(FLAKY.replace("BREAKER", f"{{impl: '{impl}'}}"), "x.yaml")
        with pytest.raises(ScenarioError, match=message):
            scenario(FLAKY.replace("BREAKER", f"{{impl: '{impl}'}}"), "x.yaml")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_duration_s=10, max_upstreams=2, breaker_settings=library_breakers()))
def test_every_library_gives_the_same_result_on_both_engines(generated: Any) -> None:
    assert_same(run(generated, engine="http"), run(generated, engine="direct"))


# Memory over long OPEN spells: drive each guard directly, one rejection after another.


def step(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (as a guard's call does here) to its end."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the guard suspended")


async def refused() -> None:
    raise ConnectionError("connection refused")


def tripped(impl: str) -> Any:
    wait = {"pybreaker": "reset_timeout", "aiobreaker": "timeout_duration"}.get(impl)
    wait = wait or {"circuitbreaker": "recovery_timeout", "purgatory": "ttl"}[impl]
    config = scenario(
        f"duration: 1m\nupstreams: {{v: {{breaker: {{impl: {impl}, {wait}: 1h}}}}}}"
    ).upstreams["v"]
    guard = create_guard(config.breaker, "v", VirtualClock(), lambda *args: None)
    while guard.state() is not BreakerState.OPEN:
        with pytest.raises(ConnectionError):
            step(guard.call(refused))
    return guard


def reject(guard: Any, times: int, attempt: Callable[[], Awaitable[None]] = refused) -> None:
    for _ in range(times):
        with pytest.raises(CircuitOpenError):
            step(guard.call(attempt))


@pytest.mark.parametrize("impl", sorted(PROMISED))
def test_memory_stays_flat_while_a_library_rejects_calls(impl: str) -> None:
    guard = tripped(impl)
    reject(guard, 200)  # warm up caches
    tracemalloc.start()
    growths = []
    try:
        reject(guard, 1_000)
        for _ in range(3):  # a leak grows every time; other threads' allocations only at times
            before = tracemalloc.get_traced_memory()[0]
            reject(guard, 2_000)
            growths.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
    assert min(growths) < 2_000 * 8  # under 8 bytes a rejection; purgatory raw: ~1 KB each


def test_purgatorys_rejection_traceback_does_not_grow() -> None:
    guard = tripped("purgatory")
    opened = guard.breaker.context._state  # the exception purgatory raises on every rejection
    reject(guard, 3)
    assert opened.__traceback__ is None
    # Without the guard's fix, each raise adds frames to that one exception object.
    for _ in range(3):
        with pytest.raises(type(opened)):
            step(raw_purgatory_call(guard))
    assert len(traceback.extract_tb(opened.__traceback__)) >= 3 * 3


async def raw_purgatory_call(guard: Any) -> None:
    async with guard.breaker:
        pass
