"""Pools (shared bulkheads) and retries of the built-in client, on both engines: worked cases
whose numbers follow from the arrival times and fixed latencies alone."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from harness import HarnessError, ScenarioError, load_scenario, parse_scenario, run
from harness.events import Outcome
from harness.format.loader import json_schema
from tests.support import SCENARIOS

ENGINES = ["direct", "http"]
MS = 1_000_000


def scenario_of(text: str) -> Any:
    return parse_scenario(textwrap.dedent(text), "test.yaml")


def rows(result: Any, upstream: str) -> list[tuple[int, int, str]]:
    """(start ms, latency ms, outcome) of every client row of ``upstream``."""
    samples = result.upstreams[upstream].samples
    return [
        (start // MS, latency // MS, Outcome(outcome).label)
        for start, latency, outcome in zip(
            samples.start_ns.tolist(),
            samples.latency_ns.tolist(),
            samples.outcome.tolist(),
            strict=True,
        )
    ]


# -- pools -------------------------------------------------------------------------------------

TWO_LANES = """
    duration: 4s
    pools:
      shared: {POOL}
    upstreams:
      a:
        pool: shared
        latency: 1500ms
        traffic: {rate: 1/s}
      b:
        pool: shared
        latency: 100ms
        traffic: {rate: 1/s}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_full_pool_drops_whatever_upstream_the_request_is_for(engine: str) -> None:
    # One slot. At 0 s a takes it until 1.5 s (a's arrival comes first: upstream order); every
    # other arrival finds it taken except a's at 2 s, which holds it until 3.5 s.
    text = TWO_LANES.replace("{POOL}", "{max_concurrent: 1}")
    result = run(scenario_of(text), engine=engine)
    assert rows(result, "a") == [
        (0, 1500, "success"),
        (1000, 0, "dropped"),
        (2000, 1500, "success"),
        (3000, 0, "dropped"),
    ]
    assert [outcome for _, _, outcome in rows(result, "b")] == ["dropped"] * 4
    assert result.upstreams["b"].reached_upstream == 0
    assert result.upstreams["b"].client.dropped == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_a_queueing_pool_serves_in_arrival_order_and_the_wait_counts_in_latency(
    engine: str,
) -> None:
    # a holds the slot 0-1.5 s; b (0 s) waits and runs 1.5-1.6 s: 1.6 s from its arrival;
    # a (1 s) runs 1.6-3.1 s; b (1 s) 3.1-3.2 s; a (2 s) 3.2-4.7 s; b (2 s) 4.7-4.8 s; ...
    text = TWO_LANES.replace("{POOL}", "{max_concurrent: 1, when_full: queue}")
    result = run(scenario_of(text), engine=engine)
    assert rows(result, "a") == [(0, 1500, "success"), (1000, 2100, "success"),
                                 (2000, 2700, "success"), (3000, 3300, "success")]  # fmt: skip
    assert rows(result, "b") == [(0, 1600, "success"), (1000, 2200, "success"),
                                 (2000, 2800, "success"), (3000, 3400, "success")]  # fmt: skip
    # The client view's latency is the caller's wait, queueing included.
    assert result.upstreams["b"].client.latency.max_ms == 3400


@pytest.mark.parametrize("engine", ENGINES)
def test_a_queued_request_is_dropped_after_the_queue_timeout_or_when_the_queue_is_full(
    engine: str,
) -> None:
    # b (0 s) waits; it would get the slot at 1.5 s, but gives up at 0.5 s: dropped after 0.5 s.
    # a (1 s): the slot is taken, b is gone, so a waits until 1.5 s, and runs until 3 s.
    # b (1 s) finds the queue full (a waits): dropped at once; so does b (2 s), behind a (2 s),
    # which gives up at 2.5 s. At 3 s a (1 s) ends, a (3 s) takes the slot, b (3 s) waits and
    # gives up at 3.5 s.
    pool = "{max_concurrent: 1, when_full: queue, max_queue: 1, queue_timeout: 500ms}"
    result = run(scenario_of(TWO_LANES.replace("{POOL}", pool)), engine=engine)
    assert rows(result, "a") == [
        (0, 1500, "success"),
        (1000, 2000, "success"),
        (2000, 500, "dropped"),
        (3000, 1500, "success"),
    ]
    assert rows(result, "b") == [
        (0, 500, "dropped"),
        (1000, 0, "dropped"),
        (2000, 0, "dropped"),
        (3000, 500, "dropped"),
    ]


# -- retries -----------------------------------------------------------------------------------

ALWAYS_503 = """
    duration: 10s
    upstreams:
      v:
        latency: 50ms
        failure_rate: 100%
        errors: {503: 100%}
        traffic: {rate: 1/s}
        retry: RETRY
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_retries_wait_the_exponential_backoff_and_count_as_attempts(engine: str) -> None:
    retry = "{attempts: 3, backoff: {base: 100ms, max: 1s, jitter: none}}"
    result = run(scenario_of(ALWAYS_503.replace("RETRY", retry)), engine=engine)
    v = result.upstreams["v"]
    # Each request: 3 attempts of 50 ms, 100 ms then 200 ms between them.
    assert {latency for _, latency, _ in rows(result, "v")} == {3 * 50 + 100 + 200}
    assert v.client.requests == 10
    assert v.reached_upstream == 30
    assert v.upstream.requests == 30  # the upstream view: every attempt
    assert v.service is not None
    assert v.service.amplification == 3.0


@pytest.mark.parametrize("engine", ENGINES)
def test_the_backoff_is_capped_and_jittered(engine: str) -> None:
    retry = "{attempts: 4, backoff: {base: 100ms, max: 150ms, jitter: full}}"
    text = ALWAYS_503.replace("RETRY", retry).replace("10s", "20s")
    latencies = [latency for _, latency, _ in rows(run(scenario_of(text), engine=engine), "v")]
    # 4 attempts of 50 ms; waits drawn in [0, 100], [0, 150], [0, 150] ms.
    assert all(200 <= latency <= 200 + 100 + 150 + 150 for latency in latencies)
    assert len(set(latencies)) > 10  # drawn, not fixed


@pytest.mark.parametrize("engine", ENGINES)
def test_only_the_listed_outcomes_are_retried(engine: str) -> None:
    retry = "{attempts: 3, outcomes: [500, timeout]}"
    result = run(scenario_of(ALWAYS_503.replace("RETRY", retry)), engine=engine)
    assert result.upstreams["v"].reached_upstream == 10


@pytest.mark.parametrize("engine", ENGINES)
def test_a_retry_budget_bounds_the_retries(engine: str) -> None:
    # A retry is allowed while the retries, it included, stay within 10% of the lane's requests
    # so far plus 2: the first request retries twice (1, 2 <= 2.1), the next ones cannot
    # (3 > 2.2, ...) until the 10th (3 <= 3.0), which retries once.
    retry = "{attempts: 3, backoff: {base: 10ms, max: 10ms}, budget: 10%, min_retries: 2}"
    result = run(scenario_of(ALWAYS_503.replace("RETRY", retry)), engine=engine)
    reached = [latency > 50 for _, latency, _ in rows(result, "v")]
    assert reached == [True] + [False] * 8 + [True]
    assert result.upstreams["v"].reached_upstream == 10 + 3


@pytest.mark.parametrize("engine", ENGINES)
def test_retry_after_is_waited_instead_of_the_backoff(engine: str) -> None:
    text = ALWAYS_503.replace(
        "RETRY", "{attempts: 2, backoff: {base: 10ms, max: 10ms, jitter: none}}"
    ).replace("duration: 10s", "duration: 30s")
    honoured = text.replace(
        "errors: {503: 100%}", "errors: {503: 100%}\n        answers: {503: {retry_after: 2500ms}}"
    )
    ignored = honoured.replace("jitter: none}", "jitter: none}, retry_after: false")
    # Retry-After is sent in whole seconds, rounded up: 3 s.
    assert {lat for _, lat, _ in rows(run(scenario_of(honoured), engine=engine), "v")} == {3100}
    assert {lat for _, lat, _ in rows(run(scenario_of(ignored), engine=engine), "v")} == {110}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_fallback_answers_the_failures_it_serves_after_the_retries(engine: str) -> None:
    text = """
        duration: 10s
        upstreams:
          v:
            latency: 50ms
            failure_rate: 50%
            errors: {503: 50%, 500: 50%}
            traffic: {rate: 10/s}
            retry: {attempts: 2, outcomes: [503], backoff: {base: 10ms, max: 10ms, jitter: none}}
            fallback: {outcomes: [503]}
            slo: [fallback_rate < 100%]
    """
    result = run(scenario_of(text), engine=engine)
    v = result.upstreams["v"]
    client = rows(result, "v")
    attempts = v.reached_upstream
    # A 503 is retried once; a request whose last attempt answered 503 gets the fallback, after
    # both attempts (110 ms); a 500 is neither retried nor served.
    fallbacks = [latency for _, latency, outcome in client if outcome == "fallback"]
    assert fallbacks
    assert set(fallbacks) == {110}
    assert {outcome for _, _, outcome in client} == {"success", "http_error", "fallback"}
    assert v.client.successes == sum(outcome == "success" for _, _, outcome in client)
    # The upstream view holds the attempts: each fallback's two 503s among them.
    statuses = v.samples.status.tolist()
    assert 503 not in statuses
    assert v.upstream.requests == attempts > len(client)
    assert v.verdicts[0].observed == pytest.approx(len(fallbacks) / len(client))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_fallback_can_serve_requests_the_pool_dropped(engine: str) -> None:
    text = TWO_LANES.replace("{POOL}", "{max_concurrent: 1}").replace(
        "        latency: 100ms\n",
        "        latency: 100ms\n        fallback: {outcomes: [dropped]}\n",
    )
    result = run(scenario_of(text), engine=engine)
    assert [outcome for _, _, outcome in rows(result, "b")] == ["fallback"] * 4
    assert [outcome for _, _, outcome in rows(result, "a")].count("dropped") == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_an_overall_timeout_cuts_the_attempt_in_flight(engine: str) -> None:
    text = """
        duration: 5s
        upstreams:
          v:
            latency: 2s
            traffic: {rate: 1/s, timeout: 5s}
            timeout: {overall: 500ms}
    """
    result = run(scenario_of(text), engine=engine)
    assert rows(result, "v") == [(k * 1000, 500, "timeout") for k in range(5)]
    assert result.upstreams["v"].upstream.requests == 5


@pytest.mark.parametrize("engine", ENGINES)
def test_attempt_timeouts_retries_and_the_overall_deadline_together(engine: str) -> None:
    # Attempts of 100 ms (the upstream takes 300 ms), 50 ms apart: 0-100, 150-250, 300-400
    # (cut at the deadline, which is also its own timeout); a fourth would start at 450 ms,
    # after the 400 ms deadline: the request ends as its last attempt did, at 400 ms.
    text = """
        duration: 5s
        upstreams:
          v:
            latency: 300ms
            traffic: {rate: 1/s}
            timeout: {attempt: 100ms, overall: 400ms}
            retry: {attempts: 5, backoff: {base: 50ms, max: 50ms, jitter: none}}
    """
    result = run(scenario_of(text), engine=engine)
    assert rows(result, "v") == [(k * 1000, 400, "timeout") for k in range(5)]
    assert result.upstreams["v"].reached_upstream == 15


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hedge_answers_first_and_the_loser_still_reaches_the_upstream(engine: str) -> None:
    # At 0 s the attempt draws the phase's 1 s; the hedge, sent at 200 ms, draws 50 ms and
    # answers at 250 ms. The later requests are answered in 50 ms, before any hedge.
    text = """
        duration: 3s
        upstreams:
          v:
            latency: 50ms
            timeline: [{from: 0s, to: 100ms, latency: 1s}]
            traffic: {rate: 1/s}
            hedge: {delay: 200ms}
    """
    result = run(scenario_of(text), engine=engine)
    assert rows(result, "v") == [(0, 250, "success"), (1000, 50, "success"), (2000, 50, "success")]
    v = result.upstreams["v"]
    assert v.reached_upstream == 4
    assert sorted(v.upstream.latency_ms.tolist()) == [50, 50, 50, 1000]  # the loser included


@pytest.mark.parametrize("engine", ENGINES)
def test_when_both_hedged_attempts_fail_the_later_failure_is_the_answer(engine: str) -> None:
    text = """
        duration: 2s
        upstreams:
          v:
            latency: 1s
            failure_rate: 100%
            errors: {503: 100%}
            traffic: {rate: 1/s}
            hedge: {delay: 200ms}
    """
    result = run(scenario_of(text), engine=engine)
    assert rows(result, "v") == [(0, 1200, "http_error"), (1000, 1200, "http_error")]
    assert result.upstreams["v"].reached_upstream == 4


# -- the cascade -------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_slow_t1_starves_vertex_through_the_shared_pool_and_a_breaker_frees_it(
    engine: str,
) -> None:
    scenario = load_scenario(SCENARIOS / "shared-pool-cascade.yaml")
    with_breaker = run(scenario, engine=engine)
    without = run(scenario.override({"upstreams.t1.breaker": None}), engine=engine)
    starved = without.upstreams["vertex"].client
    freed = with_breaker.upstreams["vertex"].client
    # Without the breaker, T1's 2 s calls hold the pool's 30 slots for the whole slow phase
    # (T1 alone needs 40/s x 2 s = 80): Vertex's calls are dropped, some 200 of its 600.
    assert starved.dropped / starved.requests > 0.25
    assert freed.dropped / freed.requests < 0.05
    assert with_breaker.passed
    assert not without.passed


def test_the_direct_engine_refuses_policies_on_streamed_upstreams_and_http_runs_them() -> None:
    text = """
        duration: 5s
        upstreams:
          v:
            stream: {chunks: 3, chunk_latency: 10ms}
            traffic: {rate: 2/s}
            retry: {attempts: 2}
    """
    with pytest.raises(HarnessError, match="run this scenario with engine: http"):
        run(scenario_of(text), engine="direct")
    assert run(scenario_of(text), engine="http").upstreams["v"].client.requests == 10


# -- bad input ---------------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(textwrap.dedent(text), "bad.yaml")
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "duration: 1m\npools: {shared: {max_concurrent: 3}}\n"
            "upstreams: {t1: {pool: shard, traffic: {rate: 1/s}}}\n",
            "bad.yaml:3:24: upstreams.t1.pool: no pool 'shard' in pools (did you mean "
            "'shared'?); the pools: 'shared'",
        ),
        (
            "duration: 1m\npools: {shared: {max_concurrent: 3}, spare: {max_concurrent: 1}}\n"
            "upstreams: {t1: {pool: shared, traffic: {rate: 1/s}}}\n",
            "bad.yaml:2:45: pools.spare: no upstream uses pool 'spare'",
        ),
        (
            "duration: 1m\npools: {shared: {max_concurrent: 0}}\n"
            "upstreams: {t1: {pool: shared, traffic: {rate: 1/s}}}\n",
            "bad.yaml:2:34: pools.shared.max_concurrent: must be at least 1, got 0",
        ),
        (
            "duration: 1m\npools: {shared: {max_concurrent: 2, when_full: queue, max_queue: -1}}\n"
            "upstreams: {t1: {pool: shared, traffic: {rate: 1/s}}}\n",
            "pools.shared.max_queue: must be at least 1, got -1",
        ),
        (
            "duration: 1m\npools: {shared: {max_concurrent: 2, max_queue: 5}}\n"
            "upstreams: {t1: {pool: shared, traffic: {rate: 1/s}}}\n",
            "pools.shared: max_queue and queue_timeout need when_full: queue",
        ),
        (
            "duration: 1m\npools: {shared: {max_concurrent: 2, when_full: queue, "
            "queue_timeout: 0s}}\nupstreams: {t1: {pool: shared, traffic: {rate: 1/s}}}\n",
            "pools.shared: queue_timeout must be above zero",
        ),
        (
            "duration: 10s\nupstreams: {t1: {traffic: {rate: 1/s}, retry: {attempts: 5, "
            "backoff: {base: 1s, max: 4s}}}}\n",
            "bad.yaml:2:58: upstreams.t1.retry.attempts: the backoff between 5 attempts waits "
            "11s in all (base 1s doubling, at most 4s), not less than the scenario's 10s: a "
            "retried request could never finish within the run",
        ),
        (
            "duration: 1m\nupstreams: {t1: {traffic: {rate: 1/s}, retry: {outcomes: [timout]}}}\n",
            "upstreams.t1.retry.outcomes[0]: 'timout' is no outcome to retry (did you mean "
            "'timeout'?)",
        ),
        (
            "duration: 1m\nupstreams: {t1: {traffic: {rate: 1/s}, retry: {attempts: 0}}}\n",
            "upstreams.t1.retry.attempts: must be at least 1, got 0",
        ),
        (
            "duration: 1m\nupstreams: {t1: {traffic: {rate: 1/s}, "
            "retry: {backoff: {base: 2s, max: 1s}}}}\n",
            "upstreams.t1.retry.backoff: max (1s) must be at least base (2s)",
        ),
        (
            "duration: 1m\nupstreams: {t1: {traffic: {rate: 1/s}, "
            "fallback: {outcomes: [dropd]}}}\n",
            "upstreams.t1.fallback.outcomes[0]: 'dropd' is no outcome a fallback can serve (did "
            "you mean 'dropped'?)",
        ),
        (
            "duration: 1m\nupstreams: {t1: {traffic: {rate: 1/s}, timeout: {overall: 0s}}}\n",
            "upstreams.t1.timeout: overall must be above zero",
        ),
        (
            "duration: 1m\nupstreams: {t1: {traffic: {rate: 1/s}, hedge: {delay: 0s}}}\n",
            "upstreams.t1.hedge: delay must be above zero",
        ),
        (
            "duration: 1m\nupstreams: {t1: {retry: {attempts: 2}}}\n",
            "upstreams.t1.retry: upstream 't1' has a retry but no traffic",
        ),
        (
            "duration: 1m\nupstreams: {t1: {retry: {attempts: 2}, traffic: {rate: 1/s, "
            "entry_point: 'tests.services:plain_sync'}}}\n",
            "a retry applies to the built-in client, and upstream 't1''s traffic calls an entry "
            "point",
        ),
    ],
)
def test_bad_policies_are_located(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in problem for problem in found), found


def test_the_schema_describes_the_policies() -> None:
    schema = json_schema()
    assert "pools" in schema["properties"]
    upstream = schema["$defs"]["Upstream"]["properties"]
    assert {"pool", "retry", "fallback", "timeout", "hedge"} <= set(upstream)
    assert set(schema["$defs"]["Retry"]["properties"]) == {
        "attempts", "backoff", "outcomes", "retry_after", "budget", "min_retries"
    }  # fmt: skip
    assert schema["$defs"]["Pool"]["properties"]["when_full"]["enum"] == ["drop", "queue"]
