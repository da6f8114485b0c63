"""Per-call cost of the built-in breaker beside pybreaker, circuitbreaker, purgatory and
aiobreaker, measured in one run: CLOSED (the call runs) and OPEN (the call is rejected), sync
and async, in each library's usual forms (``with``, decorator, ``call``).

Every case calls a trivial function (``return 1``) ``loops`` times through the same loop, so
every form pays the same loop overhead; all cases are interleaved round by round (see
:mod:`benchmarks.timing`), so they share the machine's noise. References: the bare call, and a
bare raise+catch (every rejection raises). pybreaker has no asyncio API (its ``call_async``
needs tornado), and circuitbreaker's ``with`` never rejects (its ``__enter__`` does not look at
the state), so neither has those cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from benchmarks.timing import interleaved, ratio_table
from harness.breakers.builtin import AsyncCircuitBreaker, CircuitBreaker, CircuitOpenError

Case = Callable[[int], None]
Cases = dict[str, dict[str, Case]]
COLUMNS = ("sync CLOSED", "sync OPEN", "async CLOSED", "async OPEN")
HOUR = 3600.0
PEERS = ("pybreaker", "circuitbreaker", "purgatory", "aiobreaker")


class Boom(Exception):
    """What the guarded call raises to trip a breaker."""


def work() -> int:
    """Stand in for the guarded call."""
    return 1


async def awork() -> int:
    """Stand in for the guarded coroutine."""
    return 1


def fail() -> int:
    """Fail, to trip a breaker."""
    raise Boom


async def afail() -> int:
    """Fail, to trip a breaker."""
    raise Boom


def run(quick: bool) -> dict[str, Any]:
    """Time every case; print one table per column and a summary; return the numbers."""
    loops, rounds = (200, 2) if quick else (20_000, 15)
    loop = asyncio.new_event_loop()
    try:
        cases = _all_cases(loop)
        flat = {
            f"{column}|{name}": case
            for column, group in cases.items()
            for name, case in group.items()
        }
        times = interleaved(flat, loops=loops, rounds=rounds)
    finally:
        loop.close()
    by_column = {column: _column(times, column) for column in COLUMNS}
    for column, column_times in by_column.items():
        print(f"\n{column}: ns per call, median of {rounds} interleaved rounds of {loops}")
        print(ratio_table(column_times, reference=_builtin_best(column_times)))
    summary = _summary(by_column)
    print("\n" + _summary_table(summary))
    return {"ns_per_call": by_column, "best_per_library": summary, "loops": loops, "rounds": rounds}


def _column(times: dict[str, float], column: str) -> dict[str, float]:
    prefix = f"{column}|"
    return {key[len(prefix) :]: value for key, value in times.items() if key.startswith(prefix)}


def _builtin_best(times: dict[str, float]) -> str:
    return min((name for name in times if name.startswith("builtin")), key=times.__getitem__)


def _summary(by_column: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """Return each library's best form per column (None where it has no such form)."""
    return {
        library: {
            column: min(
                (value for name, value in times.items() if name.split()[0] == library),
                default=None,
            )
            for column, times in by_column.items()
        }
        for library in ("builtin", *PEERS)
    }


def _summary_table(summary: dict[str, dict[str, float | None]]) -> str:
    builtin = summary["builtin"]
    lines = ["best form, ns (ratio to the built-in's best)"]
    lines.append(f"{'':<16}" + "".join(f"{column:>17}" for column in COLUMNS))
    for library, row in summary.items():
        lines.append(f"{library:<16}" + "".join(_cell(row[c], builtin[c]) for c in COLUMNS))
    beaten = all(
        own is not None and (theirs is None or own < theirs)
        for library, row in summary.items()
        if library != "builtin"
        for column, theirs in row.items()
        for own in (builtin[column],)
    )
    lines.append(f"built-in below every peer in every column: {'yes' if beaten else 'NO'}")
    return "\n".join(lines)


def _cell(value: float | None, builtin: float | None) -> str:
    if value is None:
        return f"{'—':>17}"
    if builtin is None or value == builtin:
        return f"{value:>17.0f}"
    return f"{value:>9.0f} ({value / builtin:4.1f}x)"


# -- the loops every case runs ------------------------------------------------------------------


def _repeat(function: Callable[..., Any], *args: Any) -> Case:
    def case(loops: int) -> None:
        for _ in range(loops):
            function(*args)

    return case


def _reject(error: type[BaseException], function: Callable[..., Any], *args: Any) -> Case:
    def case(loops: int) -> None:
        for _ in range(loops):
            try:  # noqa: SIM105 - suppress() would add its own cost to every case
                function(*args)
            except error:
                pass

    return case


def _with_block(breaker: Any, error: type[BaseException] | tuple[()] = ()) -> Case:
    def case(loops: int) -> None:
        for _ in range(loops):
            try:
                with breaker:
                    work()
            except error:
                pass

    return case


def _await(
    loop: asyncio.AbstractEventLoop,
    function: Callable[..., Awaitable[Any]],
    *args: Any,
    error: type[BaseException] | tuple[()] = (),
) -> Case:
    async def body(loops: int) -> None:
        for _ in range(loops):
            try:  # noqa: SIM105 - suppress() would add its own cost to every case
                await function(*args)
            except error:
                pass

    return lambda loops: loop.run_until_complete(body(loops))


def _async_with_block(
    loop: asyncio.AbstractEventLoop, breaker: Any, error: type[BaseException] | tuple[()] = ()
) -> Case:
    async def body(loops: int) -> None:
        for _ in range(loops):
            try:
                async with breaker:
                    await awork()
            except error:
                pass

    return lambda loops: loop.run_until_complete(body(loops))


def _bare_raise(loops: int) -> None:
    for _ in range(loops):
        try:
            raise Boom
        except Boom:
            pass


def _trip(function: Callable[[], Any]) -> None:
    with contextlib.suppress(Exception):  # the failure that trips it, or the breaker's error
        function()


# -- the cases ----------------------------------------------------------------------------------


def _all_cases(loop: asyncio.AbstractEventLoop) -> Cases:
    cases: Cases = {
        "sync CLOSED": {"bare call": _repeat(work)},
        "sync OPEN": {"bare raise+catch": _bare_raise},
        "async CLOSED": {"bare await": _await(loop, awork)},
        "async OPEN": {"bare await raise+catch": _await(loop, afail, error=Boom)},
    }
    builders = {
        "pybreaker": _pybreaker_cases,
        "circuitbreaker": _circuitbreaker_cases,
        "purgatory": _purgatory_cases,
        "aiobreaker": _aiobreaker_cases,
    }
    _builtin_cases(cases, loop)
    for library, build in builders.items():
        if importlib.util.find_spec(library) is not None:
            build(cases, loop)
    return cases


def _builtin_cases(cases: Cases, loop: asyncio.AbstractEventLoop) -> None:
    def make(kind: type[Any]) -> Any:
        return kind(
            sliding_window_size=1, minimum_number_of_calls=1, wait_duration_in_open_state=HOUR
        )

    closed, opened = make(CircuitBreaker), make(CircuitBreaker)
    _trip(lambda: opened.call(fail))
    cases["sync CLOSED"] |= {
        "builtin with": _with_block(closed),
        "builtin @decorator": _repeat(closed(work)),
        "builtin call()": _repeat(closed.call, work),
    }
    cases["sync OPEN"] |= {
        "builtin with": _with_block(opened, CircuitOpenError),
        "builtin @decorator": _reject(CircuitOpenError, opened(work)),
        "builtin call()": _reject(CircuitOpenError, opened.call, work),
    }
    aclosed, aopened = make(AsyncCircuitBreaker), make(AsyncCircuitBreaker)
    _trip(lambda: loop.run_until_complete(aopened.call(afail)))
    cases["async CLOSED"] |= {
        "builtin async with": _async_with_block(loop, aclosed),
        "builtin @decorator": _await(loop, aclosed(awork)),
        "builtin call()": _await(loop, aclosed.call, awork),
    }
    cases["async OPEN"] |= {
        "builtin async with": _async_with_block(loop, aopened, CircuitOpenError),
        "builtin @decorator": _await(loop, aopened(awork), error=CircuitOpenError),
        "builtin call()": _await(loop, aopened.call, awork, error=CircuitOpenError),
    }


def _pybreaker_cases(cases: Cases, loop: asyncio.AbstractEventLoop) -> None:
    import pybreaker

    closed = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=HOUR)
    opened = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=HOUR)
    _trip(lambda: opened.call(fail))
    error = pybreaker.CircuitBreakerError
    cases["sync CLOSED"] |= {
        "pybreaker call()": _repeat(closed.call, work),
        "pybreaker @decorator": _repeat(closed(work)),
    }
    cases["sync OPEN"] |= {
        "pybreaker call()": _reject(error, opened.call, work),
        "pybreaker @decorator": _reject(error, opened(work)),
    }


def _circuitbreaker_cases(cases: Cases, loop: asyncio.AbstractEventLoop) -> None:
    import circuitbreaker

    def make(threshold: int) -> Any:
        return circuitbreaker.CircuitBreaker(failure_threshold=threshold, recovery_timeout=HOUR)

    error = circuitbreaker.CircuitBreakerError
    opened, aopened = make(1), make(1)
    _trip(opened(fail))
    _trip(lambda: loop.run_until_complete(aopened(afail)()))
    cases["sync CLOSED"]["circuitbreaker @decorator"] = _repeat(make(5)(work))
    cases["sync OPEN"]["circuitbreaker @decorator"] = _reject(error, opened(work))
    cases["async CLOSED"]["circuitbreaker @decorator"] = _await(loop, make(5)(awork))
    cases["async OPEN"]["circuitbreaker @decorator"] = _await(loop, aopened(awork), error=error)


def _purgatory_cases(cases: Cases, loop: asyncio.AbstractEventLoop) -> None:
    import purgatory
    from purgatory.domain.model import OpenedState

    factory = purgatory.SyncCircuitBreakerFactory(default_threshold=1, default_ttl=HOUR)
    closed, opened = factory.get_breaker("closed", threshold=5), factory.get_breaker("opened")
    _trip(lambda: _purgatory_fail(opened))
    cases["sync CLOSED"] |= {
        "purgatory with": _purgatory_guard(closed, _with_block(closed)),
        "purgatory @decorator": _repeat(factory("closed")(work)),
    }
    cases["sync OPEN"] |= {
        "purgatory with": _purgatory_guard(opened, _with_block(opened, OpenedState)),
        "purgatory @decorator": _purgatory_guard(
            opened, _reject(OpenedState, factory("opened")(work))
        ),
    }
    _purgatory_async_cases(cases, loop)


def _purgatory_fail(breaker: Any) -> None:
    with breaker:
        fail()


def _purgatory_guard(breaker: Any, case: Case) -> Case:
    # purgatory re-raises one exception object (its OPEN state) on every rejection, so that
    # object's traceback grows by a few frames per rejected call; cut it at each round, or a
    # long run measures the growth (and runs out of memory) instead of the breaker.
    def guarded(loops: int) -> None:
        state = breaker.context._state
        if isinstance(state, BaseException):
            state.__traceback__ = None
        case(loops)

    return guarded


def _purgatory_async_cases(cases: Cases, loop: asyncio.AbstractEventLoop) -> None:
    import purgatory
    from purgatory.domain.model import OpenedState

    factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=1, default_ttl=HOUR)
    closed = loop.run_until_complete(factory.get_breaker("closed", threshold=5))
    opened = loop.run_until_complete(factory.get_breaker("opened"))

    async def trip() -> None:
        async with opened:
            await afail()

    _trip(lambda: loop.run_until_complete(trip()))
    cases["async CLOSED"] |= {
        "purgatory async with": _purgatory_guard(closed, _async_with_block(loop, closed)),
        "purgatory @decorator": _await(loop, factory("closed")(awork)),
    }
    cases["async OPEN"] |= {
        "purgatory async with": _purgatory_guard(
            opened, _async_with_block(loop, opened, OpenedState)
        ),
        "purgatory @decorator": _purgatory_guard(
            opened, _await(loop, factory("opened")(awork), error=OpenedState)
        ),
    }


def _aiobreaker_cases(cases: Cases, loop: asyncio.AbstractEventLoop) -> None:
    import aiobreaker

    def make(fail_max: int) -> Any:
        return aiobreaker.CircuitBreaker(fail_max=fail_max, timeout_duration=timedelta(hours=1))

    error = aiobreaker.CircuitBreakerError
    closed, opened, aclosed, aopened = make(5), make(1), make(5), make(1)
    _trip(lambda: opened.call(fail))
    _trip(lambda: loop.run_until_complete(aopened.call_async(afail)))
    cases["sync CLOSED"] |= {
        "aiobreaker call()": _repeat(closed.call, work),
        "aiobreaker @decorator": _repeat(closed(work)),
    }
    cases["sync OPEN"] |= {
        "aiobreaker call()": _reject(error, opened.call, work),
        "aiobreaker @decorator": _reject(error, opened(work)),
    }
    cases["async CLOSED"] |= {
        "aiobreaker call_async()": _await(loop, aclosed.call_async, awork),
        "aiobreaker @decorator": _await(loop, aclosed(awork)),
    }
    cases["async OPEN"] |= {
        "aiobreaker call_async()": _await(loop, aopened.call_async, awork, error=error),
        "aiobreaker @decorator": _await(loop, aopened(awork), error=error),
    }
