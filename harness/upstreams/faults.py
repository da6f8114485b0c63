"""Fault profiles and timeline phases, turned into a seeded outcome and latency per request.

Each request that reaches an upstream takes exactly three uniform draws from the upstream's
fault stream (fail?, which error?, latency), whatever the branch, so changing a failure rate
does not shift the latencies drawn for later requests. A phase that ramps its latency or its
failure rate (see :mod:`harness.format.ramps`) only moves what those draws are compared with,
by the instant the request reaches the upstream.

Latency distributions, all sampled by inverting their CDF and rounded to whole nanoseconds:

- ``fixed``: always ``value``;
- ``uniform``: between ``min`` and ``max``;
- ``normal``: ``mean`` and ``stddev``, clamped at zero;
- ``lognormal``: given by its median ``p50`` and 95th percentile ``p95``
  (σ = ln(p95/p50) / 1.6449), the usual shape of service latency.

Error kinds: an HTTP status answers after the drawn latency; ``connection_reset`` drops the
connection after the drawn latency; ``connect_error``, ``dns_error`` and ``tls_error`` fail at
once (all three are connect errors; :attr:`Fault.cause` tells the mocks which exception to raise);
``timeout`` never answers, so the client gives up at its own timeout.
"""

from __future__ import annotations

import bisect
import math
import random
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

try:  # the C function NormalDist.inv_cdf calls after checking its argument (CPython ≥ 3.11)
    from statistics import _normal_dist_inv_cdf as _inv_cdf  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python: the public method, same numbers

    def _inv_cdf(p: float, mu: float, sigma: float) -> float:
        return mu + sigma * _STANDARD_NORMAL.inv_cdf(p)


from harness.events import Outcome
from harness.format.fault_settings import (
    FixedLatency,
    Latency,
    LognormalLatency,
    NormalLatency,
    UniformLatency,
)
from harness.format.ramps import LatencyRamp, RateRamp
from harness.format.routes import Route
from harness.format.scenario import Phase, Upstream
from harness.format.units import NS_PER_S

__all__ = [
    "HANG_LIMIT",
    "NEVER",
    "Fault",
    "FaultSampler",
    "answer",
    "connect_failure",
    "interpolated",
    "latency_quantile",
    "read_timeout_ns",
    "route_sampler",
]

NEVER = -1
"""The latency of a request the upstream never answers."""
HANG_LIMIT = 3600 * NS_PER_S
"""How long a client with no read timeout waits for an answer that never comes."""

_Z95 = NormalDist().inv_cdf(0.95)
_STANDARD_NORMAL = NormalDist()
_ERROR_OUTCOMES = {
    "timeout": Outcome.TIMEOUT,
    "connect_error": Outcome.CONNECT_ERROR,
    "connection_reset": Outcome.CONNECTION_RESET,
    "dns_error": Outcome.CONNECT_ERROR,
    "tls_error": Outcome.CONNECT_ERROR,
}
_CAUSES = {"dns_error", "tls_error"}


@dataclass(frozen=True, slots=True)
class Fault:
    """What the upstream does with one request: its outcome, status and latency."""

    outcome: Outcome
    status: int  # the HTTP status answered; 0 when no response is sent
    latency_ns: int  # NEVER for a request that is never answered
    cause: str = ""  # a connect error's kind when it is not a refusal: dns_error, tls_error


def read_timeout_ns(timeouts: dict[str, float | None] | None) -> int:
    """Return the read timeout of a request's ``timeout`` extension in ns (HANG_LIMIT if none)."""
    read = (timeouts or {}).get("read")
    return HANG_LIMIT if read is None else round(read * NS_PER_S)


def answer(fault: Fault, timeout_ns: int) -> tuple[Outcome, int, int]:
    """Return what the client sees of ``fault``: (outcome, status, after how long).

    A request the upstream never answers, or answers at or after the client's timeout, is a
    timeout at the timeout.
    """
    latency = fault.latency_ns
    if latency == NEVER or latency >= timeout_ns:
        return Outcome.TIMEOUT, 0, timeout_ns
    return fault.outcome, fault.status, latency


def connect_failure(cause: str) -> OSError | None:
    """Return the error a real DNS (``dns_error``) or TLS handshake (``tls_error``) failure
    raises under httpcore, or None for a refused connection; its text is what httpx's
    ``ConnectError`` says (as on Linux with glibc and OpenSSL 3)."""
    if cause == "dns_error":
        return socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if cause == "tls_error":
        error = ssl.SSLError(
            1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1000)"
        )
        error.library, error.reason = "SSL", "SSLV3_ALERT_HANDSHAKE_FAILURE"
        return error
    return None


@dataclass(frozen=True)
class _Profile:
    latency: Callable[[float], int]
    failure_rate: float
    errors: tuple[tuple[float, Outcome, int, str], ...]  # (cumulative share, outcome, status,
    # cause)
    ramp: Callable[[int], _Profile] | None = None
    """Where a phase ramps a setting: the settings in force at a given instant."""


def latency_quantile(latency: Latency) -> Callable[[float], int]:
    """Return the inverse CDF of ``latency``: a uniform draw in [0, 1) → nanoseconds."""
    if isinstance(latency, FixedLatency):
        value = latency.value
        return lambda _u: value
    if isinstance(latency, UniformLatency):
        low, span = latency.min, latency.max - latency.min
        return lambda u: low + round(u * span)
    # _inv_cdf(u, mu, sigma) computes mu + x * sigma, x the standard normal quantile: the very
    # float mu + sigma * x gives, in one C call instead of three Python ones per request.
    # It refuses sigma ≤ 0, where mu + sigma * x is mu whatever the draw.
    if isinstance(latency, NormalLatency):
        mean, stddev = latency.mean, latency.stddev
        if stddev <= 0:
            constant = max(0, round(mean))
            return lambda _u: constant
        return lambda u: max(0, round(_inv_cdf(u if u > 0.0 else _TINY, mean, stddev)))
    assert isinstance(latency, LognormalLatency)
    mu = math.log(latency.p50)
    sigma = math.log(latency.p95 / latency.p50) / _Z95
    exp = math.exp
    if sigma <= 0:
        constant = round(exp(mu))
        return lambda _u: constant
    return lambda u: round(exp(_inv_cdf(u if u > 0.0 else _TINY, mu, sigma)))


_TINY = 2.0**-54  # random() can return exactly 0.0, where the inverse normal CDF is -inf


def _error_table(errors: dict[str, float]) -> tuple[tuple[float, Outcome, int, str], ...]:
    table: list[tuple[float, Outcome, int, str]] = []
    cumulative = 0.0
    for kind, share in errors.items():
        cumulative += share
        if kind in _ERROR_OUTCOMES:
            cause = kind if kind in _CAUSES else ""
            table.append((cumulative, _ERROR_OUTCOMES[kind], 0, cause))
        else:
            table.append((cumulative, Outcome.HTTP_ERROR, int(kind), ""))
    _, last_outcome, last_status, last_cause = table[-1]
    table[-1] = (
        math.inf,
        last_outcome,
        last_status,
        last_cause,
    )  # shares may sum to 0.999…; never fall off
    return tuple(table)


class FaultSampler:
    """Draw the fault for each request reaching one upstream, following its timeline."""

    def __init__(self, upstream: Upstream, rng: random.Random) -> None:
        self._random = rng.random
        self._starts, self._profiles = _segments(upstream)

    def profile_at(self, at_ns: int) -> _Profile:
        """Return the fault settings in force at ``at_ns``."""
        return self._profiles[bisect.bisect_right(self._starts, at_ns) - 1]

    def draw(self, at_ns: int) -> Fault:
        """Return the fault for a request reaching the upstream at ``at_ns``."""
        profile = self.profile_at(at_ns)
        if profile.ramp is not None:
            profile = profile.ramp(at_ns)
        draw = self._random
        u_fail, u_kind, u_latency = draw(), draw(), draw()
        latency = profile.latency(u_latency)
        if u_fail >= profile.failure_rate:
            return Fault(Outcome.SUCCESS, 200, latency)
        outcome, status, cause = _pick(profile.errors, u_kind)
        if outcome is Outcome.TIMEOUT:
            return Fault(outcome, 0, NEVER)
        if outcome is Outcome.CONNECT_ERROR:
            return Fault(outcome, 0, 0, cause)
        return Fault(outcome, status, latency)

    def answers(self, timeout_ns: int) -> Callable[[int], tuple[Outcome, int, int]]:
        """Return ``at_ns -> answer(self.draw(at_ns), timeout_ns)``: the same draws and the same
        answer, without a Fault per request or a timeline lookup when there is no timeline."""
        draw, starts, profiles = self._random, self._starts, self._profiles
        only = profiles[0] if len(profiles) == 1 else None
        success, timeout, connect_error = Outcome.SUCCESS, Outcome.TIMEOUT, Outcome.CONNECT_ERROR

        def answer_at(at_ns: int) -> tuple[Outcome, int, int]:
            profile = only or profiles[bisect.bisect_right(starts, at_ns) - 1]
            if profile.ramp is not None:
                profile = profile.ramp(at_ns)
            u_fail, u_kind, u_latency = draw(), draw(), draw()
            latency = profile.latency(u_latency)
            if u_fail >= profile.failure_rate:
                outcome, status = success, 200
            else:
                outcome, status, _ = _pick(profile.errors, u_kind)
                if outcome is timeout:
                    return timeout, 0, timeout_ns
                if outcome is connect_error:
                    latency = 0
            if latency >= timeout_ns:
                return timeout, 0, timeout_ns
            return outcome, status, latency

        return answer_at


def route_sampler(upstream: Upstream, route: Route, rng: random.Random) -> FaultSampler:
    """Return the sampler of the requests ``route`` matches: the route's settings in place of
    the upstream's, the upstream's timeline on top, drawing from ``rng``."""
    settings = {
        key: getattr(route, key)
        for key in ("latency", "failure_rate", "errors")
        if getattr(route, key) is not None
    }
    return FaultSampler(upstream.model_copy(update=settings), rng)


def _pick(
    errors: tuple[tuple[float, Outcome, int, str], ...], draw: float
) -> tuple[Outcome, int, str]:
    for cumulative, outcome, status, cause in errors:
        if draw < cumulative:
            return outcome, status, cause
    raise AssertionError("the last share is infinite")  # pragma: no cover


def _segments(upstream: Upstream) -> tuple[list[int], list[_Profile]]:
    """Split time at every phase boundary; each segment gets the settings in force there."""
    windows = [(phase, window) for phase in upstream.timeline for window in phase.windows]
    bounds = sorted({0} | {start for _, (start, _) in windows} | {end for _, (_, end) in windows})
    starts: list[int] = []
    profiles: list[_Profile] = []
    for start in bounds:
        # In file order (a repeating phase's windows never overlap): later phases win.
        active = [(p, (begin, end)) for p, (begin, end) in windows if begin <= start < end]
        starts.append(start)
        profiles.append(_merged(upstream, active))
    return starts, profiles


_Window = tuple[int, int]


def _merged(upstream: Upstream, phases: list[tuple[Phase, _Window]]) -> _Profile:
    """Apply ``phases`` in file order over the upstream's settings; later phases win. A ramp
    that wins moves over the window of the phase occurrence it belongs to."""
    latency: Latency | LatencyRamp = upstream.latency
    failure_rate: float | RateRamp = upstream.failure_rate
    errors = upstream.errors
    latency_window = rate_window = (0, 1)
    for phase, window in phases:
        if phase.latency is not None:
            latency, latency_window = phase.latency, window
        if phase.failure_rate is not None:
            failure_rate, rate_window = phase.failure_rate, window
        errors = phase.errors if phase.errors is not None else errors
    table = _error_table(errors)
    if isinstance(latency, LatencyRamp) or isinstance(failure_rate, RateRamp):
        return _Profile(
            _no_latency,
            0.0,
            table,
            _ramped(latency, latency_window, failure_rate, rate_window, table),
        )
    return _Profile(latency_quantile(latency), failure_rate, table)


def _no_latency(_u: float) -> int:  # pragma: no cover - a ramped profile is never drawn from
    raise AssertionError("a ramped profile's settings are read at each instant")


def _ramped(
    latency: Latency | LatencyRamp,
    latency_window: _Window,
    failure_rate: float | RateRamp,
    rate_window: _Window,
    table: tuple[tuple[float, Outcome, int, str], ...],
) -> Callable[[int], _Profile]:
    """Return ``at_ns -> the settings in force then`` for settings of which some ramp."""
    fixed_latency = None if isinstance(latency, LatencyRamp) else latency_quantile(latency)

    def at(at_ns: int) -> _Profile:
        if isinstance(latency, LatencyRamp):
            quantile = latency_quantile(interpolated(latency, _fraction(at_ns, latency_window)))
        else:
            assert fixed_latency is not None
            quantile = fixed_latency
        rate = failure_rate
        if isinstance(rate, RateRamp):
            rate = rate.at(_fraction(at_ns, rate_window))
        return _Profile(quantile, rate, table)

    return at


def _fraction(at_ns: int, window: _Window) -> float:
    """Return how far through ``window`` the instant ``at_ns`` is, from 0 to 1."""
    begin, end = window
    return min(1.0, max(0.0, (at_ns - begin) / (end - begin)))


def interpolated(ramp: LatencyRamp, fraction: float) -> Latency:
    """Return the latency ``fraction`` (0 to 1) of the way along ``ramp``: each parameter of
    its distribution on its own line, rounded to whole nanoseconds."""
    start, end = ramp.start, ramp.end

    def mix(a: int, b: int) -> int:
        return round(a + (b - a) * fraction)

    if isinstance(start, UniformLatency) and isinstance(end, UniformLatency):
        return UniformLatency.model_construct(
            dist="uniform", min=mix(start.min, end.min), max=mix(start.max, end.max)
        )
    if isinstance(start, NormalLatency) and isinstance(end, NormalLatency):
        return NormalLatency.model_construct(
            dist="normal", mean=mix(start.mean, end.mean), stddev=mix(start.stddev, end.stddev)
        )
    if isinstance(start, LognormalLatency) and isinstance(end, LognormalLatency):
        return LognormalLatency.model_construct(
            dist="lognormal", p50=mix(start.p50, end.p50), p95=mix(start.p95, end.p95)
        )
    assert isinstance(start, FixedLatency)
    assert isinstance(end, FixedLatency)
    return FixedLatency.model_construct(dist="fixed", value=mix(start.value, end.value))
