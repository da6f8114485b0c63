"""Routes: requests matched on method, path, headers and body, each with its own faults and
answers; ``assert_all_called`` per route (pytest-httpx's and respx's habits)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from harness import HarnessError, ScenarioError, UnmatchedRouteError, run
from harness.format.routes import Request, Route, closest_route, matching_route
from tests.support import scenario

CHAT = """\
duration: 1m
seed: 2
assert_all_called: {called}
upstreams:
  openai:
    url: https://api.openai.test/v1
    failure_rate: 0%
    routes:
      - name: chat
        method: POST
        path: /chat/completions
        headers: {{Authorization: Bearer sk-test}}
        json: {{model: gpt-4o}}
        failure_rate: 40%
        errors: {{503: 100%}}
      - name: models
        method: GET
        path: /models
        answers: {{success: {{body: {{data: [{{id: gpt-4o}}]}}}}}}
    traffic: {traffic}
"""
BUILTIN = (
    "{rate: 10/s, method: POST, path: /chat/completions, headers: {authorization: Bearer sk-test},"
    " json: {model: gpt-4o, messages: [{role: user, content: hi}]}}"
)


def chat(called: str = "false", traffic: str = BUILTIN) -> Any:
    return scenario(CHAT.format(called=called, traffic=traffic))


@pytest.mark.parametrize("engine", ["http", "direct"])
def test_the_builtin_client_gets_its_routes_faults(engine: str) -> None:
    result = run(chat(), engine=engine).to_dict(run_info=False)["upstreams"]["openai"]
    assert result["routes"] == {"chat": 600, "models": 0}
    outcomes = result["outcomes"]
    # The route fails 40% with 503 (the upstream's own settings would fail none): 240 ± 5σ.
    assert outcomes["success"] + outcomes["http_error"] == 600
    assert abs(outcomes["http_error"] - 240) < 5 * (600 * 0.4 * 0.6) ** 0.5


def test_both_engines_agree_with_routes() -> None:
    http, direct = (run(chat("true"), engine=e).to_dict(run_info=False) for e in ("http", "direct"))
    for result in (http, direct):
        result.pop("engine")
        result.pop("replay")
    assert http == direct


def test_a_catch_all_route_draws_what_the_upstream_would() -> None:
    plain = scenario("duration: 30s\nupstreams: {u: {failure_rate: 30%, traffic: {rate: 20/s}}}")
    routed = plain.override({"upstreams.u.routes": [{}]})
    for engine in ("http", "direct"):
        a = run(plain, engine=engine).upstreams["u"].samples
        b = run(routed, engine=engine).upstreams["u"].samples
        assert a.outcome.tolist() == b.outcome.tolist()
        assert a.latency_ns.tolist() == b.latency_ns.tolist()


def test_a_route_never_called_fails_the_run_naming_it() -> None:
    result = run(chat("true"))
    assert not result.passed
    text = result.failure_text()
    assert "FAIL  openai: route 'models': upstream.requests >= 1" in text
    assert "route 'models' was never called" in text
    assert "PASS  openai: route 'chat'" in text
    # Without assert_all_called, routes are counted but not checked.
    assert run(chat("false")).passed


async def lists_then_chats(ctx: Any) -> Any:
    """List the models, then ask for a completion, as an SDK would."""
    base = ctx.urls["openai"]
    models = await ctx.httpx.get(base + "models")
    assert models.json() == {"data": [{"id": "gpt-4o"}]}
    return await ctx.httpx.post(
        base + "chat/completions",
        headers={"Authorization": "Bearer sk-test"},
        json={"model": "gpt-4o", "messages": []},
    )


async def misspells_a_path(ctx: Any) -> Any:
    """Ask for a path no route has."""
    return await ctx.httpx.get(ctx.urls["openai"] + "modles")


async def forgets_the_key(ctx: Any) -> Any:
    """Post a completion without the header the route needs."""
    return await ctx.httpx.post(
        ctx.urls["openai"] + "chat/completions", json={"model": "gpt-4o", "messages": []}
    )


async def chats_over_httpx2(ctx: Any) -> Any:
    """The same calls through httpx2 (async) and sync clients (httpx2's and httpx's)."""
    base = ctx.urls["openai"]
    assert ctx.httpx_sync.get(base + "models").json() == {"data": [{"id": "gpt-4o"}]}
    models = await ctx.httpx2.get(base + "models")
    assert models.json() == {"data": [{"id": "gpt-4o"}]}
    ctx.httpx2_sync.post(
        base + "chat/completions",
        headers={"Authorization": "Bearer sk-test"},
        json={"model": "gpt-4o"},
    )
    return await ctx.httpx2.get(base + "nowhere")


def entry(name: str) -> str:
    return f"{{rate: 2/s, entry_point: 'tests.test_routes:{name}'}}"


def test_an_entry_point_reaches_each_route_with_its_answers() -> None:
    result = run(chat("true", entry("lists_then_chats")))
    upstream = result.to_dict(run_info=False)["upstreams"]["openai"]
    assert upstream["routes"] == {"models": 120, "chat": 120} or upstream["routes"] == {
        "chat": 120,
        "models": 120,
    }
    assert result.passed


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (
            "misspells_a_path",
            "upstream 'openai': no route matches GET /v1/modles "
            "(https://api.openai.test/v1/modles); the closest route is 'models': the path is "
            "/v1/modles, the route's /v1/models",
        ),
        (
            "forgets_the_key",
            "no route matches POST /v1/chat/completions (https://api.openai.test/v1/chat/"
            "completions); the closest route is 'chat': header 'Authorization' is missing, the "
            "route wants 'Bearer sk-test'",
        ),
    ],
)
def test_a_request_no_route_matches_stops_the_run_naming_the_closest(code: str, says: str) -> None:
    with pytest.raises(HarnessError) as caught:
        run(chat("false", entry(code)))
    assert says in str(caught.value)
    assert issubclass(UnmatchedRouteError, ConnectionRefusedError)  # what your code catches


def test_httpx2_clients_are_routed_too() -> None:
    with pytest.raises(HarnessError, match=r"no route matches GET /v1/nowhere .* closest route"):
        run(chat("false", entry("chats_over_httpx2")))


def shape(method: str, path: str, headers: dict[str, str] | None = None, body: Any = None) -> Any:
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request.of(method, "https://api.test/v1/" + path, headers or {}, data)


def route(**given: Any) -> Route:
    return Route.model_validate(given)


def test_matching_follows_pytest_httpx() -> None:
    routes = (
        route(name="a", method="POST", path="/x", json={"k": 1}),
        route(name="b", method="POST", path="x", headers={"X-Key": "s"}),
        route(name="c", body="ping"),
        route(name="d", method="GET"),
    )
    base = "https://api.test/v1/"
    assert matching_route(routes, base, shape("post", "x", body={"k": 1, "more": 2})) == 0
    assert matching_route(routes, base, shape("POST", "x", body={"k": 2})) is None
    assert matching_route(routes, base, shape("POST", "x?q=1", {"x-key": "s"})) == 1
    assert matching_route(routes, base, shape("PUT", "anything", body=b"ping")) == 2
    assert matching_route(routes, base, shape("GET", "y")) == 3
    # The closest route has the fewest differences; on a tie, the first in the file.
    near = (route(name="far", method="GET", path="/z"), route(name="near", path="/z"))
    assert closest_route(near, base, shape("POST", "y")) == (
        "the closest route is 'near': the path is /v1/y, the route's /v1/z"
    )
    missed = shape("POST", "x", {"X-KEY": "t"}, b"not json")
    assert closest_route(routes[1:], base, missed) == (
        "the closest route is 'b': header 'X-Key' is 't', the route wants 's'"
    )
    assert closest_route(routes, base, missed).startswith("the closest route is 'a': the JSON")


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (
            ("path: /chat/completions, headers", "path: /chat, headers"),
            "traffic",
            "closest route is 'chat': the path",
        ),
        (("method: GET\n", "method: GETS\n"), "routes[1].method", "expected 'GET'"),
        (("headers: {Author", "headrs: {Author"), "routes[0].headrs", "did you mean 'headers'?"),
        (("path: /models", "path: ../models"), "routes[1].path", "relative to the upstream"),
        (("name: models", "name: chat"), "routes[1]", "both 'chat': give them distinct names"),
        (
            ("json: {model: gpt-4o}\n", "json: {model: gpt-4o}\n        body: hi\n"),
            "routes[0]",
            "'json' or 'body'",
        ),
        (
            ("failure_rate: 40%", "failure_rate: 140%"),
            "routes[0].failure_rate",
            "between 0% and 100%",
        ),
    ],
)
def test_bad_routes_are_located_errors(change: tuple[str, str], where: str, says: str) -> None:
    text = CHAT.format(called="false", traffic=BUILTIN).replace(*change)
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    assert f"upstreams.openai.{where}" in str(caught.value)
    assert says in str(caught.value)
    assert "test.yaml:" in str(caught.value)


def test_the_schema_lists_routes_and_the_builtin_clients_body() -> None:
    from harness.format.loader import json_schema

    schema = json_schema()
    definitions = schema.get("$defs", {})
    assert set(definitions["Route"]["properties"]) >= {"method", "path", "headers", "json", "body"}
    assert {"headers", "json", "body"} <= set(definitions["Traffic"]["properties"])


def test_routes_without_assert_all_called_leave_objectives_alone() -> None:
    result = run(chat("false"), engine="direct").to_dict(run_info=False)["upstreams"]["openai"]
    assert result["objectives"] == []
    assert np.sum(list(result["routes"].values())) == 600


def test_an_override_keeps_routes_ramps_and_the_diurnal_curve() -> None:
    text = """\
    duration: 1h
    upstreams:
      api:
        routes: [{name: r, method: POST, path: /x, json: {a: [1]}, latency: 5ms}]
        timeline:
          - {from: 1m, to: 9m, failure_rate: {from: 1%, to: 30%},
             latency: {from: {dist: uniform, min: 1ms, max: 2ms},
                       to: {dist: uniform, min: 1s, max: 2s}}}
        traffic: {diurnal: {min: 1/s, max: 3/s, peak_at: 14:00}, method: POST, path: /x,
                  json: {a: [1], b: 2}, headers: {k: v}}
    """
    loaded = scenario(text)
    again = loaded.override({"seed": 0})
    assert again.upstreams == loaded.upstreams


def test_the_json_schema_accepts_the_new_keys_and_rejects_their_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from harness.format.loader import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    upstream = {
        "routes": [{"name": "r", "method": "POST", "path": "/x", "json": {"a": 1}}],
        "timeline": [
            {"from": "1m", "to": "2m", "failure_rate": {"from": "1%", "to": "30%"}},
            {"from": "3m", "for": "1m", "latency": {"from": "50ms", "to": "2s"}},
        ],
        "traffic": {
            "diurnal": {"min": "1/s", "max": "9/s", "peak_at": "14:00", "period": "24h"},
            "method": "POST",
            "path": "/x",
            "json": {"a": 1},
            "headers": {"k": "v"},
        },
    }
    good = {"duration": "1h", "upstreams": {"api": upstream}}
    assert [e.message for e in validator.iter_errors(good)] == []
    assert scenario(json.dumps(good)).upstreams["api"].traffic is not None
    for typo in (
        {"diurnl": {"min": "1/s", "max": "2/s"}},
        {"rate": "1/s", "diurnal": {"min": "1/s", "max": "2/s"}},
        {"rate": "1/s", "headrs": {}},
    ):
        bad = {"duration": "1h", "upstreams": {"api": {"traffic": typo}}}
        assert list(validator.iter_errors(bad)), typo
    bad_route = {"duration": "1h", "upstreams": {"api": {"routes": [{"pth": "/x"}]}}}
    assert list(validator.iter_errors(bad_route))
    bad_ramp = {
        "duration": "1h",
        "upstreams": {"api": {"timeline": [{"from": "0s", "to": "1m", "failure_rate": {"to": 2}}]}},
    }
    assert list(validator.iter_errors(bad_ramp))
