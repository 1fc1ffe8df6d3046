"""Repositories on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.storage.database import make_engine
from bot.storage.repositories import EventLog, JobRepository
from bot.storage.tables import ImageRow, JobRow

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'easel.db'}")


def new_job() -> JobRow:
    return JobRow(
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


async def test_a_job_is_stored_updated_and_finished(engine: Engine) -> None:
    jobs = JobRepository(engine)
    job = await jobs.add(new_job())
    assert job.id is not None

    await jobs.update(job.id, status="generating", output_tokens=1056)
    await jobs.finish(job.id, status="failed", at=NOW, error="ModelBlocked")

    stored = await jobs.get(job.id)
    assert stored is not None
    assert (stored.status, stored.output_tokens, stored.error) == ("failed", 1056, "ModelBlocked")
    assert stored.finished_at is not None


async def test_updating_a_missing_job_is_an_error(engine: Engine) -> None:
    with pytest.raises(LookupError):
        await JobRepository(engine).update(404, status="done")


async def test_images_come_back_in_position_order(engine: Engine) -> None:
    jobs = JobRepository(engine)
    job = await jobs.add(new_job())
    assert job.id is not None
    rows = [
        ImageRow(job_id=job.id, position=p, sha256=f"{p}" * 64, byte_size=10, output_format="png", created_at=NOW)
        for p in (2, 1)
    ]
    await jobs.add_images(rows)
    assert [image.position for image in await jobs.images_of(job.id)] == [1, 2]


async def test_an_event_id_is_delivered_once_even_when_racing(engine: Engine) -> None:
    events = EventLog(engine)
    first = await asyncio.gather(*(events.first_delivery("Ev1") for _ in range(8)))
    assert sorted(first) == [False] * 7 + [True]
    assert await events.first_delivery("Ev2") is True
    assert await events.first_delivery(None) is True, "events without an id are never dropped"


async def test_jobs_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'easel.db'}"
    first = make_engine(url)
    job = await JobRepository(first).add(new_job())
    first.dispose()
    assert job.id is not None
    stored = await JobRepository(make_engine(url)).get(job.id)  # create_all must not wipe the file
    assert stored is not None and stored.prompt == "a lighthouse"
