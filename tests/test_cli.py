from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.verdicts.metrics import NO_ANSWER
from tests.support import SCENARIOS, nearest_rank

NOT_ANSWERED = {outcome.label for outcome in NO_ANSWER}

PASSING = """\
name: quick
seed: 4
duration: 30s
upstreams:
  t1:
    latency: {dist: lognormal, p50: 6ms, p95: 12ms}
    traffic: {rate: 20/s, arrivals: poisson}
    breaker: {sliding_window_size: 20, minimum_number_of_calls: 10}
    slo: [p95 < 50ms, success_rate >= 99%, final_state == CLOSED]
"""


@pytest.fixture
def quick(tmp_path: Path) -> Path:
    path = tmp_path / "quick.yaml"
    path.write_text(PASSING)
    return path


def test_run_passes_and_prints_every_objective(
    quick: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(quick)]) == 0
    out = capsys.readouterr().out
    assert "PASS  quick  (seed 4, 30s virtual" in out
    for objective in ("p95 < 50ms", "success_rate >= 99%", "final_state == CLOSED"):
        assert objective in out
    assert "1 passed, 0 failed" in out


def test_run_exits_1_when_an_objective_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tight.yaml"
    path.write_text(PASSING.replace("p95 < 50ms", "p95 < 1ms"))
    assert main(["run", str(path)]) == 1
    out = capsys.readouterr().out
    assert "p95 < 1ms" in out
    assert "FAIL" in out


def test_invalid_input_exits_2_with_a_location_and_runs_nothing(
    quick: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("duration: 1m\nupstreams:\n  t1:\n    failure_rate: 150%\n")
    report = tmp_path / "out.json"
    assert main(["run", str(quick), str(bad), "--json", str(report)]) == 2
    captured = capsys.readouterr()
    assert f"{bad}:4:19: upstreams.t1.failure_rate:" in captured.err
    assert "quick" not in captured.out  # nothing ran
    assert not report.exists()  # and nothing was written


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["run"],
        ["frobnicate"],
        ["run", "x.yaml", "--seed", "abc"],
        ["run", "x.yaml", "--seed", "-1"],
    ],
)
def test_usage_errors_exit_2(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: no such file" in capsys.readouterr().err


def test_seed_override_and_json_output(quick: Path, tmp_path: Path) -> None:
    report = tmp_path / "reports" / "results.json"
    assert main(["run", str(quick), "--seed", "99", "--json", str(report)]) == 0
    document = json.loads(report.read_text())
    [result] = document["results"]
    assert result["seed"] == 99
    assert result["replay"] == f"python -m harness run {quick} --seed 99"
    assert len(result["scenario"]["sha256"]) == 64
    assert isinstance(result["run_info"]["wall_time_s"], float)
    upstream = result["upstreams"]["t1"]
    client = upstream["views"]["client"]
    assert isinstance(client["success_rate"], float)
    assert 0 <= client["success_rate"] <= 1
    assert isinstance(client["latency_ms"]["p95_ms"], float)
    assert isinstance(upstream["objectives"][0]["observed"], float)


def test_the_samples_csv_reproduces_the_metrics(quick: Path, tmp_path: Path) -> None:
    report, samples = tmp_path / "r.json", tmp_path / "samples.csv"
    assert main(["run", str(quick), "--json", str(report), "--samples", str(samples)]) == 0
    with samples.open() as stream:
        rows = list(csv.DictReader(stream))
    latency = np.array([float(row["latency_ms"]) for row in rows])
    stats = json.loads(report.read_text())["results"][0]["upstreams"]["t1"]["views"]["client"]
    assert len(rows) == stats["requests"]
    answered = [row["outcome"] not in NOT_ANSWERED for row in rows]
    assert nearest_rank(latency[answered], 95) == stats["latency_ms"]["p95_ms"]
    assert nearest_rank(latency[answered], 50) == stats["latency_ms"]["p50_ms"]
    assert sum(row["outcome"] == "success" for row in rows) == stats["successes"]
    assert set(rows[0]) == {
        "scenario",
        "upstream",
        "start_ms",
        "latency_ms",
        "outcome",
        "status",
        "breaker_state",
    }


def test_validate(quick: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SCENARIOS)]) == 0
    assert "vertex-flaky.yaml: ok" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text(
        "duration: 1m\nupstreams:\n  t1: {latency: !!python/object:os.system {}}\n"
    )
    assert main(["validate", str(tmp_path)]) == 2
    assert "bad.yaml:3:17: upstreams.t1.latency: unsupported YAML tag" in capsys.readouterr().err


def test_validate_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    assert "no .yaml or .yml files" in capsys.readouterr().err


def test_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    target = tmp_path / "schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    assert json.loads(target.read_text()) == schema


def test_engine_override(quick: Path, tmp_path: Path) -> None:
    outputs = {}
    for engine in ("http", "direct"):
        report = tmp_path / f"{engine}.json"
        assert main(["run", str(quick), "--engine", engine, "--json", str(report)]) == 0
        [result] = json.loads(report.read_text())["results"]
        assert result.pop("engine") == engine
        result.pop("replay")  # names the engine when it is not the file's
        result.pop("run_info")
        outputs[engine] = result
    assert outputs["http"] == outputs["direct"]


def _usage_error(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.out == ""  # nothing ran
    return captured.err


def test_output_paths_are_checked_before_anything_runs(
    quick: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, file = tmp_path / "adir", tmp_path / "afile"
    folder.mkdir()
    file.write_text("")
    run = ["run", str(quick)]
    assert f"{folder} is a folder" in _usage_error([*run, "--json", str(folder)], capsys)
    assert f"{file} is a file" in _usage_error([*run, "--reports", str(file)], capsys)
    assert "is a file" in _usage_error([*run, "--json", str(file / "x.json")], capsys)
    assert f"{folder} is a folder" in _usage_error(["schema", "--output", str(folder)], capsys)
    (folder / "junit.xml").mkdir()
    assert "junit.xml is a folder" in _usage_error([*run, "--reports", str(folder)], capsys)
    ok = tmp_path / "ok.json"
    err = _usage_error([*run, "--json", str(ok), "--samples", str(file / "s.csv")], capsys)
    assert "--samples" in err
    assert not ok.exists()  # the good output is not written either


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_place_nothing_can_be_created_in_is_a_usage_error(
    quick: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error(["run", str(quick), "--json", "/proc/nope/x.json"], capsys)
    assert "cannot write to /proc/nope" in err


def test_a_failed_write_writes_nothing_and_exits_2(
    quick: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.report.files import Staging

    real_write = Staging.write

    def full_disk(staging: Staging, path: str | Path, content: object) -> Path:
        if Path(path).suffix == ".csv":
            raise OSError(28, "No space left on device", str(path))
        return real_write(staging, path, content)  # type: ignore[arg-type]

    monkeypatch.setattr(Staging, "write", full_disk)
    report, samples = tmp_path / "r.json", tmp_path / "s.csv"
    assert main(["run", str(quick), "--json", str(report), "--samples", str(samples)]) == 2
    err = capsys.readouterr().err
    assert "nothing was written" in err
    assert "No space left on device" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == [quick]  # neither file, no temporary


def test_a_file_named_twice_runs_once(quick: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert main(["run", str(quick), str(tmp_path), "--json", str(report)]) == 0
    assert len(json.loads(report.read_text())["results"]) == 1


def test_the_printed_replay_command_quotes_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my scenarios"
    folder.mkdir()
    path = folder / "it's tight.yaml"
    path.write_text(PASSING.replace("p95 < 50ms", "p95 < 1ms"))
    assert main(["run", str(path)]) == 1
    assert main(["run", str(path), "--json", str(tmp_path / "r.json")]) == 1
    [entry] = json.loads((tmp_path / "r.json").read_text())["results"]
    from harness.verdicts.checks import failure_text

    replay = failure_text(entry).splitlines()[-1].removeprefix("replay: ")
    assert shlex.split(replay) == ["python", "-m", "harness", "run", str(path), "--seed", "4"]


def test_version_and_help_with_examples_and_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from harness.version import __version__

    with pytest.raises(SystemExit) as exited:
        main(["--version"], prog="slo-harness")
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"slo-harness {__version__}\n"
    with pytest.raises(SystemExit):
        main(["--help"], prog="slo-harness")
    shown = capsys.readouterr().out
    assert shown.startswith("usage: slo-harness ")
    assert "  slo-harness run scenarios/vertex-flaky.yaml --seed 7 --reports reports/" in shown
    for code in ("0  every objective held", "1  an objective failed", "2  invalid input"):
        assert f"  {code}" in shown


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [("/venv/bin/slo-harness", "slo-harness"), ("/x/harness/__main__.py", "python -m harness")],
)
def test_help_names_the_command_as_it_was_called(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv0: str, prog: str
) -> None:
    monkeypatch.setattr("sys.argv", [argv0, "--help"])
    with pytest.raises(SystemExit):
        main()
    assert capsys.readouterr().out.startswith(f"usage: {prog} [-h]")


def test_a_closed_pipe_ends_quietly_with_the_verdict(quick: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    failing = tmp_path / "failing.yaml"
    failing.write_text(PASSING.replace("p95 < 50ms", "p95 < 1ms"))
    for path, verdict in ((quick, 0), (failing, 1)):
        command = [sys.executable, "-m", "harness", "run", str(path), "--reports", "out"]
        process = subprocess.Popen(  # the reader reads nothing and goes away at once
            command,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**__import__("os").environ, "PYTHONPATH": str(Path.cwd())},
        )
        assert process.stdout is not None
        process.stdout.close()
        _, stderr = process.communicate()
        assert (process.returncode, stderr.decode()) == (verdict, "")
        assert (tmp_path / "out" / "slo-results.json").is_file()  # the run went on
