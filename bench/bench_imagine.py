"""Benchmark /imagine against the local servers, with the bot as a real `python -m bot` process.

Measures:
- ack latency (p50, p99, max) for a burst of slash commands sent at once;
- Easel's own overhead per job: from sending the command to the upload completing, minus the
  time the Images API server spent on the request (its latency plus encoding the image);
- the bot process's peak RSS.

    .venv/bin/python -m bench.bench_imagine [--burst 200] [--jobs 20] [--model-latency 0.5]

Prints a table and writes bench/results/imagine.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.environment import UNLIMITED, bot_environment
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

RESULTS = Path(__file__).resolve().parent / "results" / "imagine.json"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_for(check: Callable[[], bool], limit_seconds: float) -> None:
    deadline = time.monotonic() + limit_seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not finish in time")
        await asyncio.sleep(0.005)


async def ack_burst(slack: FakeSlack, count: int) -> list[float]:
    payloads = [slack.slash_command(f"burst {i} --quality low") for i in range(count)]
    envelopes = await asyncio.gather(*(slack.send_envelope("slash_commands", p) for p in payloads))
    acks = await asyncio.gather(*(slack.wait_for_ack(e, timeout=60) for e in envelopes))
    return [ack.latency * 1000 for ack in acks]


async def job_overheads(slack: FakeSlack, images: FakeImagesAPI, *, size: str, jobs: int) -> list[float]:
    overheads = []
    for i in range(jobs):
        uploads, requests = len(slack.files), len(images.requests)
        started = time.monotonic()
        await slack.slash(f"overhead {size} {i} --size {size} --quality low")
        await wait_for(lambda: len(slack.files) > uploads, 60)  # noqa: B023
        completed = slack.calls_to("files.completeUploadExternal")[-1].at
        request = images.requests[requests]
        model_time = request.answered_at - request.received_at
        overheads.append((completed - started - model_time) * 1000)
    return overheads


async def run(burst: int, jobs: int, model_latency: float) -> dict[str, Any]:
    async with FakeSlack() as slack, FakeImagesAPI(latency=model_latency) as images:
        workdir = tempfile.mkdtemp(prefix="easel-bench-")
        # The benchmark measures Easel's own overhead, so no limit may refuse its burst.
        env = bot_environment(
            slack, images, database_url=f"sqlite:///{workdir}/bench.db", LOG_LEVEL="WARNING", **UNLIMITED
        )
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=workdir, env=env, stdout=asyncio.subprocess.DEVNULL
        )
        try:
            await slack.wait_connected(timeout=30)
            await job_overheads(slack, images, size="1024x1024", jobs=2)  # warm-up
            acks = await ack_burst(slack, burst)
            await wait_for(lambda: len(slack.files) >= burst + 2, 300)
            square = await job_overheads(slack, images, size="1024x1024", jobs=jobs)
            landscape = await job_overheads(slack, images, size="1536x1024", jobs=jobs)
            rss = peak_rss_mib(bot.pid)
        finally:
            bot.terminate()
            await bot.wait()
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "parameters": {"burst": burst, "jobs_per_size": jobs, "model_latency_s": model_latency},
        "ack_ms": summary(acks),
        "overhead_ms": {"1024x1024": summary(square), "1536x1024": summary(landscape)},
        "peak_rss_mib": round(rss, 1),
    }


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.50), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
        "mean": round(statistics.fmean(values), 2),
        "n": len(values),
    }


def print_table(result: dict[str, Any]) -> None:
    rows = [(f"ack latency, burst of {result['parameters']['burst']}", result["ack_ms"])]
    for size, stats in result["overhead_ms"].items():
        rows.append((f"overhead per job, {size} PNG", stats))
    print(f"{'measure':<34}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'n':>6}")
    for name, stats in rows:
        print(f"{name:<34}{stats['p50']:>10.1f}{stats['p99']:>10.1f}{stats['max']:>10.1f}{stats['n']:>6}")
    print(f"{'peak RSS of the bot process':<34}{result['peak_rss_mib']:>10.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=20, help="sequential jobs per size")
    parser.add_argument("--model-latency", type=float, default=0.5, help="seconds the fake model waits")
    args = parser.parse_args()
    result = asyncio.run(run(args.burst, args.jobs, args.model_latency))
    print_table(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
