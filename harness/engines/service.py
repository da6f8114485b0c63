"""Your service under test: each arrival of a lane with ``traffic.entry_point`` calls your code.

The entry point is called as ``await entry_point(ctx)`` (a plain function is called, and its
result awaited if it is awaitable) with a :class:`ServiceContext`: httpx and httpx2 clients
wired to the mocked upstreams, the virtual clock, a seeded ``random.Random`` and the request's
index and arrival time. One call may reach several upstreams, any number of times.

What the call returns or raises is the request's outcome (the client view's row):

- a :class:`Fallback` (``return Fallback(answer)``): ``fallback``, a distinct outcome that does
  not count as success — it is the answer your service gives when its upstreams fail;
- an ``httpx``/``httpx2`` response with status 400 or more: ``http_error`` with that status;
- any other value: ``success``;
- an httpx/httpx2 timeout, refused or reset connection: ``timeout``, ``connect_error``,
  ``connection_reset``;
- any other exception: ``exception``, its type's name counted in the upstream's
  ``service.exceptions``.

Each attempt that reached an upstream is a row of that upstream's upstream view, and is counted
against the lane whose call made it (:data:`harness.upstreams.mocked.CALLER`), which gives the
retry amplification: attempts per call.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from httpx import Client as SyncClient

from harness.breakers.builtin import CircuitOpenError
from harness.clock import VirtualClock
from harness.errors import HarnessError
from harness.events import BreakerState, Outcome, classify
from harness.format.entry_points import resolve_entry_point, signature_problem
from harness.format.scenario import Scenario
from harness.format.units import NS_PER_S
from harness.upstreams.mocked import CALLER, HANG_LIMIT, MockedUpstreams
from harness.verdicts.metrics import SampleLog

__all__ = [
    "EntryPoints",
    "Fallback",
    "ServiceContext",
    "ServiceOutput",
    "ServiceRecorder",
    "resolve_all",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fallback(Generic[T]):
    """Return ``Fallback(answer)`` from an entry point to say the answer is a fallback."""

    value: T = None  # type: ignore[assignment]


@dataclass(eq=False)
class ServiceContext:
    """What an entry point is given for one request."""

    index: int
    """The request's index among its lane's requests (0, 1, …), in arrival order."""
    arrival_ns: int
    """When the request arrived, in virtual nanoseconds since the run began."""
    upstream: str
    """The upstream whose traffic this request is."""
    clock: VirtualClock
    """The run's virtual clock (``clock.now_ns``); asyncio and anyio sleeps follow it too."""
    random: random.Random
    """A random stream seeded from the scenario's seed, shared by the lane's requests."""
    urls: Mapping[str, str]
    """Each upstream's base URL (ending in ``/``), by name."""
    httpx: httpx.AsyncClient
    """An ``httpx.AsyncClient`` wired to the mocked upstreams (shared by the run's requests)."""
    _mocks: MockedUpstreams = field(repr=False)
    _httpx2: list[Any] = field(repr=False)
    _sync: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def httpx2(self) -> Any:
        """Return an ``httpx2.AsyncClient`` wired to the mocked upstreams (needs httpx2)."""
        if not self._httpx2:
            try:
                import httpx2
            except ImportError:
                raise HarnessError(
                    "ctx.httpx2 needs the httpx2 package (pip install 'slo-harness[service]')"
                ) from None
            self._httpx2.append(httpx2.AsyncClient(transport=self._mocks.httpx2_transport))
        return self._httpx2[0]

    @property
    def httpx_sync(self) -> SyncClient:
        """Return an ``httpx.Client`` wired to the mocked upstreams, for sync code.

        Each request *blocks the event loop* for its drawn latency (or until the client's
        timeout), as a blocking call does in a real asyncio service: nothing else runs
        meanwhile, and events due then run late, afterwards.
        """
        if "httpx" not in self._sync:
            self._sync["httpx"] = SyncClient(transport=self._mocks.sync_transport)
        client: SyncClient = self._sync["httpx"]
        return client

    @property
    def httpx2_sync(self) -> Any:
        """Return an ``httpx2.Client`` wired to the mocked upstreams (blocking, as above)."""
        if "httpx2" not in self._sync:
            try:
                import httpx2
            except ImportError:
                raise HarnessError(
                    "ctx.httpx2_sync needs the httpx2 package (pip install 'slo-harness[service]')"
                ) from None
            self._sync["httpx2"] = httpx2.Client(transport=self._mocks.httpx2_sync_transport)
        return self._sync["httpx2"]

    @property
    def now_ns(self) -> int:
        """Return the current virtual time in nanoseconds."""
        return self.clock.now_ns


@dataclass(frozen=True)
class ServiceOutput:
    """What an entry-point run records beyond the lanes' logs."""

    attempt_logs: dict[str, SampleLog]
    """Per upstream, every attempt that reached it: its upstream view."""
    attempts: dict[str, dict[str, int]]
    """Per calling lane, attempts per upstream reached."""
    exceptions: dict[str, dict[str, int]]
    """Per lane, how many calls raised each exception type (by name)."""
    entry_points: dict[str, str]
    """Per lane, its entry point."""


EntryPoints = Callable[..., Any] | Mapping[str, Callable[..., Any]]
"""What ``run(scenario, client=...)`` takes: one callable for every upstream with traffic, or
one per upstream name."""


def resolve_all(
    scenario: Scenario, given: EntryPoints | None = None
) -> dict[str, tuple[str, Callable[..., Any]]]:
    """Return each lane's entry point as (name, callable): ``given`` ones first, then those the
    scenario names (imported now); raise HarnessError naming the key of an unusable one."""
    found: dict[str, tuple[str, Callable[..., Any]]] = {}
    for name, upstream in scenario.upstreams.items():
        if upstream.traffic is None:
            continue
        chosen = given.get(name) if isinstance(given, Mapping) else given
        if chosen is not None:
            found[name] = (_given(name, chosen), chosen)
            continue
        spec = upstream.traffic.entry_point
        if spec is None:
            continue
        try:
            found[name] = (spec, resolve_entry_point(spec))
        except ValueError as error:
            raise HarnessError(f"upstreams.{name}.traffic.entry_point: {error}") from None
    if isinstance(given, Mapping):
        unknown = sorted(set(given) - {n for n, u in scenario.upstreams.items() if u.traffic})
        if unknown:
            raise HarnessError(f"client= names no upstream with traffic: {', '.join(unknown)}")
    return found


def _given(upstream: str, target: Callable[..., Any]) -> str:
    name = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    if not callable(target):
        raise HarnessError(f"client for {upstream!r} is a {type(target).__name__}, not a callable")
    problem = signature_problem(target)
    if problem is not None:
        raise HarnessError(f"client {name} for {upstream!r} {problem}")
    return name


class ServiceRecorder:
    """Count and log what entry points do: attempts per upstream and caller, exceptions."""

    def __init__(self, scenario: Scenario, entry_points: dict[str, str]) -> None:
        self.output = ServiceOutput(
            attempt_logs={name: SampleLog() for name in scenario.upstreams},
            attempts={lane: dict.fromkeys(scenario.upstreams, 0) for lane in entry_points},
            exceptions={lane: {} for lane in entry_points},
            entry_points=entry_points,
        )

    def attempt(
        self,
        upstream: str,
        caller: str | None,
        start_ns: int,
        latency_ns: int,
        outcome: Outcome,
        status: int,
    ) -> None:
        """Record one attempt that reached ``upstream`` (an :data:`AttemptHook`)."""
        self.output.attempt_logs[upstream].record(
            start_ns, latency_ns, outcome, status, BreakerState.NONE
        )
        if caller is not None and caller in self.output.attempts:
            self.output.attempts[caller][upstream] += 1

    def exception(self, lane: str, error: BaseException) -> None:
        """Count an exception an entry point raised."""
        counts = self.output.exceptions[lane]
        name = type(error).__qualname__
        counts[name] = counts.get(name, 0) + 1


def outcome_of_value(value: object) -> tuple[Outcome, int]:
    """Return the outcome (and status) of what an entry point returned."""
    if isinstance(value, Fallback):
        return Outcome.FALLBACK, 0
    status = getattr(value, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        return (Outcome.HTTP_ERROR if status >= 400 else Outcome.SUCCESS), status
    return Outcome.SUCCESS, 0


def outcome_of_error(error: Exception) -> tuple[Outcome, int] | None:
    """Return the outcome an httpx/httpx2 failure stands for, or None for any other error."""
    known = classify(error)
    if known is not None or type(error).__module__.partition(".")[0] != "httpx2":
        return known
    from harness.upstreams.httpx2_mock import classify_httpx2

    return classify_httpx2(error)


async def call_entry_point(
    entry_point: Callable[..., Any],
    ctx: ServiceContext,
    guard_call: Callable[[Callable[[], Any]], Any],
    on_exception: Callable[[BaseException], None],
) -> tuple[Outcome, int]:
    """Call ``entry_point(ctx)`` through the lane's breaker; return the request's outcome."""
    CALLER.set(ctx.upstream)  # this task's own context: attempts it makes count against it

    async def invoke() -> object:
        value = entry_point(ctx)
        if inspect.isawaitable(value):
            value = await value
        outcome, _ = outcome_of_value(value)
        if outcome is Outcome.HTTP_ERROR:
            raise _ErrorAnswer(value)  # so a breaker in front of the service sees a failure
        return value

    try:
        value = await guard_call(invoke)
    except CircuitOpenError:
        return Outcome.SHORT_CIRCUITED, 0
    except _ErrorAnswer as answer:
        return outcome_of_value(answer.value)
    except Exception as error:
        known = outcome_of_error(error)
        if known is not None:
            return known
        on_exception(error)
        return Outcome.EXCEPTION, 0
    return outcome_of_value(value)


class _ErrorAnswer(Exception):
    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(f"the service answered HTTP {getattr(value, 'status_code', '?')}")


HANG_LIMIT_S = HANG_LIMIT / NS_PER_S


def never_returned(spec: str, upstream: str, start_ns: int, now_ns: int) -> HarnessError:
    """Return the error stopping a run whose entry point call never returned."""
    return HarnessError(
        f"upstreams.{upstream}.traffic.entry_point {spec!r}: the call that arrived at "
        f"{start_ns / 1e9:g}s had not returned at {now_ns / 1e9:g}s of virtual time "
        f"({HANG_LIMIT_S:g}s later); the run stopped"
    )


def stuck_entry_point(spec: str, upstream: str, in_flight: int, now_ns: int) -> str:
    """Describe entry point calls waiting on something nothing will ever complete."""
    return (
        f"at {now_ns / 1e9:g}s of virtual time, {in_flight} call(s) of entry_point {spec!r} "
        f"(upstreams.{upstream}.traffic.entry_point) await something nothing will ever "
        "complete (an event, lock or future never set)"
    )


def cancel_hang(handle: asyncio.TimerHandle) -> None:
    """Cancel a call's hang timer once it returned."""
    handle.cancel()
