"""The job queue on real databases: claims under a lease, thread order, retries, the
images-per-minute budget, and several processes taking jobs from one queue at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.model import JobRecord, RequestedJob
from bot.storage.database import Database
from bot.storage.job_records import JobRepository, LeaseLost, NewOutput

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    return str(request.getfixturevalue("fresh_postgres"))


@pytest.fixture
def jobs(database_url: str) -> JobRepository:
    return JobRepository(Database(database_url))


async def queued(
    jobs: JobRepository, *, thread: str = "1.0", n: int = 1, channel: str = "C1", shown: bool = True
) -> int:
    """A queued job; `shown`: its request message is posted (as the thread's first message)."""
    row = await jobs.add(
        RequestedJob(
            team_id="T1",
            user_id="U1",
            channel_id=channel,
            thread_ts=thread,
            prompt="a lighthouse",
            size="1024x1024",
            quality="low",
            n=n,
            output_format="png",
            model="gpt-image-1-mini",
            status="queued",
            created_at=NOW,
        )
    )
    assert row is not None
    if shown:
        await jobs.mark_announced(row.id, thread_ts=thread, status_ts=thread, owner=None)
    return row.id


def ids(rows: list[JobRecord]) -> list[int]:
    return [row.id for row in rows]


async def test_a_claimed_job_is_not_claimed_again_until_its_lease_runs_out(jobs: JobRepository) -> None:
    job = await queued(jobs)
    assert ids(await jobs.claim("a", now=NOW, lease=LEASE, limit=5)) == [job]
    assert await jobs.claim("b", now=NOW + timedelta(seconds=59), lease=LEASE, limit=5) == []
    [again] = await jobs.claim("b", now=NOW + timedelta(seconds=61), lease=LEASE, limit=5)
    assert (again.id, again.lease_owner, again.attempts) == (job, "b", 2)
    assert not await jobs.extend_lease(job, "a", until=NOW + timedelta(minutes=5)), "a lost it to b"


async def test_a_later_job_of_a_thread_waits_for_the_earlier_one(jobs: JobRepository) -> None:
    first = await queued(jobs, thread="1.0")
    second = await queued(jobs, thread="1.0")
    elsewhere = await queued(jobs, thread="2.0")
    assert ids(await jobs.claim("a", now=NOW, lease=LEASE, limit=5)) == [first, elsewhere]
    assert await jobs.claim("b", now=NOW, lease=LEASE, limit=5) == []
    await jobs.finish(first, status="done", at=NOW)
    assert ids(await jobs.claim("b", now=NOW, lease=LEASE, limit=5)) == [second]


async def test_a_released_job_waits_for_its_retry_time(jobs: JobRepository) -> None:
    job = await queued(jobs)
    await jobs.claim("a", now=NOW, lease=LEASE, limit=1)
    await jobs.release_lease(job, "a", not_before=NOW + timedelta(seconds=10))
    assert await jobs.claim("a", now=NOW + timedelta(seconds=9), lease=LEASE, limit=1) == []
    assert ids(await jobs.claim("a", now=NOW + timedelta(seconds=10), lease=LEASE, limit=1)) == [job]


async def test_the_images_per_minute_budget_holds_jobs_back_in_order(jobs: JobRepository) -> None:
    two = await queued(jobs, thread="1.0", n=2)
    another_two = await queued(jobs, thread="2.0", n=2)
    one = await queued(jobs, thread="3.0", n=1)
    claim = {"lease": LEASE, "limit": 5, "images_per_minute": 3}
    assert ids(await jobs.claim("a", now=NOW, **claim)) == [two]  # type: ignore[arg-type]
    # The single image would fit, but it waits its turn behind the pair.
    assert await jobs.claim("a", now=NOW + timedelta(seconds=30), **claim) == []  # type: ignore[arg-type]
    await jobs.finish(two, status="done", at=NOW)
    later = NOW + timedelta(seconds=61)
    assert ids(await jobs.claim("a", now=later, **claim)) == [another_two, one]  # type: ignore[arg-type]


async def test_a_job_bigger_than_the_whole_budget_still_runs_alone(jobs: JobRepository) -> None:
    big = await queued(jobs, n=5)
    assert ids(await jobs.claim("a", now=NOW, lease=LEASE, limit=5, images_per_minute=3)) == [big]


async def test_the_waiting_jobs_come_oldest_first(jobs: JobRepository) -> None:
    first, second, third = [await queued(jobs, thread=f"{i}.0") for i in range(3)]
    assert ids(await jobs.waiting(now=NOW, limit=10)) == [first, second, third]
    await jobs.claim("a", now=NOW, lease=LEASE, limit=1)
    assert ids(await jobs.waiting(now=NOW, limit=10)) == [second, third], "a claimed job no longer waits"
    assert ids(await jobs.waiting(now=NOW, limit=1)) == [second]


async def test_a_waiting_job_not_shown_yet_is_taken_only_to_be_shown(jobs: JobRepository) -> None:
    running = await queued(jobs, thread="1.0")
    unshown = await queued(jobs, thread="1.0", shown=False)  # an edit of the same thread
    assert ids(await jobs.claim("a", now=NOW, lease=LEASE, limit=5)) == [running]
    assert await jobs.claim("a", now=NOW, lease=LEASE, limit=5) == [], "it waits for the earlier job"
    assert ids(await jobs.waiting(now=NOW, limit=10)) == [], "a job not shown has no place to show"
    assert ids(await jobs.claim_unannounced("a", now=NOW, lease=LEASE, limit=5)) == [unshown]
    assert await jobs.claim_unannounced("b", now=NOW, lease=LEASE, limit=5) == [], "one worker shows it"
    assert await jobs.mark_announced(unshown, thread_ts="1.0", status_ts="1.5", owner="b") is False
    assert await jobs.mark_announced(unshown, thread_ts="1.0", status_ts="1.5", owner="a") is True
    await jobs.release_lease(unshown, "a")
    assert await jobs.claim_unannounced("a", now=NOW, lease=LEASE, limit=5) == []
    row = await jobs.get(unshown)
    assert row is not None and (row.attempts, row.status_ts) == (0, "1.5"), "showing it was no attempt"
    assert ids(await jobs.waiting(now=NOW, limit=10)) == [unshown]


async def test_the_same_request_key_makes_one_job(jobs: JobRepository) -> None:
    assert await jobs.add(keyed("message:abc")) is not None
    assert await jobs.add(keyed("message:abc")) is None
    assert await jobs.add(keyed("message:xyz")) is not None


def keyed(key: str) -> RequestedJob:
    return RequestedJob(
        request_key=key,
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        prompt="x",
        size="1024x1024",
        quality="low",
        n=1,
        output_format="png",
        model="gpt-image-1-mini",
        status="received",
        created_at=NOW,
    )


@pytest.mark.slow  # worker processes, each importing the bot
def test_processes_sharing_one_queue_run_each_job_exactly_once(database_url: str) -> None:
    """Three processes drain 90 jobs at once; on SQLite they contend for the write lock
    (busy, not failing), on PostgreSQL they skip each other's locked rows."""

    async def fill() -> list[int]:
        jobs = JobRepository(Database(database_url))
        return [await queued(jobs, thread=f"{i}.0") for i in range(90)]

    expected = asyncio.run(fill())
    start_at = str(time.time() + 3)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.queue_worker", database_url, start_at],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(3)
    ]
    ran = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    every = sorted(job for worker in ran for job in worker)
    assert every == expected, "each job ran once: none lost, none twice"
    assert all(ran), "every process got work"


async def test_a_worker_that_lost_the_lease_cannot_store_or_finish(jobs: JobRepository) -> None:
    job = await queued(jobs)
    await jobs.claim("a", now=NOW, lease=LEASE, limit=1)
    await jobs.claim("b", now=NOW + 2 * LEASE, lease=LEASE, limit=1)  # a fell silent; b took over
    output = NewOutput(position=1, data=b"png", output_format="png")
    with pytest.raises(LeaseLost):
        await jobs.store_outputs(job, [output], at=NOW, owner="a")
    with pytest.raises(LeaseLost):
        await jobs.finish(job, status="done", at=NOW, owner="a")
    assert not await jobs.holds(job, "a") and await jobs.holds(job, "b")
    await jobs.store_outputs(job, [output], at=NOW, owner="b")
    assert [o.position for o in await jobs.outputs(job)] == [1]


async def test_a_job_still_running_here_is_not_claimed_again_here(jobs: JobRepository) -> None:
    job = await queued(jobs)
    await jobs.claim("a", now=NOW, lease=LEASE, limit=1)
    assert await jobs.claim("a", now=NOW + 2 * LEASE, lease=LEASE, limit=1, running=[job]) == []
