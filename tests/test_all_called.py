"""``assert_all_called``: each mocked upstream must be hit (respx's and pytest-httpx's habit)."""

from __future__ import annotations

from typing import Any

import pytest

from harness import ScenarioError, run
from tests.support import scenario

TWO = """\
duration: 10s
assert_all_called: {flag}
upstreams:
  front:
    traffic: {{rate: 1/s{entry}}}
  spare: {{}}
"""


async def calls_spare(ctx: Any) -> Any:
    """Call ``front`` and, from the 5th request on, ``spare`` too."""
    await ctx.httpx.get(ctx.urls["front"])
    if ctx.index >= 5:
        await ctx.httpx.get(ctx.urls["spare"] + "v1/items")
    return "ok"


async def calls_front(ctx: Any) -> Any:
    """Call ``front`` only."""
    return await ctx.httpx.get(ctx.urls["front"])


def verdicts(flag: str, entry: str = "") -> dict[str, list[tuple[str, bool, object]]]:
    result = run(scenario(TWO.format(flag=flag, entry=entry)))
    return {
        name: [(v.objective.text, v.passed, v.observed) for v in up.verdicts]
        for name, up in result.upstreams.items()
    }


def test_an_upstream_never_called_fails_the_run() -> None:
    assert verdicts("true") == {
        "front": [("upstream.requests >= 1", True, 10)],
        "spare": [("upstream.requests >= 1", False, 0)],
    }
    result = run(scenario(TWO.format(flag="true", entry="")))
    assert not result.passed
    assert "upstream.requests >= 1" in result.failure_text()


@pytest.mark.parametrize(
    ("entry", "spare_calls"),
    [(", entry_point: 'tests.test_all_called:calls_spare'", 5)],
)
def test_calls_made_by_your_code_count(entry: str, spare_calls: int) -> None:
    assert verdicts("true", entry)["spare"] == [("upstream.requests >= 1", True, spare_calls)]
    missed = verdicts("true", ", entry_point: 'tests.test_all_called:calls_front'")
    assert missed["spare"] == [("upstream.requests >= 1", False, 0)]


def test_off_by_default_and_not_doubled() -> None:
    assert verdicts("false") == {"front": [], "spare": []}
    stated = TWO.format(flag="true", entry="").replace(
        "{rate: 1/s}", "{rate: 1/s}\n    slo: [upstream.requests >= 1]"
    )
    result = run(scenario(stated))
    assert len(result.upstreams["front"].verdicts) == 1


def test_the_flag_is_strict() -> None:
    with pytest.raises(ScenarioError, match=r"assert_all_called: expected true or false"):
        scenario(TWO.format(flag="1", entry=""))
    with pytest.raises(ScenarioError, match=r"did you mean 'assert_all_called'"):
        scenario(TWO.format(flag="true", entry="").replace("assert_all_called", "assert_all_caled"))
