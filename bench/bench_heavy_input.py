"""Benchmark a heavy attachment against the local servers, with the bot as a real `python -m bot`.

While an edit with a huge image is being prepared, other people's commands must still be acked
at once and the bot's memory must stay bounded. For each case, a reply with the attachment is
sent into a thread, then twelve `/imagine usage` commands 100 ms apart; measured are their ack
latencies, the bot's resident memory (sampled every 20 ms) and how long until the edit was
sent to the Images API or refused.

    .venv/bin/python -m bench.bench_heavy_input

Prints a table and writes bench/results/heavy_input.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bench_imagine import percentile, start_bot, wait_for
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.large_png import solid_png

RESULTS = Path(__file__).resolve().parent / "results" / "heavy_input.json"
COMMANDS = 12
COMMAND_INTERVAL = 0.1


@dataclass(frozen=True)
class Case:
    name: str
    side: int  # a square RGBA PNG of this side, opaque, as the second attachment


CASES = (
    Case("13000x13000 RGBA PNG (0.7 MB), 2nd attachment", 13_000),
    Case("7000x7000 RGBA PNG (0.2 MB), 2nd attachment", 7_000),
)


def refusals(slack: FakeSlack, thread: str) -> list[str]:
    return [m.text or "" for m in slack.thread("C0GENERAL", thread) if "I can't use that" in (m.text or "")]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mib(pid))
        await asyncio.sleep(0.02)


async def run_case(slack: FakeSlack, images: FakeImagesAPI, pid: int, thread: str, case: Case) -> dict[str, Any]:
    data = solid_png(case.side, case.side, mode="RGBA", fill=255)
    small = solid_png(512, 512, mode="RGB", fill=90)
    files = [
        slack.host_file(small, name="photo.png", mimetype="image/png", channel="C0GENERAL"),
        slack.host_file(data, name="huge.png", mimetype="image/png", channel="C0GENERAL"),
    ]
    before_rss = rss_mib(pid)
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, samples, stop))
    requests, replies = len(images.requests), len(refusals(slack, thread))
    started = time.monotonic()
    await slack.say("use these", thread_ts=thread, files=files)
    envelopes = []
    for _ in range(COMMANDS):
        envelopes.append(await slack.send_envelope("slash_commands", slack.slash_command("usage")))
        await asyncio.sleep(COMMAND_INTERVAL)
    acks = [await slack.wait_for_ack(envelope, timeout=60) for envelope in envelopes]

    def answered() -> bool:
        return len(images.requests) > requests or len(refusals(slack, thread)) > replies

    await wait_for(answered, 300)
    elapsed = time.monotonic() - started
    outcome = "edited" if len(images.requests) > requests else "refused"
    stop.set()
    await sampler
    latencies = [ack.latency * 1000 for ack in acks]
    return {
        "case": case.name,
        "outcome": outcome,
        "seconds_to_outcome": round(elapsed, 2),
        "ack_ms": {
            "p50": round(percentile(latencies, 0.5), 1),
            "max": round(max(latencies), 1),
            "n": len(latencies),
        },
        "rss_before_mib": round(before_rss, 1),
        "rss_peak_mib": round(max(samples), 1),
    }


async def run() -> dict[str, Any]:
    async with FakeSlack() as slack, FakeImagesAPI() as images:
        bot = await start_bot(slack, images)
        try:
            await slack.slash("a lighthouse --quality low")
            await wait_for(lambda: len(slack.files) == 1, 60)
            thread = next(m.ts for m in slack.messages if m.thread_ts is None)
            cases = [await run_case(slack, images, bot.pid, thread, case) for case in CASES]
        finally:
            bot.terminate()
            await bot.wait()
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "parameters": {"commands": COMMANDS, "command_interval_s": COMMAND_INTERVAL},
        "cases": cases,
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{'case':<48}{'outcome':>9}{'s':>7}{'ack p50':>9}{'ack max':>9}{'RSS MiB':>9}{'peak':>7}")
    for case in result["cases"]:
        print(
            f"{case['case']:<48}{case['outcome']:>9}{case['seconds_to_outcome']:>7.1f}"
            f"{case['ack_ms']['p50']:>9.0f}{case['ack_ms']['max']:>9.0f}"
            f"{case['rss_before_mib']:>9.0f}{case['rss_peak_mib']:>7.0f}"
        )
    print("ack latencies in ms, of /imagine usage sent while the attachment was being prepared")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    result = asyncio.run(run())
    print_table(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
