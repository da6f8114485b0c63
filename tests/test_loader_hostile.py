"""Inputs that once escaped the loader as tracebacks: each is now a located ScenarioError, and
the command line exits 2 with it (never 1, which means "an objective failed")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ScenarioError
from harness.format import yamlsource
from harness.format.loader import load_scenario, parse_scenario, scenario_from_data
from harness.format.yamlsource import MAX_FILE_BYTES

ROOT = Path(__file__).parent.parent
BODY = "upstreams: {t1: {traffic: {rate: 1/s}}}\n"

HOSTILE = {
    "an empty tagged scalar": ("duration: 1s\nseed: !!int\n" + BODY, "2:7", "not a valid !!int"),
    "an empty tagged float": ("duration: 1s\nseed: !!float\n" + BODY, "2:7", "!!float"),
    "a 400-digit rate": (
        "duration: 1s\nupstreams: {t1: {failure_rate: " + "9" * 400 + ", traffic: {rate: 1/s}}}\n",
        "2:32",
        "a number of 400 digits",
    ),
    "a 400-digit percentage": (
        'duration: 1s\nupstreams: {t1: {failure_rate: "'
        + "9" * 400
        + '%", traffic: {rate: 1/s}}}\n',
        "2:32",
        "at most 100",
    ),
    "a 200 000-digit duration": ("duration: " + "9" * 200_000 + "ms\n" + BODY, "1:11", "…"),
    "a 5000-digit count": ("duration: 1s\nseed: " + "9" * 5000 + "\n" + BODY, "2:7", "…"),
    "a lone surrogate in the description": (
        'duration: 1s\ndescription: "ok \\udc80"\n' + BODY,
        "2:14",
        "lone surrogate (U+DC80)",
    ),
    "a lone surrogate in a key": (
        'duration: 1s\nupstreams: {"t\\ud800": {traffic: {rate: 1/s}}}\n',
        "2:",
        "lone surrogate",
    ),
    "a base-60 count": ("duration: 1s\nseed: 1:30\n" + BODY, "2:7", "base-60"),
    "a base-60 float": ("duration: 1s\nseed: 1:30.5\n" + BODY, "2:7", "base-60"),
    "a binary count": ("duration: 1s\nseed: 0b101\n" + BODY, "2:7", "binary"),
    "an octal count": ("duration: 1s\nseed: 017\n" + BODY, "2:7", "octal"),
    "a hexadecimal count": ("duration: 1s\nseed: 0x1F\n" + BODY, "2:7", "hexadecimal"),
    "a tagged hexadecimal": ("duration: 1s\nseed: !!int 0x1F\n" + BODY, "2:7", "hexadecimal"),
    "a hexadecimal burst": (
        "duration: 1s\nupstreams: {t1: {traffic: {rate: 1/s, bursts: [{at: 0s, requests: 0x1}]}}}",
        "2:",
        "hexadecimal",
    ),
}


@pytest.mark.parametrize(("text", "where", "said"), HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_values_are_located_errors_with_short_messages(
    text: str, where: str, said: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "x.yaml")
    message = str(caught.value)
    assert message.startswith(f"x.yaml:{where}"), message[:300]
    assert said in message
    assert len(message) < 600


def test_plain_decimal_counts_still_load() -> None:
    assert parse_scenario("duration: 1s\nseed: 1_000\n" + BODY).seed == 1000
    assert parse_scenario("duration: 1s\nseed: 0\n" + BODY).seed == 0
    assert parse_scenario("duration: 1s\nseed: +7\n" + BODY).seed == 7


def test_a_quoted_number_form_is_text_not_a_number() -> None:
    with pytest.raises(ScenarioError, match="seed: expected a whole number"):
        parse_scenario("duration: 1s\nseed: '0x1F'\n" + BODY, "x.yaml")


def test_data_with_a_surrogate_or_a_huge_number_is_a_scenario_error() -> None:
    base = {"duration": "1s", "upstreams": {"t1": {"traffic": {"rate": "1/s"}}}}
    with pytest.raises(ScenarioError, match=r"name: the text holds a lone surrogate"):
        scenario_from_data({**base, "name": "a\udc80"})
    with pytest.raises(ScenarioError, match="seed: must be below"):
        scenario_from_data({**base, "seed": 10**400})


def test_an_unforeseen_exception_inside_validation_is_a_scenario_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loader's boundary turns anything into a ScenarioError, by design, not by listing
    exception types: a check that breaks in a way nobody foresaw still ends located."""
    import harness.format.scenario as scenario_module

    def broken(scenario: object) -> list[object]:
        raise ZeroDivisionError("a check that broke")

    monkeypatch.setattr(scenario_module, "cross_checks", broken)
    with pytest.raises(
        ScenarioError, match=r"^x\.yaml: the scenario cannot be validated .*ZeroDiv"
    ):
        parse_scenario("duration: 1s\n" + BODY, "x.yaml")


def test_a_file_over_the_size_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("duration: 1s\n" + BODY + "#" * MAX_FILE_BYTES)
    parsed: list[str] = []
    monkeypatch.setattr(yamlsource, "read_yaml", lambda text, file: parsed.append(file))
    with pytest.raises(ScenarioError, match=r"big\.yaml: the file is too large .*262,144 bytes"):
        load_scenario(path)
    assert parsed == []  # refused on its size: never decoded nor parsed


def test_a_huge_flat_list_stops_at_the_node_limit() -> None:
    text = "duration: 1s\n" + BODY + "x: [" + "1," * 120_000 + "1]\n"
    with pytest.raises(ScenarioError, match=r"3:\d+: the document has over 50000 nodes"):
        parse_scenario(text, "x.yaml")


@pytest.mark.parametrize("name", ["an empty tagged scalar", "a 400-digit rate", "a base-60 count"])
def test_the_command_line_exits_2_without_a_traceback(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(HOSTILE[name][0], encoding="utf-8")
    for command in ("validate", "run"):
        assert main([command, str(path)]) == 2  # what `python -m harness` exits with
        error = capsys.readouterr().err
        assert "Traceback" not in error
        assert f"{path}:{HOSTILE[name][1]}" in error


def test_python_m_harness_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(HOSTILE["a 400-digit rate"][0], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{path}:{HOSTILE['a 400-digit rate'][1]}" in done.stderr
