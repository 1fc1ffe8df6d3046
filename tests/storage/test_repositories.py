"""Repositories on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.model import Attachment, RequestedJob, ThreadImage
from bot.storage.database import Database
from bot.storage.event_log import EventLog
from bot.storage.job_records import JobRepository, NewOutput
from bot.storage.repository import mapped
from bot.storage.tables import ImageRow
from bot.storage.thread_images import ThreadImages

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'easel.db'}")


def new_job() -> RequestedJob:
    return RequestedJob(
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        prompt="a lighthouse",
        size="1024x1024",
        quality="medium",
        n=1,
        output_format="png",
        model="gpt-image-1-mini",
        status="queued",
        created_at=NOW,
    )


async def test_a_job_is_stored_updated_and_finished(database: Database) -> None:
    jobs = JobRepository(database)
    job = await jobs.add(new_job())
    assert job.id is not None

    await jobs.update(job.id, status="generating", output_tokens=1056)
    await jobs.finish(job.id, status="failed", at=NOW, error="ModelBlocked")

    stored = await jobs.get(job.id)
    assert stored is not None
    assert (stored.status, stored.output_tokens, stored.error) == ("failed", 1056, "ModelBlocked")
    assert stored.finished_at is not None


async def test_updating_a_missing_job_is_an_error(database: Database) -> None:
    with pytest.raises(LookupError):
        await JobRepository(database).update(404, status="done")


async def test_thread_images_get_unique_numbers_under_concurrency(database: Database) -> None:
    threads, jobs = ThreadImages(database), JobRepository(database)
    job = await jobs.add(new_job())
    assert job.id is not None
    attached = [
        threads.record_attachments("C1", "1.0", [Attachment(file_id=f"F{i}", name=f"{i}.png", user_id="U2")], at=NOW)
        for i in range(6)
    ]
    reserved = [threads.reserve("C1", "1.0", job_id=job.id, user_id="U1", count=2, at=NOW) for _ in range(3)]
    results = await asyncio.gather(*attached, *reserved)
    numbers = sorted(row.number for rows in results for row in rows)
    assert numbers == list(range(1, 13))


async def test_latest_number_and_file_lookups(database: Database) -> None:
    threads, jobs = ThreadImages(database), JobRepository(database)
    job = await jobs.add(new_job())
    assert job.id is not None
    first, _ = await threads.record_attachments(
        "C1",
        "1.0",
        [Attachment(file_id="FA", name="a.png", user_id="U2"), Attachment(file_id="FB", name="b.png", user_id="U2")],
        at=NOW,
    )
    (pending,) = await threads.reserve("C1", "1.0", job_id=job.id, user_id="U1", count=1, at=NOW)
    latest = await threads.latest("C1", "1.0")
    assert latest is not None and latest.slack_file_id == "FB", "an image not yet posted is not the latest"

    assert pending.id is not None and first.id is not None
    await threads.complete(
        pending.id, slack_file_id="FC", permalink=None, sha256="0" * 64, byte_size=3, mime_type="image/png"
    )
    await threads.add_parents(pending.id, [first.id])
    latest = await threads.latest("C1", "1.0")
    assert latest is not None and (latest.number, latest.slack_file_id) == (3, "FC")
    assert [row.slack_file_id for row in await threads.parents_of(pending.id)] == ["FA"]
    found = await threads.by_number("C1", "1.0", 2)
    assert found is not None and found.slack_file_id == "FB"
    assert [row.slack_file_id for row in await threads.by_file_ids("C1", "1.0", ["FB", "FA"])] == ["FB", "FA"]
    assert await threads.by_file_ids("C2", "1.0", ["FA"]) == [], "a file is looked up in its own thread only"
    assert await threads.knows_thread("C1", "1.0") and not await threads.knows_thread("C1", "2.0")


async def test_recording_an_attachment_twice_keeps_its_number(database: Database) -> None:
    threads = ThreadImages(database)
    attachment = Attachment(file_id="FA", name="a.png", user_id="U2")
    (once,) = await threads.record_attachments("C1", "1.0", [attachment], at=NOW)
    (again,) = await threads.record_attachments("C1", "1.0", [attachment], at=NOW)
    assert once.number == again.number == 1


async def test_released_numbers_are_reused(database: Database) -> None:
    threads, jobs = ThreadImages(database), JobRepository(database)
    job = await jobs.add(new_job())
    assert job.id is not None
    rows = await threads.reserve("C1", "1.0", job_id=job.id, user_id="U1", count=2, at=NOW)
    await threads.release([row.id for row in rows if row.id is not None])
    (again,) = await threads.reserve("C1", "1.0", job_id=job.id, user_id="U1", count=1, at=NOW)
    assert again.number == 1


async def test_kept_outputs_are_returned_as_stored(database: Database) -> None:
    jobs = JobRepository(database)
    job = await jobs.add(new_job())
    assert job is not None
    images = [
        NewOutput(position=1, data=b"one", output_format="png"),
        NewOutput(position=2, data=b"two", output_format="png"),
    ]
    kept = await jobs.store_outputs(job.id, images, at=NOW, model="gpt-image-1-mini", output_tokens=272)
    assert kept == await jobs.outputs(job.id), "what the pipeline goes on with is what a later attempt reads"
    assert [(k.position, k.data, k.posted) for k in kept] == [(1, b"one", False), (2, b"two", False)]


def test_times_reach_the_domain_in_utc_even_when_the_database_hands_them_back_naive() -> None:
    """SQLite keeps no zone, and SQLModel before 0.0.45 (which pyproject allows) returns such
    times naive; PostgreSQL returns them in the session's zone."""
    for stored in (NOW.replace(tzinfo=None), NOW.astimezone(ZoneInfo("Europe/Paris"))):
        row = ImageRow(
            id=1, channel_id="C1", thread_ts="1.0", number=1, origin="attached", user_id="U", created_at=stored
        )
        image = mapped(ThreadImage, row)
        assert image.created_at == NOW and image.created_at.utcoffset() == timedelta(0)


async def test_an_event_id_is_delivered_once_even_when_racing(database: Database) -> None:
    events = EventLog(database)
    first = await asyncio.gather(*(events.first_delivery("Ev1") for _ in range(8)))
    assert sorted(first) == [False] * 7 + [True]
    assert await events.first_delivery("Ev2") is True
    assert await events.first_delivery(None) is True, "events without an id are never dropped"


async def test_jobs_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'easel.db'}"
    first = Database(url)
    job = await JobRepository(first).add(new_job())
    first.close()
    assert job.id is not None
    stored = await JobRepository(Database(url)).get(job.id)  # opening it again keeps its rows
    assert stored is not None and stored.prompt == "a lighthouse"


async def test_an_event_left_unhandled_is_taken_up_once(database: Database) -> None:
    events = EventLog(database)
    assert await events.first_delivery("Ev1", at=NOW, payload='{"event_id": "Ev1"}')
    assert await events.first_delivery("Ev2", at=NOW, payload='{"event_id": "Ev2"}')
    await events.handled("Ev2", at=NOW)
    assert not await events.first_delivery("Ev1", at=NOW, payload="{}"), "a retry is still turned away"
    later = NOW + timedelta(minutes=5)
    assert await events.take_unhandled(received_before=NOW, at=later) == [], "too recent: its process may be at it"
    taken = await asyncio.gather(*(events.take_unhandled(received_before=later, at=later) for _ in range(3)))
    assert sorted(taken) == [[], [], [("Ev1", '{"event_id": "Ev1"}')]]
