"""Hypothesis strategies for scenario pieces and whole scenarios (public API).

They build the same plain data a YAML file holds and validate it like a file, so every example
is a scenario a user could have written::

    from hypothesis import given
    from harness import run
    from harness.strategies import scenarios

    @given(scenarios(max_duration_s=60))
    def test_breaker_never_calls_upstream_while_open(scenario): ...
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.format.loader import scenario_from_data
from harness.format.scenario import Scenario

__all__ = [
    "body_faults",
    "breakers",
    "durations",
    "error_mixes",
    "fault_profiles",
    "latencies",
    "library_breakers",
    "phases",
    "pools",
    "ramps",
    "retries",
    "routes",
    "scenario_data",
    "scenarios",
    "streams",
    "traffic",
]


def durations(min_ms: int = 0, max_ms: int = 3_600_000) -> st.SearchStrategy[str]:
    """Return durations written as a file would, e.g. ``"250ms"``, within the bounds."""
    if min_ms < 0 or max_ms < min_ms:
        raise ValueError(f"need 0 <= min_ms <= max_ms, got min_ms={min_ms!r}, max_ms={max_ms!r}")
    return st.integers(min_ms, max_ms).map(lambda ms: f"{ms}ms")


def latencies(max_ms: int = 2_000) -> st.SearchStrategy[Any]:
    """Return latency settings of every distribution, as a file would write them."""
    fixed = durations(0, max_ms)
    uniform = st.tuples(st.integers(0, max_ms), st.integers(0, max_ms)).map(
        lambda pair: {"dist": "uniform", "min": f"{min(pair)}ms", "max": f"{max(pair)}ms"}
    )
    normal = st.tuples(st.integers(0, max_ms), st.integers(0, max_ms // 4)).map(
        lambda pair: {"dist": "normal", "mean": f"{pair[0]}ms", "stddev": f"{pair[1]}ms"}
    )
    lognormal = st.tuples(st.integers(1, max_ms), st.integers(0, max_ms)).map(
        lambda pair: {"dist": "lognormal", "p50": f"{pair[0]}ms", "p95": f"{pair[0] + pair[1]}ms"}
    )
    return st.one_of(fixed, uniform, normal, lognormal)


_ERROR_KINDS = [
    "500",
    "503",
    "429",
    "timeout",
    "connect_error",
    "connection_reset",
    "dns_error",
    "tls_error",
]


def error_mixes() -> st.SearchStrategy[dict[str, str]]:
    """Return error mixes whose shares add up to exactly 100%."""

    def shares(kinds: list[str]) -> st.SearchStrategy[dict[str, str]]:
        cuts = st.lists(st.integers(0, 100), min_size=len(kinds) - 1, max_size=len(kinds) - 1)
        return cuts.map(lambda c: _split(kinds, sorted(c)))

    kinds = st.lists(st.sampled_from(_ERROR_KINDS), min_size=1, max_size=4, unique=True)
    return kinds.flatmap(shares)


def _split(kinds: list[str], cuts: list[int]) -> dict[str, str]:
    bounds = [0, *cuts, 100]
    return {kind: f"{bounds[i + 1] - bounds[i]}%" for i, kind in enumerate(kinds)}


def fault_profiles(max_latency_ms: int = 2_000) -> st.SearchStrategy[dict[str, Any]]:
    """Return fault settings: latency, failure rate and error mix."""
    return st.fixed_dictionaries(
        {
            "latency": latencies(max_latency_ms),
            "failure_rate": st.integers(0, 100).map(lambda p: f"{p}%"),
            "errors": error_mixes(),
        }
    )


def phases(duration_ms: int, max_latency_ms: int = 2_000) -> st.SearchStrategy[dict[str, Any]]:
    """Return a timeline phase inside ``[0, duration_ms]`` overriding some fault settings;
    sometimes a repeating one (``every``, ``times``)."""
    window = st.tuples(st.integers(0, duration_ms - 1), st.integers(1, duration_ms)).filter(
        lambda pair: pair[0] < pair[1]
    )

    def repeats(pair: tuple[int, int]) -> st.SearchStrategy[dict[str, Any]]:
        start, end = pair
        if duration_ms - end <= end - start:  # no room for a second window
            return st.just({"from": f"{start}ms", "to": f"{end}ms"})
        every = st.integers(end - start + 1, duration_ms - end)
        return st.one_of(
            st.just({"from": f"{start}ms", "to": f"{end}ms"}),
            every.flatmap(
                lambda gap: st.integers(1, 1 + (duration_ms - end) // gap).map(
                    lambda times: {
                        "from": f"{start}ms",
                        "for": f"{end - start}ms",
                        "every": f"{gap}ms",
                        "times": times,
                    }
                )
            ),
        )

    overrides = fault_profiles(max_latency_ms).flatmap(
        lambda profile: st.sets(st.sampled_from(sorted(profile)), min_size=1).map(
            lambda keys: {key: profile[key] for key in keys}
        )
    )
    settings = st.one_of(overrides, ramps(max_latency_ms))
    return st.tuples(window.flatmap(repeats), settings).map(lambda pair: {**pair[0], **pair[1]})


def ramps(max_latency_ms: int = 2_000) -> st.SearchStrategy[dict[str, Any]]:
    """Return a phase's ramped settings: a failure-rate ramp, a latency ramp (both ends of one
    distribution), or both."""
    rate = st.integers(0, 100).map(lambda p: f"{p}%")
    rate_ramp = st.tuples(rate, rate).map(lambda ends: {"from": ends[0], "to": ends[1]})
    latency_ramp = st.sampled_from(["fixed", "uniform", "normal", "lognormal"]).flatmap(
        lambda dist: st.tuples(*[_one_latency(dist, max_latency_ms)] * 2).map(
            lambda ends: {"from": ends[0], "to": ends[1]}
        )
    )
    return st.fixed_dictionaries(
        {}, optional={"failure_rate": rate_ramp, "latency": latency_ramp}
    ).filter(bool)


def _one_latency(dist: str, max_ms: int) -> st.SearchStrategy[Any]:
    return latencies(max_ms).filter(
        lambda latency: (latency.get("dist") if isinstance(latency, dict) else "fixed") == dist
    )


def breakers() -> st.SearchStrategy[dict[str, Any]]:
    """Return built-in breaker settings, the optional ones (slow calls, time windows, backoff,
    HALF_OPEN max wait, ignored errors) sometimes set."""
    backoff = st.fixed_dictionaries(
        {
            "enable_exponential_backoff": st.just(True),
            "exponential_backoff_multiplier": st.sampled_from([1.5, 2]),
            "exponential_max_wait_duration_in_open_state": st.just("60s"),
        }
    )
    settings = st.fixed_dictionaries(
        {
            "failure_rate_threshold": st.integers(1, 100).map(lambda p: f"{p}%"),
            "sliding_window_size": st.integers(1, 30),
            "minimum_number_of_calls": st.integers(1, 30),
            "wait_duration_in_open_state": durations(1, 30_000),
            "permitted_number_of_calls_in_half_open_state": st.integers(1, 5),
        },
        optional={
            "slow_call_rate_threshold": st.integers(1, 100).map(lambda p: f"{p}%"),
            "slow_call_duration_threshold": durations(0, 2_000),
            "sliding_window_type": st.sampled_from(["count", "time"]),
            "max_wait_duration_in_half_open_state": durations(0, 5_000),
            "ignore_errors": st.lists(
                st.sampled_from(["429", "5xx", "timeout", "connect_error"]), unique=True, max_size=2
            ),
        },
    )
    return st.tuples(settings, st.one_of(st.just({}), backoff)).map(
        lambda parts: {**parts[0], **parts[1]}
    )


_LIBRARY_SETTINGS: dict[str, tuple[str, str]] = {
    # impl: (its failure threshold's name, its wait's name)
    "pybreaker": ("fail_max", "reset_timeout"),
    "aiobreaker": ("fail_max", "timeout_duration"),
    "circuitbreaker": ("failure_threshold", "recovery_timeout"),
    "purgatory": ("threshold", "ttl"),
}


def library_breakers(
    impls: tuple[str, ...] = tuple(_LIBRARY_SETTINGS), max_wait_ms: int = 30_000
) -> st.SearchStrategy[dict[str, Any]]:
    """Return settings of third-party breakers (``impl`` among ``impls``), spelled as each
    library spells them."""
    unknown = set(impls) - set(_LIBRARY_SETTINGS)
    if unknown or not impls:
        raise ValueError(f"impls must be among {sorted(_LIBRARY_SETTINGS)}, got {impls!r}")

    def settings(impl: str) -> st.SearchStrategy[dict[str, Any]]:
        threshold, wait = _LIBRARY_SETTINGS[impl]
        extra = {"success_threshold": st.integers(1, 3)} if impl == "pybreaker" else {}
        return st.fixed_dictionaries(
            {
                "impl": st.just(impl),
                threshold: st.integers(1, 6),
                wait: durations(1, max_wait_ms),
                **extra,
            }
        )

    return st.sampled_from(impls).flatmap(settings)


def streams(max_chunks: int = 12) -> st.SearchStrategy[dict[str, Any]]:
    """Return ``stream`` settings: SSE or chunked, with drops and stalls sometimes."""

    def build(chunks: int) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {
                "format": st.sampled_from(["sse", "chunked"]),
                "chunks": st.just(chunks),
                "chunk_latency": latencies(300),
            },
            optional={
                "drop_rate": st.integers(0, 100).map(lambda p: f"{p}%"),
                "drop_after": st.integers(0, chunks - 1),
                "stall_rate": st.integers(0, 100).map(lambda p: f"{p}%"),
                "stall": durations(0, 6_000),
                "stall_after": st.integers(0, chunks - 1),
            },
        )

    return st.integers(1, max_chunks).flatmap(build)


def body_faults() -> st.SearchStrategy[dict[str, Any]]:
    """Return ``body`` settings: a bandwidth limit, bodies cut short, resets after the headers."""
    rates = st.integers(0, 50).map(lambda p: f"{p}%")
    return st.fixed_dictionaries(
        {},
        optional={
            "bandwidth": st.sampled_from(["200B/s", "2KB/s", "64KiB/s"]),
            "cut_rate": rates,
            "cut_at": st.integers(0, 99).map(lambda p: f"{p}%"),
            "reset_rate": rates,
        },
    )


def traffic(max_rate_per_s: int = 20) -> st.SearchStrategy[dict[str, Any]]:
    """Return traffic settings with a rate up to ``max_rate_per_s``, sometimes ramped by
    ``stages`` or following a ``diurnal`` curve."""
    rates = st.integers(1, max_rate_per_s).map(lambda r: f"{r}/s")
    stage = st.fixed_dictionaries({"duration": durations(1, 60_000), "target": rates})
    common = {
        "arrivals": st.sampled_from(["constant", "poisson"]),
        "timeout": durations(1, 5_000),
    }
    staged = st.fixed_dictionaries(
        {"rate": rates, **common},
        optional={
            "concurrency": st.integers(1, 50),
            "stages": st.lists(stage, min_size=1, max_size=3),
        },
    )
    curve = st.tuples(rates, rates, st.integers(1, 120)).flatmap(
        lambda parts: st.integers(0, parts[2] - 1).map(
            lambda peak: {
                "min": min(parts[:2], key=lambda rate: int(rate[:-2])),
                "max": max(parts[:2], key=lambda rate: int(rate[:-2])),
                "period": f"{parts[2]}s",
                "peak_at": f"{peak}s",
            }
        )
    )
    diurnal = st.fixed_dictionaries(
        {"diurnal": curve, **common}, optional={"concurrency": st.integers(1, 50)}
    )
    return st.one_of(staged, diurnal)


def pools() -> st.SearchStrategy[dict[str, Any]]:
    """Return one entry of ``pools``: a small bulkhead that drops or queues."""
    queued = st.fixed_dictionaries(
        {"max_concurrent": st.integers(1, 8), "when_full": st.just("queue")},
        optional={"max_queue": st.integers(1, 5), "queue_timeout": durations(1, 2_000)},
    )
    dropping = st.fixed_dictionaries(
        {"max_concurrent": st.integers(1, 8)}, optional={"when_full": st.just("drop")}
    )
    return st.one_of(queued, dropping)


def retries() -> st.SearchStrategy[dict[str, Any]]:
    """Return a ``retry`` policy of up to 3 attempts and backoffs up to 500 ms."""
    backoff = st.tuples(st.integers(0, 200), st.integers(0, 300), st.sampled_from(_JITTERS)).map(
        lambda parts: {
            "base": f"{parts[0]}ms",
            "max": f"{parts[0] + parts[1]}ms",
            "jitter": parts[2],
        }
    )
    kinds = st.lists(st.sampled_from(_RETRY_KINDS), min_size=1, max_size=4, unique=True)
    return st.fixed_dictionaries(
        {"attempts": st.integers(1, 3), "backoff": backoff},
        optional={
            "outcomes": kinds,
            "retry_after": st.booleans(),
            "budget": st.integers(0, 50).map(lambda p: f"{p}%"),
            "min_retries": st.integers(0, 5),
        },
    )


_JITTERS = ["full", "equal", "none"]
# dns_error and tls_error are connect errors: a retry policy names them as connect_error.
_RETRY_KINDS = [
    *(k for k in _ERROR_KINDS if k not in ("dns_error", "tls_error")),
    "5xx",
    "4xx",
    "short_circuited",
]
_RETRY_AFTER = st.fixed_dictionaries({"retry_after": durations(0, 2_000)})
_TIMEOUTS = st.fixed_dictionaries(
    {}, optional={"attempt": durations(1, 3_000), "overall": durations(1, 5_000)}
)


def _schedule_ms(retry: dict[str, Any]) -> int:
    """Return the backoff schedule's total (see ``Retry.schedule_ns``), in ms."""
    base, longest = (int(retry["backoff"][key][:-2]) for key in ("base", "max"))
    return sum(min(longest, base << k) for k in range(retry["attempts"] - 1))


@st.composite
def _with_policies(draw: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Give ``data``'s upstreams pools, retries (those that can finish within the run),
    fallbacks, timeouts and hedges."""
    data = {**data, "upstreams": {k: dict(v) for k, v in data["upstreams"].items()}}
    duration_ms = int(data["duration"].removesuffix("ms"))
    names = ["p1", "p2"]
    used: dict[str, Any] = {}
    for upstream in data["upstreams"].values():
        pool = draw(st.sampled_from([None, *names]))
        if pool is not None:
            upstream["pool"] = pool
            used[pool] = used.get(pool) or draw(pools())
        retry = draw(st.none() | retries())
        if retry is not None and _schedule_ms(retry) < duration_ms:
            upstream["retry"] = retry
            upstream["answers"] = {"429": draw(_RETRY_AFTER), "503": draw(_RETRY_AFTER)}
        if draw(st.booleans()):
            upstream["timeout"] = draw(_TIMEOUTS)
        if draw(st.booleans()):
            upstream["hedge"] = {"delay": draw(durations(1, 1_000))}
        if draw(st.booleans()):
            kinds = st.lists(st.sampled_from([*_RETRY_KINDS, "dropped"]), min_size=1, unique=True)
            upstream["fallback"] = draw(st.fixed_dictionaries({}, optional={"outcomes": kinds}))
    for upstream in data["upstreams"].values():
        if any(key in upstream for key in ("pool", "retry", "fallback", "timeout", "hedge")):
            for key in ("routes", "stream", "body"):  # with policies: the http engine only
                upstream.pop(key, None)
    return {**data, "pools": used} if used else data


def routes(max_latency_ms: int = 2_000) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Return an upstream's routes: one the built-in client's default requests (``GET /``)
    match, with some fault settings of its own, after one they never match."""
    own = fault_profiles(max_latency_ms).flatmap(
        lambda profile: st.sets(st.sampled_from(sorted(profile))).map(
            lambda keys: {key: profile[key] for key in keys}
        )
    )
    return own.map(
        lambda settings: [
            {"name": "other", "method": "POST", "path": "/other", "failure_rate": "100%"},
            {"name": "root", "method": "GET", "path": "/", **settings},
        ]
    )


def scenario_data(
    max_duration_s: int = 60,
    max_upstreams: int = 2,
    max_rate_per_s: int = 20,
    breaker_settings: st.SearchStrategy[dict[str, Any] | None] | None = None,
    policies: bool = False,
) -> st.SearchStrategy[dict[str, Any]]:
    """Return scenario files' data (plain dicts), valid by construction.

    ``breaker_settings`` draws each upstream's breaker (None: no breaker); by default the
    built-in breaker or none. With ``policies``, upstreams may also share ``pools``, ``retry``
    (answering 429 and 503 with a ``Retry-After``), a ``fallback``, a ``timeout`` and a
    ``hedge``.
    """
    if breaker_settings is None:
        breaker_settings = st.one_of(st.none(), breakers())

    def build(duration_ms: int) -> st.SearchStrategy[dict[str, Any]]:
        upstream = st.tuples(
            fault_profiles(),
            st.lists(phases(duration_ms), max_size=2),
            traffic(max_rate_per_s),
            breaker_settings,
            st.one_of(
                st.none(),
                streams().map(lambda s: {"stream": s}),
                body_faults().map(lambda b: {"body": b}),
            ),
            st.one_of(st.none(), routes()),
        ).map(
            lambda parts: {
                **parts[0],
                "timeline": parts[1],
                "traffic": parts[2],
                **({"breaker": parts[3]} if parts[3] else {}),
                **(parts[4] or {}),
                **({"routes": parts[5]} if parts[5] else {}),
            }
        )
        names = st.lists(
            st.sampled_from(["t1", "vertex", "search", "billing"]),
            min_size=1,
            max_size=max_upstreams,
            unique=True,
        )
        return st.tuples(
            names,
            st.lists(upstream, min_size=max_upstreams, max_size=max_upstreams),
            st.integers(0, 2**32),
        ).map(
            lambda parts: {
                "name": "generated",
                "seed": parts[2],
                "duration": f"{duration_ms}ms",
                "upstreams": dict(zip(parts[0], parts[1], strict=False)),
            }
        )

    plain = st.integers(1_000, max_duration_s * 1_000).flatmap(build)
    if not policies:
        return plain
    return plain.flatmap(_with_policies)


def scenarios(
    max_duration_s: int = 60,
    max_upstreams: int = 2,
    max_rate_per_s: int = 20,
    breaker_settings: st.SearchStrategy[dict[str, Any] | None] | None = None,
    policies: bool = False,
) -> st.SearchStrategy[Scenario]:
    """Return validated scenarios (see :func:`scenario_data` for the bounds)."""
    return scenario_data(
        max_duration_s, max_upstreams, max_rate_per_s, breaker_settings, policies
    ).map(lambda data: scenario_from_data(data, "<generated>"))
