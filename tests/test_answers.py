"""Answers with bodies and headers: the format's ``answers``, the defaults real SDKs parse, the
same seeded answers for httpx and httpx2 clients, and ``Retry-After`` honoured in virtual time."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from harness import ScenarioError, VirtualEventLoop, run
from harness.upstreams.mocked import MockedUpstreams
from tests.support import scenario

ANSWERS = """\
duration: 1m
seed: 3
upstreams:
  api:
    latency: {dist: uniform, min: 1ms, max: 900ms}
    failure_rate: 50%
    errors: {429: 40%, 503: 40%, 500: 20%}
    answers:
      success:
        body: {n: "{index}", who: "{upstream} #{index}", id: "{id}", at: "{time}", r: "{random}"}
        headers: {x-request-id: "req-{id}"}
      429: {retry_after: {dist: uniform, min: 1s, max: 10s}}
      error: {body: "down ({status}) {{sic}}", content_type: text/html, retry_after: 2500ms,
              retry_after_format: date}
"""


def answers_seen(text: str, requests: int, use_httpx2: bool = False) -> list[Any]:
    """Send ``requests`` GETs to the mocked ``api``; return (status, headers, body) of each."""
    loop = VirtualEventLoop()

    async def main() -> list[Any]:
        mocks = MockedUpstreams(scenario(text), 3, loop.clock)
        if use_httpx2:
            import httpx2

            client: Any = httpx2.AsyncClient(transport=mocks.httpx2_transport)
        else:
            client = httpx.AsyncClient(transport=mocks.transport)
        seen = []
        async with client:
            for _ in range(requests):
                response = await client.get("https://api.test/x")
                headers = {k: v for k, v in response.headers.items() if k != "content-length"}
                seen.append((response.status_code, headers, response.content))
        return seen

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_answers_follow_the_scenario_per_kind() -> None:
    seen = answers_seen(ANSWERS, 200)
    statuses = {status for status, _, _ in seen}
    assert statuses == {200, 429, 500, 503}
    for index, (status, headers, body) in enumerate(seen):
        if status == 200:
            data = json.loads(body)
            assert data["n"] == index  # a field alone keeps its type
            assert data["who"] == f"api #{index}"
            assert headers["x-request-id"] == f"req-{data['id']}"
            assert len(data["id"]) == 24
            assert isinstance(data["at"], int)
            assert 0 <= data["r"] < 1
        elif status == 429:  # no answer of its own but a drawn Retry-After: default body
            assert json.loads(body)["error"]["status"] == "RESOURCE_EXHAUSTED"
            assert 1 <= int(headers["retry-after"]) <= 10
        else:  # 500 and 503 take the "error" answer
            assert body == f"down ({status}) {{sic}}".encode()
            assert headers["content-type"] == "text/html"
            assert headers["retry-after"].endswith(" GMT")
    ids = [json.loads(body)["id"] for status, _, body in seen if status == 200]
    assert len(set(ids)) == len(ids)
    drawn = {headers["retry-after"] for status, headers, _ in seen if status == 429}
    assert len(drawn) > 3  # drawn per answer, not fixed


def test_httpx_and_httpx2_clients_get_the_same_seeded_answers() -> None:
    pytest.importorskip("httpx2")
    assert answers_seen(ANSWERS, 100) == answers_seen(ANSWERS, 100, use_httpx2=True)


def test_retry_after_date_is_on_the_virtual_wall_clock() -> None:
    text = ANSWERS.replace("failure_rate: 50%", "failure_rate: 100%").replace(
        "latency: {dist: uniform, min: 1ms, max: 900ms}", "latency: 1200ms"
    )
    _, headers, _ = next(s for s in answers_seen(text, 10) if s[0] in (500, 503))
    # Answered at 1.2 s; 2.5 s later is 3.7 s, rounded up to the whole second 4 s.
    assert headers["retry-after"] == "Tue, 01 Jan 2030 00:00:04 GMT"


def test_default_bodies_look_like_the_real_services() -> None:
    text = "duration: 1m\nupstreams:\n  api:\n    failure_rate: 50%\n    errors: {503: 100%}\n"
    seen = answers_seen(text, 20)
    success = json.loads(next(body for status, _, body in seen if status == 200))
    assert success["choices"][0]["message"]["content"].startswith("answer ")
    assert success["candidates"][0]["content"]["parts"][0]["text"].startswith("answer ")
    error = json.loads(next(body for status, _, body in seen if status == 503))
    assert error["error"]["code"] == 503
    assert error["error"]["status"] == "UNAVAILABLE"
    assert all(headers["content-type"] == "application/json" for _, headers, _ in seen)
    assert all("retry-after" not in headers for _, headers, _ in seen)


@pytest.mark.parametrize(
    ("answers", "where", "says"),
    [
        ('{success: {body: {a: [1, "{indx}"]}}}', "answers.success.body.a[1]", "{index}?"),
        ('{503: {headers: {x-a: "{upstreams}"}}}', "answers[503].headers.x-a", "{upstream}?"),
        ('{503: {body: "{index:>5}"}}', "answers[503].body", "unknown template field"),
        ('{503: {body: "{"}}', "answers[503].body", "write {{ for a brace"),
        ("{sucess: {}}", "answers.sucess", "did you mean 'success'?"),
        ("{200: {}}", "answers[200]", "unknown answer kind 200"),
        ("{success: {retry_after: 1s}}", "answers.success.retry_after", "for error answers"),
        ("{503: {retry_afer: 1s}}", "answers[503].retry_afer", "did you mean 'retry_after'?"),
        ("{503: {headers: {Retry-After: '1'}}}", "headers.Retry-After", "their own keys"),
        ('{503: {headers: {"a b": x}}}', "headers.a b", "expected a header name"),
        ('{503: {headers: {x: "a\\nb"}}}', "headers.x", "control characters"),
        ("{503: {retry_after_format: http}}", "retry_after_format", "'seconds' or 'date'"),
    ],
)
def test_bad_answers_are_located_errors(answers: str, where: str, says: str) -> None:
    text = f"duration: 1m\nupstreams:\n  api:\n    answers: {answers}\n"
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    message = str(caught.value)
    assert "test.yaml:4:" in message, message
    assert where in message, message
    assert says in message, message


def openai_latencies(answers: str) -> list[int]:
    """Run one request of the openai example through a 429 answer every time; return each
    request's latency (ns): the SDK's 3 attempts and the 2 waits between them."""
    pytest.importorskip("openai")
    text = f"""\
duration: 1s
upstreams:
  openai:
    failure_rate: 100%
    errors: {{429: 100%}}
    answers: {answers}
    traffic: {{rate: 1/s, entry_point: "examples.openai_service:answer_without_fallback"}}
"""
    result = run(scenario(text))
    up = result.upstreams["openai"]
    assert up.reached_upstream == 3
    assert up.samples.outcome_counts()["exception"] == 1  # openai.RateLimitError
    return up.samples.latency_ns.tolist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("seconds", [1, 3])
def test_openai_waits_exactly_the_retry_after_in_virtual_time(seconds: int) -> None:
    assert openai_latencies(f"{{429: {{retry_after: {seconds}s}}}}") == [2 * seconds * 10**9]


def test_openai_falls_back_to_its_own_backoff_without_retry_after() -> None:
    (latency,) = openai_latencies("{}")
    assert latency not in (2 * 10**9, 6 * 10**9)  # its jittered back-off: 0.5 s, 1 s, less jitter
    assert 0 < latency < 2 * 10**9


SEEN: list[Any] = []  # what the SDK entry points below made of the answers


async def openai_parses(ctx: Any) -> Any:
    """Call OpenAI's SDK once (no retries); keep the completion's text or the error's body."""
    import openai

    client = openai.AsyncOpenAI(
        api_key="sk-test", base_url=ctx.urls["api"] + "v1", http_client=ctx.httpx2, max_retries=0
    )
    try:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    except openai.APIStatusError as error:
        SEEN.append((error.status_code, error.code, error.type, error.message))
        raise
    SEEN.append(completion.choices[0].message.content)
    return completion


async def genai_parses(ctx: Any) -> Any:
    """Call google-genai (Vertex mode, one attempt); keep the text or the error's fields."""
    from google import genai
    from google.genai import errors, types
    from google.oauth2.credentials import Credentials

    client = genai.Client(
        vertexai=True,
        project="demo-project",
        location="us-central1",
        credentials=Credentials(token="test-token"),
        http_options=types.HttpOptions(
            base_url=ctx.urls["api"],
            httpx_async_client=ctx.httpx2,
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )
    try:
        response = await client.aio.models.generate_content(model="gemini-2.0-flash", contents="hi")
    except errors.APIError as error:
        SEEN.append((error.code, error.status, error.message))
        raise
    SEEN.append(response.text)
    return response


@pytest.mark.parametrize(
    ("module", "entry", "error"),
    [
        ("openai", "openai_parses", (503, "503", "server_error", "HTTP 503 Service Unavailable")),
        ("google.genai", "genai_parses", (503, "UNAVAILABLE", "HTTP 503 Service Unavailable")),
    ],
)
def test_sdks_parse_the_default_success_and_error_bodies(
    module: str, entry: str, error: tuple[Any, ...]
) -> None:
    pytest.importorskip(module)
    text = f"""\
duration: 2s
upstreams:
  api:
    timeline: [{{from: 1s, to: 2s, failure_rate: 100%, errors: {{503: 100%}}}}]
    traffic: {{rate: 1/s, entry_point: "tests.test_answers:{entry}"}}
"""
    SEEN.clear()
    result = run(scenario(text))
    assert result.upstreams["api"].samples.outcome_counts()["success"] == 1
    assert SEEN[0] == "answer 0 from api"
    assert SEEN[1][:-1] == error[:-1]
    assert error[-1] in SEEN[1][-1]
