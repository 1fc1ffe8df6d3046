"""One of several processes taking jobs from one queue (tests/storage/test_job_queue.py):
claims until the queue is empty, finishing each job, and prints the ids it ran."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from bot.storage.database import Database
from bot.storage.job_records import JobRepository


async def drain(url: str, start_at: float) -> list[int]:
    await asyncio.sleep(max(start_at - time.time(), 0))  # every process starts at once
    database = Database(url, threads=4)
    jobs = JobRepository(database)
    owner = f"worker-{os.getpid()}"
    ran: list[int] = []
    idle = 0
    while idle < 5:
        claimed = await jobs.claim(owner, now=datetime.now(UTC), lease=timedelta(minutes=5), limit=3)
        idle = 0 if claimed else idle + 1
        for job in claimed:
            assert job.id is not None
            ran.append(job.id)
            await asyncio.sleep(0.005)  # the work
            await jobs.finish(job.id, status="done", at=datetime.now(UTC))
        await asyncio.sleep(0 if claimed else 0.02)
    database.close()
    return ran


if __name__ == "__main__":
    print(json.dumps(asyncio.run(drain(sys.argv[1], float(sys.argv[2])))))
