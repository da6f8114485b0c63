"""Engines: the HTTP engine against its bare floor, the direct engine's throughput, memory per
sample, and the cost of metrics and reports.

(b) HTTP engine cost per simulated request vs the bare floor: an ``httpx.AsyncClient`` with the
    same respx router on the same virtual loop, sending the same requests at the same virtual
    times, with no breaker and no recorder. Goal: ≤ 1.15×. Also a trivial entry point (your
    code: one ``ctx.httpx`` request) driven by the same scenario, against the HTTP engine.
    Goal: ≤ 1.2×.
(c) Direct engine: simulated requests per second. Goal: ≥ 250 000/s; seed-t3-consensus at
    1 000 req/s for 1 h (3.6 M requests) in ≤ 12 s with peak RSS ≤ 300 MB (on a quiet machine).
(d) Peak memory for 1 M and 10 M samples (recorder + metrics), each in a fresh process.
(e) Time to compute all metrics, and to write the reports, for a 1 M-request run. Goal for the
    metrics: ≤ 100 ms.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import harness
from benchmarks.timing import interleaved
from harness import Scenario, load_scenario, parse_scenario
from harness.clock import VirtualEventLoop
from harness.engines.lanes import ARRIVAL
from harness.upstreams.mocked import MockedUpstreams
from harness.upstreams.streams import stream
from harness.upstreams.traffic import arrivals

ROOT = Path(__file__).resolve().parent.parent
FLOOR_SCENARIO = """\
name: floor
seed: 1
duration: {seconds}s
upstreams:
  api:
    latency: {{dist: lognormal, p50: 20ms, p95: 60ms}}
    traffic: {{rate: 200/s}}
    breaker: {{sliding_window_size: 100, minimum_number_of_calls: 100}}
"""


def run(quick: bool) -> dict[str, Any]:
    """Run every engine benchmark; print each table; return the numbers."""
    return {
        "http_vs_floor": http_vs_floor(quick),
        "direct_throughput": direct_throughput(quick),
        "memory": memory(quick),
        "metrics_and_reports": metrics_and_reports(quick),
    }


def _bare_floor(scenario: Scenario) -> None:
    """Send the scenario's requests through httpx + respx only, at the same virtual times.

    The same scheduling as the engine (each arrival a clock event that starts a task, the next
    arrival scheduled from it), without breaker, recorder or lanes: what the engine adds is
    the difference.
    """
    loop = VirtualEventLoop()
    clock = loop.clock
    (name, upstream), *_ = scenario.upstreams.items()
    assert upstream.traffic is not None
    traffic = upstream.traffic
    url = scenario.url_of(name)
    times = arrivals(traffic, scenario.duration, stream(scenario.seed, name, "arrivals"))

    async def main() -> None:
        mocks = MockedUpstreams(scenario, scenario.seed, clock)
        done = loop.create_future()
        pending = [0, False]  # requests in flight, arrivals exhausted

        async def request(client: httpx.AsyncClient) -> None:
            with contextlib.suppress(httpx.HTTPError):  # the floor does not classify answers
                await client.get(url, timeout=traffic.timeout / 1e9)
            pending[0] -= 1
            if pending[1] and not pending[0]:
                done.set_result(None)

        def arrive(client: httpx.AsyncClient) -> None:
            pending[0] += 1
            loop.create_task(request(client))
            schedule(client)

        def schedule(client: httpx.AsyncClient) -> None:
            at_ns = next(times, None)
            if at_ns is None:
                pending[1] = True
                return
            clock.schedule(at_ns, ARRIVAL, lambda: arrive(client))

        async with httpx.AsyncClient(transport=mocks.transport) as client:
            schedule(client)
            await done

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def http_vs_floor(quick: bool) -> dict[str, Any]:
    """(b): the HTTP engine's cost per request over the bare httpx + respx floor."""
    seconds = 2 if quick else 20
    scenario = parse_scenario(FLOOR_SCENARIO.format(seconds=seconds), "floor.yaml")
    requests = 200 * seconds
    cases = {
        "bare httpx+respx floor": lambda loops: [_bare_floor(scenario) for _ in range(loops)],
        "HTTP engine": lambda loops: [harness.run(scenario, engine="http") for _ in range(loops)],
        "trivial entry point": lambda loops: [
            harness.run(scenario, engine="http", client=_trivial_entry_point) for _ in range(loops)
        ],
    }
    times = interleaved(cases, loops=1, rounds=2 if quick else 7)
    per_request = {name: value / requests / 1000 for name, value in times.items()}
    ratio = per_request["HTTP engine"] / per_request["bare httpx+respx floor"]
    print(f"per simulated request ({requests} requests a run, median of interleaved rounds):")
    for name, micros in per_request.items():
        print(f"  {name:<24} {micros:8.1f} µs")
    print(f"  ratio HTTP engine / floor: {ratio:.3f}  (goal ≤ 1.15)")
    entry_ratio = per_request["trivial entry point"] / per_request["HTTP engine"]
    print(f"  ratio trivial entry point / HTTP engine: {entry_ratio:.3f}  (goal ≤ 1.2)")
    return {
        "us_per_request": per_request,
        "ratio": ratio,
        "entry_point_ratio": entry_ratio,
        "requests": requests,
    }


async def _trivial_entry_point(ctx: harness.ServiceContext) -> httpx.Response:
    """The least a service can do: one request to the upstream, its response the outcome."""
    return await ctx.httpx.get(ctx.urls["api"], timeout=5.0)


def _soak(duration: str) -> Scenario:
    scenario = load_scenario(ROOT / "scenarios" / "seed-t3-consensus.yaml")
    return scenario.override(
        {
            "duration": duration,
            "upstreams.t1.traffic.rate": "800/s",
            "upstreams.vertex.traffic.rate": "200/s",
        }
    )


def direct_throughput(quick: bool) -> dict[str, Any]:
    """(c): simulated requests per second on the direct engine, seed-t3 at 1 000 req/s."""
    duration = "30s" if quick else "1h"
    code = (
        "import json, sys, time\n"
        "from benchmarks.bench_engines import _peak_rss_mb, _soak\n"
        "from harness import run\n"
        f"scenario = _soak({duration!r})\n"
        "began = time.perf_counter()\n"
        "result = run(scenario, engine='direct')\n"
        "total = time.perf_counter() - began\n"
        "requests = sum(len(u.samples) for u in result.upstreams.values())\n"
        "rss = _peak_rss_mb()\n"
        "print(json.dumps({'requests': requests, 'engine_s': result.run_info.wall_time_s,\n"
        "                  'total_s': total, 'peak_rss_mb': rss, 'passed': result.passed}))\n"
    )
    numbers = _in_fresh_process(code)
    numbers["requests_per_s_engine"] = numbers["requests"] / numbers["engine_s"]
    numbers["requests_per_s_total"] = numbers["requests"] / numbers["total_s"]
    print(
        f"seed-t3-consensus at 1000 req/s for {duration}: {numbers['requests']:,} requests in "
        f"{numbers['total_s']:.1f} s with metrics ({numbers['requests_per_s_total']:,.0f}/s; "
        f"engine alone {numbers['requests_per_s_engine']:,.0f}/s), "
        f"peak RSS {numbers['peak_rss_mb']:.0f} MB  (goals, on a quiet machine: ≥ 250 000/s; "
        "3.6 M in ≤ 12 s, ≤ 300 MB)"
    )
    return numbers


def memory(quick: bool) -> dict[str, Any]:
    """(d): memory for N recorded samples plus every metric over them, in a fresh process.

    tracemalloc counts what the recorder and the metrics allocate (numpy reports its buffers to
    it): the recorder's size, and the peak while the metrics are computed.
    """
    sizes = [100_000] if quick else [1_000_000, 10_000_000]
    found = {}
    for size in sizes:
        code = (
            "import json, tracemalloc\n"
            "from array import array\n"
            "import numpy as np\n"
            "from harness.verdicts.metrics import SampleLog, View, view_stats\n"
            "from harness.verdicts.timeseries import timeseries\n"
            f"n = {size}\n"
            "rng = np.random.default_rng(1)\n"
            "tracemalloc.start()\n"
            "log = SampleLog()\n"
            "for start in range(0, n, 100_000):\n"
            "    k = min(100_000, n - start)\n"
            "    starts = np.arange(start, start + k) * 1_000_000\n"
            "    log.start_ns.extend(array('q', starts.tobytes()))\n"
            "    log.latency_ns.extend(array('q', rng.integers(1, 10**9, k).tobytes()))\n"
            "    log.outcome.extend(array('b', bytes(k)))\n"
            "    log.status.extend(array('h', np.full(k, 200, np.int16).tobytes()))\n"
            "    log.state.extend(array('b', bytes(k)))\n"
            "recorded, _ = tracemalloc.get_traced_memory()\n"
            "tracemalloc.reset_peak()\n"
            "samples = log.freeze()\n"
            "ms = samples.latency_ns / 1e6\n"
            "views = [view_stats(samples, v, 'nearest_rank', ms) for v in View]\n"
            "series = timeseries(samples, None, n * 1_000_000, 'nearest_rank', latency_ms=ms)\n"
            "_, peak = tracemalloc.get_traced_memory()\n"
            "print(json.dumps({'recorded_mb': recorded / 2**20, 'peak_mb': peak / 2**20}))\n"
        )
        numbers = _in_fresh_process(code)
        numbers["bytes_per_sample_recorded"] = numbers["recorded_mb"] * 2**20 / size
        numbers["bytes_per_sample_peak"] = numbers["peak_mb"] * 2**20 / size
        found[str(size)] = numbers
        print(
            f"{size:>11,} samples: recorder {numbers['recorded_mb']:.0f} MB "
            f"({numbers['bytes_per_sample_recorded']:.1f} B/sample); peak while computing every "
            f"metric {numbers['peak_mb']:.0f} MB ({numbers['bytes_per_sample_peak']:.1f} B/sample)"
        )
    return found


def metrics_and_reports(quick: bool) -> dict[str, Any]:
    """(e): metrics and report writing for a run of about 1 M requests."""
    duration = "10s" if quick else "1000s"  # 1 000 req/s
    scenario = _soak(duration)
    result = harness.run(scenario, engine="direct")
    requests = sum(len(upstream.samples) for upstream in result.upstreams.values())
    assert result.run_info is not None
    began = time.perf_counter()
    result = harness.run(scenario, engine="direct")
    total = time.perf_counter() - began
    assert result.run_info is not None
    metrics_s = total - result.run_info.wall_time_s
    writes = _time_reports(result)
    print(
        f"{requests:,} requests: metrics and verdicts {metrics_s * 1000:.0f} ms (goal ≤ 100 ms for "
        "1 M); " + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in writes.items())
    )
    return {"requests": requests, "metrics_ms": metrics_s * 1000, "reports_ms": writes}


def _time_reports(result: Any) -> dict[str, float]:
    from harness.report import write_samples
    from harness.report.bundle import write_reports
    from harness.report.digest import digest

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        pair = (result.to_dict(), digest(result))
        times["JSON form + digest"] = time.perf_counter() - began
        began = time.perf_counter()
        written = write_reports(Path(folder), [pair])
        times["every report (HTML, JUnit, JSON, OpenMetrics, monitor files)"] = (
            time.perf_counter() - began
        )
        if written.skipped:
            print(f"  (not written: {', '.join(written.skipped)})")
        began = time.perf_counter()
        write_samples(Path(folder) / "samples.csv", [result])
        times["samples CSV (every request)"] = time.perf_counter() - began
    return times


def _peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB.

    Linux's VmHWM belongs to the process image: unlike ``ru_maxrss``, it does not carry over the
    size of the parent that forked this process.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_fresh_process(code: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode:
        raise RuntimeError(f"benchmark subprocess failed:\n{completed.stderr}")
    numbers: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return numbers
