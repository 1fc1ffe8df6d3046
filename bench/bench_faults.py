"""Chaos run: many requests while the Images API, Slack and the process itself fail.

The bot runs as a real `python -m bot` process (Socket Mode) against the local servers.
Requests go out in batches; before each batch, faults are injected at random (Images API
429 / 500 / slow answers / cut streams; Slack rate limits, failed uploads, late answers
after the file was shared), and now and then the bot is killed with SIGKILL and started
again. At the end every request must have exactly one image in its thread, or a failed
job with a message in its thread; the ledger must charge exactly the posted images.

    .venv/bin/python -m bench.bench_faults [--requests 80] [--kills 3] [--seed 7]

Prints a table and writes bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import random
import signal
import sys
import tempfile
import time
from asyncio.subprocess import Process
from pathlib import Path
from typing import Any

from sqlmodel import Session, create_engine, select

from bot.storage.tables import JobRow, LedgerRow
from tests.fakes.environment import UNLIMITED, bot_environment
from tests.fakes.fake_images import FakeImagesAPI, Fault
from tests.fakes.fake_slack import FakeSlack

RESULTS = Path(__file__).resolve().parent / "results" / "faults.json"
BATCH = 8
TERMINAL = ("done", "failed")


async def wait_for(check: Any, limit_seconds: float, what: str) -> None:
    deadline = time.monotonic() + limit_seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


class Chaos:
    def __init__(self, slack: FakeSlack, images: FakeImagesAPI, rng: random.Random) -> None:
        self.slack, self.images, self.rng = slack, images, rng
        self.injected: collections.Counter[str] = collections.Counter()

    def inject(self) -> None:
        """A few faults before each batch, drawn at random."""
        for _ in range(self.rng.randint(1, 4)):
            kind = self.rng.choice(
                [
                    "images 429",
                    "images 500",
                    "images slow",
                    "images stream cut",
                    "slack upload fails",
                    "slack ratelimited",
                    "slack answers late",
                ]
            )
            self.injected[kind] += 1
            match kind:
                case "images 429":
                    self.images.inject(Fault("rate_limit", retry_after=0.2))
                case "images 500":
                    self.images.inject(Fault("server_error"))
                case "images slow":
                    self.images.inject(Fault("slow", delay=2.0))
                case "images stream cut":
                    self.images.inject(Fault("stream_cut"))
                case "slack upload fails":
                    self.slack.fail_next("upload", times=self.rng.randint(1, 4))
                case "slack ratelimited":
                    method = self.rng.choice(["chat.postMessage", "files.completeUploadExternal", "chat.update"])
                    self.slack.fail_next(method, retry_after=1)
                case "slack answers late":
                    self.slack.hold("files.completeUploadExternal", 1.5)


async def start(env: dict[str, str], workdir: str, slack: FakeSlack, log: Any) -> Process:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=workdir, env=env, stderr=log)
    await wait_for(lambda: slack.connected, 30, "the bot to connect")
    return process


async def run(requests: int, kills: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    async with FakeSlack() as slack, FakeImagesAPI(latency=0.3) as images:
        workdir = tempfile.mkdtemp(prefix="easel-chaos-")
        database = f"sqlite:///{workdir}/chaos.db"
        env = bot_environment(
            slack,
            images,
            database_url=database,
            IMAGE_STREAMING="1",
            IMAGE_MAX_RETRY_AFTER_SECONDS="2",
            JOB_LEASE_SECONDS="2",
            JOB_POLL_SECONDS="0.2",
            JOB_RETRY_SECONDS="0.5",
            LOG_LEVEL="WARNING",
            **UNLIMITED,
        )
        chaos = Chaos(slack, images, rng)
        batches = (requests + BATCH - 1) // BATCH
        kill_after = set(rng.sample(range(batches), min(kills, batches)))
        acked = 0
        started = time.monotonic()
        with (Path(workdir) / "bot.log").open("ab") as log:
            bot = await start(env, workdir, slack, log)
            try:
                for batch in range(batches):
                    chaos.inject()
                    size = min(BATCH, requests - batch * BATCH)
                    acks = await asyncio.gather(*(slack.slash(f"chaos {batch}-{i} --quality low") for i in range(size)))
                    acked += len(acks)
                    await asyncio.sleep(rng.uniform(0.2, 1.0))
                    slack.hold("files.completeUploadExternal", 0)
                    if batch in kill_after:
                        bot.send_signal(signal.SIGKILL)
                        await bot.wait()
                        chaos.injected["process killed (SIGKILL)"] += 1
                        await wait_for(lambda: not slack.connected, 10, "the socket to close")
                        bot = await start(env, workdir, slack, log)

                def settled() -> bool:
                    jobs, _ = read(database)
                    return len(jobs) == acked and all(job.status in TERMINAL for job in jobs)

                await wait_for(settled, 180, "every job to end")
                await asyncio.sleep(1.0)  # anything still in flight would show up now
            finally:
                bot.terminate()
                await bot.wait()
        elapsed = time.monotonic() - started
    return tally(slack, database, acked, chaos.injected, elapsed, seed)


def read(database: str) -> tuple[list[JobRow], list[LedgerRow]]:
    engine = create_engine(database)
    with Session(engine) as session:
        jobs = list(session.exec(select(JobRow)))
        ledger = list(session.exec(select(LedgerRow)))
    engine.dispose()
    return jobs, ledger


def tally(
    slack: FakeSlack,
    database: str,
    acked: int,
    injected: collections.Counter[str],
    elapsed: float,
    seed: int,
) -> dict[str, Any]:
    jobs, ledger = read(database)
    posted: collections.Counter[str] = collections.Counter()  # "job-position" -> times in a thread
    for message in slack.messages:
        for file_id in message.files:
            name = slack.files[file_id].filename  # easel-<job>-<position>.<ext>
            posted[name.rsplit(".", 1)[0]] += 1
    texts = {(m.channel, m.thread_ts): m.text or "" for m in slack.messages if not m.files}
    told = {key for key, text in texts.items() if text}
    done = [job for job in jobs if job.status == "done"]
    failed = [job for job in jobs if job.status == "failed"]
    failed_told = [job for job in failed if (job.channel_id, job.thread_ts) in told]
    lost = acked - len(done) - len(failed_told) + sum(1 for job in done if posted[f"easel-{job.id}-1"] == 0)
    settled = [row for row in ledger if row.status == "settled"]
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "parameters": {"requests": acked, "seed": seed},
        "faults_injected": dict(sorted(injected.items())),
        "faults_total": sum(injected.values()),
        "requests_acked": acked,
        "jobs_recorded": len(jobs),
        "images_posted": sum(posted.values()),
        "jobs_done": len(done),
        "jobs_failed_with_message": len(failed_told),
        "duplicates": sum(count - 1 for count in posted.values() if count > 1),
        "lost": lost,
        "charges_settled": len(settled),
        "charges_for_unposted_images": sum(1 for row in settled if posted[f"easel-{row.job_id}-1"] == 0),
        "failures_by_reason": dict(collections.Counter(job.error or "?" for job in failed)),
        "elapsed_s": round(elapsed, 1),
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{'fault injected':<34}{'times':>8}")
    for kind, count in result["faults_injected"].items():
        print(f"{kind:<34}{count:>8}")
    print()
    for name in (
        "requests_acked",
        "jobs_recorded",
        "images_posted",
        "jobs_done",
        "jobs_failed_with_message",
        "duplicates",
        "lost",
        "charges_settled",
        "charges_for_unposted_images",
    ):
        print(f"{name.replace('_', ' '):<34}{result[name]:>8}")
    print(f"{'failures by reason':<34}{json.dumps(result['failures_by_reason'])}")
    print(f"{'elapsed':<34}{result['elapsed_s']:>7}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=80)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.kills, args.seed))
    print_table(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS}")
    if result["duplicates"] or result["lost"] or result["charges_for_unposted_images"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
