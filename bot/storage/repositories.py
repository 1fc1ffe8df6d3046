"""Queries. SQLModel sessions are synchronous, so every method runs in a worker thread and
the event loop never waits on the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.tables import ImageRow, JobRow, ReceivedEvent

T = TypeVar("T")


class JobRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def _run(self, work: Callable[[Session], T]) -> T:
        def in_session() -> T:
            with Session(self._engine, expire_on_commit=False) as session:
                return work(session)

        return await asyncio.to_thread(in_session)

    async def add(self, job: JobRow) -> JobRow:
        def work(session: Session) -> JobRow:
            session.add(job)
            session.commit()
            session.refresh(job)
            return job

        return await self._run(work)

    async def get(self, job_id: int) -> JobRow | None:
        return await self._run(lambda session: session.get(JobRow, job_id))

    async def update(self, job_id: int, **fields: object) -> None:
        def work(session: Session) -> None:
            job = session.get(JobRow, job_id)
            if job is None:
                raise LookupError(f"job {job_id} does not exist")
            for name, value in fields.items():
                setattr(job, name, value)
            session.add(job)
            session.commit()

        await self._run(work)

    async def add_images(self, images: list[ImageRow]) -> None:
        def work(session: Session) -> None:
            session.add_all(images)
            session.commit()

        await self._run(work)

    async def images_of(self, job_id: int) -> list[ImageRow]:
        def work(session: Session) -> list[ImageRow]:
            query = select(ImageRow).where(ImageRow.job_id == job_id).order_by(col(ImageRow.position))
            return list(session.exec(query))

        return await self._run(work)

    async def finish(self, job_id: int, *, status: str, at: datetime, error: str | None = None) -> None:
        await self.update(job_id, status=status, finished_at=at, error=error)


class EventLog:
    """Remembers Slack event ids so that a retried delivery is handled once."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def first_delivery(self, event_id: str | None, *, at: datetime | None = None) -> bool:
        """True the first time `event_id` is seen (and for events without an id)."""
        if not event_id:
            return True

        def work() -> bool:
            with Session(self._engine) as session:
                session.add(ReceivedEvent(event_id=event_id, received_at=at or datetime.now(UTC)))
                try:
                    session.commit()
                except IntegrityError:
                    return False
                return True

        return await asyncio.to_thread(work)
