"""Loading scenarios: strict types, bounds, upstream URLs, messages in the format's words, custom
factories that are never imported while loading, and the JSON Schema accepting what the loader
accepts."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness import ScenarioError, json_schema, parse_scenario
from harness.cli import main
from harness.format.cross_checks import MAX_REQUESTS
from harness.format.loader import scenario_from_data
from tests.support import UPSTREAM_KEYS

BASE = "duration: 1m\nupstreams:\n  t1:\n    traffic: {rate: 1/s}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(textwrap.dedent(text), "bad.yaml")
    return [str(problem) for problem in caught.value.problems]


def problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# -- strict types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed: true\n" + BASE, "bad.yaml:1:7: seed: expected a whole number, got true"),
        ('seed: "12"\n' + BASE, "bad.yaml:1:7: seed: expected a whole number, got '12'"),
        ("seed: 1.0\n" + BASE, "bad.yaml:1:7: seed: expected a whole number, got 1.0"),
        ("version: true\n" + BASE, "bad.yaml:1:10: version: expected 1, got true"),
        ('version: "1"\n' + BASE, "bad.yaml:1:10: version: expected 1, got '1'"),
        (
            BASE.replace("{rate: 1/s}", "{rate: 1/s, concurrency: true}"),
            "bad.yaml:4:39: upstreams.t1.traffic.concurrency: expected a whole number, got true",
        ),
        (
            BASE.replace("{rate: 1/s}", '{rate: 1/s, concurrency: "5"}'),
            "bad.yaml:4:39: upstreams.t1.traffic.concurrency: expected a whole number, got '5'",
        ),
        (
            BASE.replace("{rate: 1/s}", "{rate: 1/s, bursts: [{at: 1s, requests: true}]}"),
            "bad.yaml:4:54: upstreams.t1.traffic.bursts[0].requests: expected a whole number, "
            "got true",
        ),
        (
            BASE + "    breaker: {sliding_window_size: true}\n",
            "bad.yaml:5:36: upstreams.t1.breaker.sliding_window_size: expected a whole number, "
            "got true",
        ),
        (
            BASE + "    breaker: {enable_exponential_backoff: 1}\n",
            "bad.yaml:5:43: upstreams.t1.breaker.enable_exponential_backoff: expected true or "
            "false, got 1",
        ),
        (
            BASE + "    breaker: {impl: pybreaker, fail_max: '3'}\n",
            "bad.yaml:5:42: upstreams.t1.breaker.fail_max: expected a whole number, got '3'",
        ),
        (
            BASE + "    breaker: {}\n    expect: [{half_open_trials: {at_most: true}}]\n",
            "bad.yaml:6:43: upstreams.t1.expect[0].half_open_trials.at_most: expected a whole "
            "number, got true",
        ),
        (
            BASE + "    breaker: {}\n    expect: [{no_upstream_calls_while_open: 1}]\n",
            "bad.yaml:6:45: upstreams.t1.expect[0].no_upstream_calls_while_open: expected true, "
            "got 1",
        ),
    ],
)
def test_counts_seeds_and_flags_are_strict(text: str, expected: str) -> None:
    assert problem(text) == expected


# -- bounds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BASE.replace("1m", "99999999999999999999999h"),
            "bad.yaml:1:11: duration: a duration can be at most 30 days (720h), got "
            "'99999999999999999999999h'",
        ),
        (
            "duration: 0s\nupstreams: {t1: {}}\n",
            "bad.yaml:1:11: duration: the scenario's duration must be above zero",
        ),
        (
            BASE.replace("{rate: 1/s}", "{rate: 1/s, timeout: 1000000000h}"),
            "bad.yaml:4:35: upstreams.t1.traffic.timeout: a duration can be at most 30 days "
            "(720h), got '1000000000h'",
        ),
        (
            BASE.replace("1/s", "1000000000000/s"),
            "bad.yaml:4:21: upstreams.t1.traffic.rate: a request rate can be at most "
            "1,000,000/s, got '1000000000000/s'",
        ),
    ],
)
def test_durations_and_rates_are_bounded(text: str, expected: str) -> None:
    assert problem(text) == expected


def test_the_longest_duration_and_the_highest_rate_are_accepted() -> None:
    loaded = parse_scenario("duration: 720h\nupstreams: {t1: {traffic: {rate: 1/m}}}\n")
    assert loaded.duration == 30 * 24 * 3600 * 10**9
    fast = parse_scenario("duration: 100s\nupstreams: {t1: {traffic: {rate: 1000000/s}}}\n")
    assert fast.upstreams["t1"].traffic.rate == 1_000_000  # type: ignore[union-attr]


def test_a_scenario_sending_too_many_requests_says_how_many_and_the_limit() -> None:
    text = """\
    duration: 2h
    upstreams:
      t1: {traffic: {rate: 10/s}}
      vertex: {traffic: {rate: 20000/s, bursts: [{at: 1s, requests: 5}]}}
    """
    assert problem(text) == (
        "bad.yaml:4:28: upstreams.vertex.traffic.rate: the scenario would send about "
        "144,072,005 requests (t1: 72,000, vertex: 144,000,005), over the limit of "
        f"{MAX_REQUESTS:,} per scenario; shorten the duration or lower the rate"
    )


def test_a_scenario_at_the_request_limit_loads() -> None:
    parse_scenario("duration: 100s\nupstreams: {t1: {traffic: {rate: 1000000/s}}}\n")


# -- upstream URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "how"),
    [
        ("https://api.test/v1", "https://api.test/v1beta", "URLs where one is a prefix"),
        ("https://api.test/v1/", "https://api.test/v1", "the same URL"),
        ("https://API.test/v1", "https://api.test/v1/x", "URLs where one is a prefix"),
        ("https://api.test/", "https://api.test/v2", "URLs where one is a prefix"),
    ],
)
def test_overlapping_upstream_urls_are_refused(first: str, second: str, how: str) -> None:
    text = f"duration: 1m\nupstreams:\n  a: {{url: '{first}'}}\n  b: {{url: '{second}'}}\n"
    message = problem(text)
    assert message.startswith("bad.yaml:4:12: upstreams.b.url: upstreams 'a' (")
    assert how in message
    assert "would receive the other's requests" in message


def test_a_url_overlapping_another_upstreams_default_is_refused() -> None:
    text = "duration: 1m\nupstreams:\n  api: {}\n  v2: {url: 'https://api.test/v2'}\n"
    assert "upstreams 'api' (https://api.test/) and 'v2' (https://api.test/v2/)" in problem(text)


def test_distinct_urls_load_and_every_base_url_ends_in_a_slash() -> None:
    loaded = parse_scenario(
        "duration: 1m\nupstreams:\n  a: {url: 'https://api.test/v1'}\n"
        "  b: {url: 'https://api.test/v2/'}\n  Vertex: {}\n  d: {url: 'https://other.test/v1'}\n"
    )
    assert loaded.url_of("a") == "https://api.test/v1/"
    assert loaded.url_of("b") == "https://api.test/v2/"
    assert loaded.url_of("Vertex") == "https://vertex.test/"  # as httpx sends it
    assert loaded.url_of("d") == "https://other.test/v1/"


@pytest.mark.parametrize(
    "path", ["http://evil.test/", "/a b", "/x#frag", "../other", "/v1/../v2", "/./x"]
)
def test_a_traffic_path_stays_under_its_upstreams_url(path: str) -> None:
    text = BASE.replace("{rate: 1/s}", f"{{rate: 1/s, path: '{path}'}}")
    assert "upstreams.t1.traffic.path: expected a path relative to the upstream's URL" in (
        problem(text)
    )


@pytest.mark.parametrize("url", ["https://x.test/?q=1", "https://x.test/#f", "ftp://x.test/"])
def test_a_base_url_has_no_query_or_fragment(url: str) -> None:
    assert "expected an http(s) URL" in problem(
        f"duration: 1m\nupstreams: {{t1: {{url: '{url}'}}}}\n"
    )


# -- messages in the format's words -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BASE + "    breaker: [1]\n",
            "bad.yaml:5:14: upstreams.t1.breaker: expected a mapping of breaker settings (impl "
            "optional: builtin, pybreaker, aiobreaker, circuitbreaker, purgatory, or "
            "'package.module:factory' for your own), got a list",
        ),
        (
            BASE + "    breaker: true\n",
            "bad.yaml:5:14: upstreams.t1.breaker: expected a mapping of breaker settings (impl "
            "optional: builtin, pybreaker, aiobreaker, circuitbreaker, purgatory, or "
            "'package.module:factory' for your own), got true",
        ),
        (
            BASE + "    errors: null\n",
            "bad.yaml:5:13: upstreams.t1.errors: expected a mapping of error kinds to shares, "
            "e.g. {503: 70%, timeout: 30%}, got null",
        ),
        (
            BASE + "    timeline: {from: 1s, to: 2s}\n",
            "bad.yaml:5:15: upstreams.t1.timeline: expected a list, got a mapping",
        ),
        (
            BASE + "    slo: 'p95 < 1s'\n",
            "bad.yaml:5:10: upstreams.t1.slo: expected a list, got 'p95 < 1s'",
        ),
        (
            BASE + "    breaker: {}\n    expect: [{half_open_trials: 3}]\n",
            "bad.yaml:6:33: upstreams.t1.expect[0].half_open_trials: expected a mapping with "
            "the keys at_most, got 3",
        ),
        (
            BASE + "    breaker: {}\n    expect: [{time_open: 4m}]\n",
            "bad.yaml:6:26: upstreams.t1.expect[0].time_open: expected a mapping with the keys "
            "at_most, got '4m'",
        ),
        (
            BASE + "    breaker: {}\n    expect: [{open_episodes: true}]\n",
            "bad.yaml:6:30: upstreams.t1.expect[0].open_episodes: expected a count "
            "(open_episodes: 2) or a mapping with min, max or both (open_episodes: {min: 1, "
            "max: 3}), got true",
        ),
        (
            BASE + "    breaker: {}\n    expect: [{transitions: []}]\n",
            "bad.yaml:6:28: upstreams.t1.expect[0].transitions: expected at least 1 item, got none",
        ),
        (
            "duration: 1m\nupstreams: [t1]\n",
            "bad.yaml:2:12: upstreams: expected a mapping, got a list",
        ),
        (
            "duration: 1m\nupstreams: {t1: }\n",
            "bad.yaml:2:16: upstreams.t1: expected a mapping with the keys "
            f"{UPSTREAM_KEYS}, got null",
        ),
        (
            "duration: 1m\nupstreams: {5: {}}\n",
            "bad.yaml:2:13: upstreams[5]: a name must be a string, got 5; quote it: '5'",
        ),
        (
            "duration: 1m\nupstreams: {on: {}}\n",
            "bad.yaml:2:13: upstreams: a key must be a string or number, got true (YAML reads "
            "an unquoted on as true; to use it as a name, quote it: 'on')",
        ),
        (
            BASE + "    latency: [1]\n",
            "bad.yaml:5:14: upstreams.t1.latency: expected a plain duration like 6ms or a "
            "mapping with 'dist' set to one of fixed, uniform, normal, lognormal, got a list",
        ),
        (
            BASE + "    latency: {p50: 1ms}\n",
            "bad.yaml:5:14: upstreams.t1.latency: expected a plain duration like 6ms or a "
            "mapping with 'dist' set to one of fixed, uniform, normal, lognormal, got a mapping "
            "without 'dist'",
        ),
        (
            "name: ''\n" + BASE,
            "bad.yaml:1:7: name: expected at least 1 character, got none",
        ),
    ],
)
def test_messages_use_the_formats_words(text: str, expected: str) -> None:
    assert problem(text) == expected


def test_no_message_speaks_pydantic() -> None:
    texts = [
        BASE
        + "    breaker: {}\n    expect: [{opens: 1}, {half_open_trials: x}, {transitions: 3}]\n",
        BASE + "    timeline: 3\n    slo: {a: 1}\n    errors: [1]\n",
        "duration: 1m\nname: [x]\nseed: x\nupstreams: {t1: {traffic: 5}}\n",
    ]
    jargon = ("valid tuple", "valid dictionary", "instance of", "after validation", "Input ")
    for text in texts:
        for found in problems(text):
            assert not any(word in found for word in jargon), found


# -- custom breaker factories ----------------------------------------------------------------------


def factory_scenario(impl: str) -> str:
    return BASE + f"    breaker: {{impl: '{impl}', settings: {{command: 'true'}}}}\n"


@pytest.mark.parametrize("module", ["os", "this", "antigravity", "subprocess", "builtins", "sys"])
def test_a_factory_from_the_standard_library_is_refused(module: str) -> None:
    assert problem(factory_scenario(f"{module}:system")) == (
        f"bad.yaml:5:21: upstreams.t1.breaker.impl: a custom breaker factory must be your own "
        f"code, not the standard library's {module!r} (impl '{module}:system')"
    )


def test_loading_never_imports_the_factorys_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "eager_pkg").mkdir()
    side_effect = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    (tmp_path / "eager_pkg" / "__init__.py").write_text(side_effect)
    (tmp_path / "eager_pkg" / "breakers.py").write_text(side_effect + "def make(): pass\n")
    (tmp_path / "eager_top.py").write_text(side_effect + "def make(): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    parse_scenario(factory_scenario("eager_top:make"))
    parse_scenario(factory_scenario("eager_pkg.breakers:make"))
    assert problem(factory_scenario("eager_pkg.nowhere:make")).endswith(
        "no module 'eager_pkg.nowhere' can be found for impl 'eager_pkg.nowhere:make' (is it "
        "on sys.path?)"
    )
    assert not marker.exists()
    assert not {"eager_top", "eager_pkg", "eager_pkg.breakers"} & set(sys.modules)


def test_a_factory_spelled_wrong_is_located() -> None:
    assert problem(factory_scenario("pkg:a:b")) == (
        "bad.yaml:5:21: upstreams.t1.breaker.impl: expected your own factory as "
        "'package.module:factory' (ASCII letters, digits and '_', the module's parts joined "
        "by '.', then one name; none starting with '__'), got 'pkg:a:b'"
    )


@pytest.mark.parametrize(
    "impl",
    [
        "harness.format.breaker_code:importlib.import_module",  # a chain through a module
        "harness.format.breaker_code:sys.modules",
        "tests.custom_breakers:__class__",  # dunders reach everything
        "tests.custom_breakers:__builtins__",
        "tests.__init__:counting",
    ],
)
def test_a_factory_is_one_plain_attribute_of_its_module(impl: str) -> None:
    assert "expected your own factory as 'package.module:factory'" in problem(
        factory_scenario(impl)
    )


# -- the command line: exit 2, never a traceback ------------------------------------------------

REVIEWED = {
    "int_tag": "seed: !!int abc\n" + BASE,
    "float_key": "!!float abc: 1\n" + BASE,
    "nul": BASE + "x: \x00\n",
    "deep": BASE + "x: " + "[" * 5000 + "\n",
    "deep_map": BASE + "x: " + "{a: " * 5000 + "\n",
    "self_alias": "a: &a [*a]\n" + BASE,
    "huge_duration": BASE.replace("1m", "99999999999999999999999h"),
    "huge_rate": BASE.replace("1/s", "1000000000000/s"),
    "stdlib_factory": factory_scenario("os:system"),
    "prefix_urls": "duration: 1m\nupstreams: {a: {url: 'https://a.test/v1'}, "
    "b: {url: 'https://a.test/v1beta'}}\n",
}


@pytest.mark.parametrize("name", sorted(REVIEWED))
def test_bad_input_exits_2_with_a_located_message(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(REVIEWED[name], encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:")
    assert "Traceback" not in err


# -- the schema accepts what the loader accepts --------------------------------------------------
# The schema's patterns are the loader's grammars; the rules about a value rather than its
# spelling (at most 30 days, whole nanoseconds, above 0/s, at most 1000000/s) only the loader
# checks, and each is said in its message.

DURATIONS = [
    "500ms",
    "1h30m",
    "1h 30m",
    "5 ms",
    "1m30s500ms",
    ".5s",
    "1.5s",
    "5.s",
    "0s",
    "250µs",
    "250us",
    "7ns",
    "720h",
    "5ms5ms",
    "1s1h",
    "30m1h",
    "1h1h",
    "٥ms",
    "5",
    "ms",
    "",
    " 5s",
    "5s ",
    "-1s",
    "1e3s",
    "5 parsecs",
    "1us1µs",
    "5 m s",
    "5m s",
    "1h30",
    "١s",
]
RATES = [
    "30%",
    "100%",
    "100.0%",
    "0%",
    "12.5 %",
    "007%",
    ".5%",
    "5.%",
    "0.3",
    "1",
    "1.0",
    "0.",
    ".3",
    "0",
    "00.5",
    "150%",
    "100.5%",
    "1.5",
    "2",
    "-3%",
    "+3%",
    "nan%",
    "inf",
    "1e-1",
    "٣٠%",
    "30",
    "30 percent",
    "%",
    ".",
    " 30%",
    "30% ",
]
THROUGHPUTS = [
    "20/s",
    "600/m",
    "90/h",
    "2.5/s",
    ".5/s",
    "5 / m",
    "3/sec",
    "3/min",
    "20",
    "-3/s",
    "20/d",
    "1e3/s",
    "٢٠/s",
    "20/ s",
    " 20/s",
    "20/s ",
    "20 per s",
    "0.0001/h",
]
ERROR_KINDS = [
    "500",
    "503",
    "429",
    "400",
    "599",
    "timeout",
    "connect_error",
    "0500",
    "5000",
    "200",
    "600",
    "٥٠٠",
    " 500",
    "5xx",
    "Timeout",
    "",
]
SELECTORS = [*ERROR_KINDS, "4xx", "5xx", "3xx", "6xx"]


def _loads(data: dict[str, Any]) -> bool:
    try:
        scenario_from_data({"duration": "1h", **data})
    except ScenarioError:
        return False
    return True


def _schema_accepts(validator: Any, data: dict[str, Any]) -> bool:
    return not list(validator.iter_errors({"duration": "1h", **data}))


def _upstream(**settings: Any) -> dict[str, Any]:
    return {"upstreams": {"t1": settings}}


@pytest.mark.parametrize(
    ("corpus", "place"),
    [
        (DURATIONS, lambda text: _upstream(latency=text)),
        (RATES, lambda text: _upstream(failure_rate=text)),
        (THROUGHPUTS, lambda text: _upstream(traffic={"rate": text})),
        (ERROR_KINDS, lambda text: _upstream(errors={text: "100%"})),
        (SELECTORS, lambda text: _upstream(breaker={"record_errors": [text]})),
    ],
    ids=["durations", "rates", "request rates", "error kinds", "error selectors"],
)
def test_the_schema_and_the_loader_agree_on_every_string(corpus: list[str], place: Any) -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    disagreements = [
        (text, loaded)
        for text in corpus
        if (loaded := _loads(place(text))) != _schema_accepts(validator, place(text))
    ]
    assert disagreements == []
    assert any(_loads(place(text)) for text in corpus)
    assert not all(_loads(place(text)) for text in corpus)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_upstream(latency="721h"), "a duration can be at most 30 days"),
        (_upstream(latency="0.5ns"), "is not a whole number of nanoseconds"),
        (_upstream(traffic={"rate": "0/s"}), "a request rate must be above zero"),
        (_upstream(traffic={"rate": "2000000/s"}), "a request rate can be at most 1,000,000/s"),
    ],
)
def test_rules_on_values_are_the_loaders_and_say_so(data: dict[str, Any], message: str) -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert _schema_accepts(validator, data)
    with pytest.raises(ScenarioError, match=message):
        scenario_from_data({"duration": "1h", **data})
