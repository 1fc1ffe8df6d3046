"""Queries. SQLModel sessions are synchronous, so every method runs in a worker thread and
the event loop never waits on the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, or_, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, delete, select

from bot import metrics
from bot.storage.database import Database
from bot.storage.tables import (
    BotSetting,
    ImageParent,
    ImageRow,
    JobOutput,
    JobRow,
    LedgerRow,
    LimitOverride,
    ReceivedEvent,
    Strike,
    UserPreference,
)

T = TypeVar("T")
NUMBERING_ATTEMPTS = 8


class _Repository:
    def __init__(self, database: Database) -> None:
        self._run = database.run


# A job is active until it is done or failed; "received" jobs have no status message yet.
ACTIVE_STATUSES = ("received", "queued", "generating", "uploading")
RUNNABLE_STATUSES = ("queued", "generating", "uploading")


class LeaseLost(Exception):
    """Another worker holds the job now: this one must stop without touching it."""


def _check_owner(job: JobRow, owner: str | None) -> None:
    if owner is not None and job.lease_owner != owner:
        raise LeaseLost(job.id)


@dataclass(frozen=True, kw_only=True)
class NewOutput:
    position: int
    data: bytes
    output_format: str


class JobRepository(_Repository):
    async def add(self, job: JobRow) -> JobRow | None:
        """Insert `job`; None when a job with its `request_key` exists (a redelivered request)."""

        def work(session: Session) -> JobRow | None:
            session.add(job)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
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

    async def finish(
        self, job_id: int, *, status: str, at: datetime, error: str | None = None, owner: str | None = None
    ) -> None:
        """End the job (only while `owner` holds it, when given); images it kept for posting
        are dropped (a failed job is refunded)."""

        def work(session: Session) -> None:
            job = session.get(JobRow, job_id)
            if job is None:
                raise LookupError(f"job {job_id} does not exist")
            _check_owner(job, owner)
            job.status, job.finished_at, job.error = status, at, error
            job.lease_owner = job.lease_expires_at = None
            session.add(job)
            session.execute(update(JobOutput).where(col(JobOutput.job_id) == job_id).values(data=None))
            session.commit()

        await self._run(work)

    async def mark_queued(self, job_id: int, *, thread_ts: str | None, status_ts: str | None) -> bool:
        """received → queued; False when the job is no longer waiting to be queued."""

        def work(session: Session) -> bool:
            result = session.execute(
                update(JobRow)
                .where(col(JobRow.id) == job_id, col(JobRow.status) == "received")
                .values(status="queued", thread_ts=thread_ts, status_ts=status_ts)
            )
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(work)

    async def claim(
        self,
        owner: str,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        images_per_minute: int | None = None,
        running: Sequence[int] = (),
    ) -> list[JobRow]:
        """Take up to `limit` runnable jobs under a lease, oldest first.

        A job waits while an earlier job of its thread is active (edits apply in order, on any
        replica), while a retry's `not_before` is ahead, and while the images-per-minute budget
        is spent. SQLite transactions begin IMMEDIATE, so claims never interleave; PostgreSQL
        skips rows another replica is claiming, and with a budget the claims of every replica
        take turns on an advisory lock so that they count the same minute.
        """

        def work(session: Session) -> list[JobRow]:
            postgres = session.get_bind().dialect.name == "postgresql"
            budget: int | None = None
            if images_per_minute is not None:
                if postgres:
                    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('easel:claim'))"))
                used = session.exec(
                    select(func.coalesce(func.sum(JobRow.n), 0)).where(
                        col(JobRow.slot_at) >= now - timedelta(minutes=1)
                    )
                ).one()
                budget = images_per_minute - int(used)
            earlier = aliased(JobRow)
            blocked = (
                select(earlier.id)
                .where(
                    earlier.channel_id == JobRow.channel_id,
                    earlier.thread_ts == JobRow.thread_ts,
                    col(earlier.id) < JobRow.id,
                    col(earlier.status).in_(ACTIVE_STATUSES),
                )
                .exists()
            )
            query = (
                select(JobRow)
                .where(
                    col(JobRow.status).in_(RUNNABLE_STATUSES),
                    or_(col(JobRow.lease_expires_at).is_(None), col(JobRow.lease_expires_at) < now),
                    or_(col(JobRow.not_before).is_(None), col(JobRow.not_before) <= now),
                    col(JobRow.id).not_in(running),  # still running here, though its lease ran out
                    ~blocked,
                )
                .order_by(col(JobRow.id))
                .limit(limit)
            )
            if postgres:
                query = query.with_for_update(skip_locked=True, of=JobRow)
            claimed: list[JobRow] = []
            taken_over = 0  # jobs whose worker's lease ran out
            slots_open = True
            for job in session.exec(query):
                if job.called_at is None and budget is not None:
                    # The first job may exceed an empty budget on its own, or it would wait forever.
                    fits = job.n <= budget or budget == images_per_minute
                    if not (slots_open and fits):
                        slots_open = False  # first come, first served: later jobs wait behind it
                        continue
                    budget -= job.n
                    job.slot_at = now
                taken_over += job.lease_owner is not None
                job.lease_owner, job.lease_expires_at, job.attempts = owner, now + lease, job.attempts + 1
                session.add(job)
                claimed.append(job)
            session.commit()
            metrics.lease_taken_over(taken_over)
            return claimed

        return await self._run(work)

    async def claim_unannounced(
        self, owner: str, *, now: datetime, lease: timedelta, limit: int, running: Sequence[int] = ()
    ) -> list[JobRow]:
        """Take up to `limit` queued jobs whose request message is not posted yet, oldest first,
        under a lease: those `claim` left waiting (for an earlier job of their thread, for the
        budget, for a free worker) are shown meanwhile. The attempt is not counted."""

        def work(session: Session) -> list[JobRow]:
            query = (
                select(JobRow)
                .where(
                    JobRow.status == "queued",
                    col(JobRow.status_ts).is_(None),
                    or_(col(JobRow.lease_expires_at).is_(None), col(JobRow.lease_expires_at) < now),
                    or_(col(JobRow.not_before).is_(None), col(JobRow.not_before) <= now),
                    col(JobRow.id).not_in(running),
                )
                .order_by(col(JobRow.id))
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=JobRow)
            claimed = list(session.exec(query))
            for job in claimed:
                job.lease_owner, job.lease_expires_at = owner, now + lease
                session.add(job)
            session.commit()
            return claimed

        return await self._run(work)

    async def mark_announced(self, job_id: int, *, thread_ts: str | None, status_ts: str, owner: str | None) -> bool:
        """The request's message is posted: record it (False when `owner` lost the job)."""

        def work(session: Session) -> bool:
            query = update(JobRow).where(col(JobRow.id) == job_id)
            if owner is not None:
                query = query.where(col(JobRow.lease_owner) == owner)
            result = session.execute(query.values(thread_ts=thread_ts, status_ts=status_ts))
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(work)

    async def is_finished(self, job_id: int) -> bool:
        job = await self.get(job_id)
        return job is None or job.status in ("done", "failed")

    async def holds(self, job_id: int, owner: str | None) -> bool:
        """True while `owner` (None: anyone) holds the job's lease."""
        if owner is None:
            return True
        job = await self.get(job_id)
        return job is not None and job.lease_owner == owner

    async def extend_lease(self, job_id: int, owner: str, *, until: datetime) -> bool:
        """False when the lease is no longer `owner`'s."""

        def work(session: Session) -> bool:
            result = session.execute(
                update(JobRow)
                .where(col(JobRow.id) == job_id, col(JobRow.lease_owner) == owner)
                .values(lease_expires_at=until)
            )
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(work)

    async def release_lease(
        self, job_id: int, owner: str, *, status: str | None = None, not_before: datetime | None = None
    ) -> None:
        """Give the job back to the queue, to be claimed again (after `not_before`)."""
        values: dict[str, object] = {"lease_owner": None, "lease_expires_at": None, "not_before": not_before}
        if status is not None:
            values["status"] = status

        def work(session: Session) -> None:
            session.execute(
                update(JobRow).where(col(JobRow.id) == job_id, col(JobRow.lease_owner) == owner).values(**values)
            )
            session.commit()

        await self._run(work)

    async def store_outputs(
        self, job_id: int, outputs: Sequence[NewOutput], *, at: datetime, owner: str | None = None, **fields: object
    ) -> None:
        """Keep the model's images, and what the call reported, in one transaction (only
        while `owner` holds the job, when given)."""

        def work(session: Session) -> None:
            job = session.get(JobRow, job_id)
            if job is None:
                raise LookupError(f"job {job_id} does not exist")
            _check_owner(job, owner)
            for name, value in fields.items():
                setattr(job, name, value)
            session.add(job)
            for output in outputs:
                session.add(
                    JobOutput(
                        job_id=job_id,
                        position=output.position,
                        data=output.data,
                        output_format=output.output_format,
                        created_at=at,
                    )
                )
            session.commit()

        await self._run(work)

    async def outputs(self, job_id: int) -> list[JobOutput]:
        def work(session: Session) -> list[JobOutput]:
            query = select(JobOutput).where(JobOutput.job_id == job_id).order_by(col(JobOutput.position))
            return list(session.exec(query))

        return await self._run(work)

    async def record_upload(self, output_id: int, slack_file_id: str) -> None:
        await self._set_output(output_id, slack_file_id=slack_file_id)

    async def mark_posted(self, output_id: int) -> None:
        await self._set_output(output_id, posted=True, data=None)

    async def _set_output(self, output_id: int, **values: object) -> None:
        def work(session: Session) -> None:
            session.execute(update(JobOutput).where(col(JobOutput.id) == output_id).values(**values))
            session.commit()

        await self._run(work)

    async def waiting(self, *, now: datetime, limit: int) -> list[JobRow]:
        """The oldest queued jobs no worker holds, oldest first: each has its index ahead of it.
        Only jobs whose request message is posted are counted: the others are being shown."""

        def work(session: Session) -> list[JobRow]:
            query = (
                select(JobRow)
                .where(
                    JobRow.status == "queued",
                    col(JobRow.status_ts).is_not(None),
                    or_(col(JobRow.lease_expires_at).is_(None), col(JobRow.lease_expires_at) < now),
                )
                .order_by(col(JobRow.id))
                .limit(limit)
            )
            return list(session.exec(query))

        return await self._run(work)

    async def is_waiting(self, job_id: int) -> bool:
        job = await self.get(job_id)
        return job is not None and job.status == "queued" and job.lease_owner is None

    async def abandoned(self, *, received_before: datetime) -> list[JobRow]:
        """Jobs recorded but never queued: the process stopped between the ack and the post."""

        def work(session: Session) -> list[JobRow]:
            query = select(JobRow).where(
                JobRow.status == "received",
                col(JobRow.created_at) < received_before,
                or_(col(JobRow.lease_expires_at).is_(None), col(JobRow.lease_expires_at) < received_before),
            )
            return list(session.exec(query))

        return await self._run(work)


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file a person shared in a thread, as its message event described it."""

    file_id: str
    name: str
    user_id: str
    permalink: str | None = None


class ThreadImages(_Repository):
    """Every image in the threads Easel works in, numbered in order of appearance."""

    async def knows_thread(self, channel_id: str, thread_ts: str) -> bool:
        """True for a thread Easel started or has worked in."""

        def work(session: Session) -> bool:
            job = session.exec(
                select(JobRow.id).where(JobRow.channel_id == channel_id, JobRow.thread_ts == thread_ts).limit(1)
            ).first()
            if job is not None:
                return True
            image = session.exec(
                select(ImageRow.id).where(ImageRow.channel_id == channel_id, ImageRow.thread_ts == thread_ts).limit(1)
            ).first()
            return image is not None

        return await self._run(work)

    async def record_attachments(
        self, channel_id: str, thread_ts: str, attachments: Sequence[Attachment], *, at: datetime
    ) -> list[ImageRow]:
        """Number the files shared in a thread; a file already recorded keeps its number."""
        rows = []
        for attachment in attachments:
            existing = await self.by_file_ids(channel_id, thread_ts, [attachment.file_id])
            if existing:
                rows.extend(existing)
                continue
            row = ImageRow(
                channel_id=channel_id,
                thread_ts=thread_ts,
                number=0,
                origin="attached",
                user_id=attachment.user_id,
                slack_file_id=attachment.file_id,
                permalink=attachment.permalink,
                name=attachment.name,
                created_at=at,
            )
            rows.extend(await self._insert_numbered(channel_id, thread_ts, [row]))
        return rows

    async def reserve(
        self, channel_id: str, thread_ts: str, *, job_id: int, user_id: str, count: int, at: datetime
    ) -> list[ImageRow]:
        """Numbers for a job's images before they are posted (their notes show them)."""
        rows = [
            ImageRow(
                channel_id=channel_id,
                thread_ts=thread_ts,
                number=0,
                origin="generated",
                user_id=user_id,
                job_id=job_id,
                position=position,
                created_at=at,
            )
            for position in range(1, count + 1)
        ]
        return await self._insert_numbered(channel_id, thread_ts, rows)

    async def _insert_numbered(self, channel_id: str, thread_ts: str, rows: list[ImageRow]) -> list[ImageRow]:
        """Insert with the next free numbers; a concurrent insert makes the unique constraint
        fail, and the transaction is tried again with fresh numbers."""

        def work(session: Session) -> list[ImageRow]:
            top = session.exec(
                select(func.max(ImageRow.number)).where(
                    ImageRow.channel_id == channel_id, ImageRow.thread_ts == thread_ts
                )
            ).one()
            for offset, row in enumerate(rows, start=1):
                row.number = (top or 0) + offset
                session.add(row)
            session.commit()
            for row in rows:
                session.refresh(row)
            return rows

        for _ in range(NUMBERING_ATTEMPTS):
            try:
                return await self._run(work)
            except IntegrityError:
                for row in rows:
                    row.id = None
        raise RuntimeError(f"could not number images in thread {channel_id}/{thread_ts}")

    async def complete(
        self,
        image_id: int,
        *,
        slack_file_id: str | None,
        permalink: str | None,
        sha256: str,
        byte_size: int,
        mime_type: str,
        c2pa: str | None = None,
    ) -> None:
        def work(session: Session) -> None:
            row = session.get(ImageRow, image_id)
            if row is None:
                raise LookupError(f"image {image_id} does not exist")
            row.slack_file_id, row.permalink = slack_file_id, permalink
            row.sha256, row.byte_size, row.mime_type, row.c2pa = sha256, byte_size, mime_type, c2pa
            session.add(row)
            session.commit()

        await self._run(work)

    async def note_credentials(self, image_id: int, c2pa: str) -> None:
        """The C2PA state of a shared file, as read when an edit first used it."""

        def work(session: Session) -> None:
            row = session.get(ImageRow, image_id)
            if row is not None and row.c2pa is None:
                row.c2pa = c2pa
                session.add(row)
                session.commit()

        await self._run(work)

    async def mark_unusable(self, image_id: int) -> None:
        """A file that cannot be read is kept on record but never picked as a source again."""

        def work(session: Session) -> None:
            row = session.get(ImageRow, image_id)
            if row is not None:
                row.usable = False
                session.add(row)
                session.commit()

        await self._run(work)

    async def release(self, image_ids: Sequence[int]) -> None:
        """Give back numbers reserved for images that were never posted."""

        def work(session: Session) -> None:
            session.exec(delete(ImageParent).where(col(ImageParent.image_id).in_(image_ids)))
            session.exec(delete(ImageRow).where(col(ImageRow.id).in_(image_ids)))
            session.commit()

        await self._run(work)

    async def add_parents(self, image_id: int, parent_ids: Sequence[int]) -> None:
        """Record the lineage (again, harmlessly, when a resumed job posts the image)."""

        def work(session: Session) -> None:
            session.exec(delete(ImageParent).where(col(ImageParent.image_id) == image_id))
            session.add_all(
                ImageParent(image_id=image_id, parent_id=parent_id, position=position)
                for position, parent_id in enumerate(parent_ids, start=1)
            )
            session.commit()

        await self._run(work)

    async def parents_of(self, image_id: int) -> list[ImageRow]:
        def work(session: Session) -> list[ImageRow]:
            query = (
                select(ImageRow)
                .join(ImageParent, col(ImageParent.parent_id) == col(ImageRow.id))
                .where(ImageParent.image_id == image_id)
                .order_by(col(ImageParent.position))
            )
            return list(session.exec(query))

        return await self._run(work)

    async def latest(self, channel_id: str, thread_ts: str) -> ImageRow | None:
        """The most recent image in the thread, whoever posted it."""
        newest = await self.in_thread(channel_id, thread_ts, limit=1)
        return newest[0] if newest else None

    async def by_number(self, channel_id: str, thread_ts: str, number: int) -> ImageRow | None:
        def work(session: Session) -> ImageRow | None:
            query = select(ImageRow).where(
                ImageRow.channel_id == channel_id,
                ImageRow.thread_ts == thread_ts,
                ImageRow.number == number,
                col(ImageRow.slack_file_id).is_not(None),
                col(ImageRow.usable).is_(True),
            )
            return session.exec(query).first()

        return await self._run(work)

    async def by_file_ids(self, channel_id: str, thread_ts: str, file_ids: Sequence[str]) -> list[ImageRow]:
        """The thread's images with these file ids, in the order given."""

        def work(session: Session) -> list[ImageRow]:
            query = select(ImageRow).where(
                ImageRow.channel_id == channel_id,
                ImageRow.thread_ts == thread_ts,
                col(ImageRow.slack_file_id).in_(file_ids),
            )
            found = {row.slack_file_id: row for row in session.exec(query)}
            return [found[file_id] for file_id in file_ids if file_id in found]

        return await self._run(work)

    async def in_thread(self, channel_id: str, thread_ts: str, *, limit: int) -> list[ImageRow]:
        """The thread's usable images, newest first."""

        def work(session: Session) -> list[ImageRow]:
            query = (
                select(ImageRow)
                .where(
                    ImageRow.channel_id == channel_id,
                    ImageRow.thread_ts == thread_ts,
                    col(ImageRow.slack_file_id).is_not(None),
                    col(ImageRow.usable).is_(True),
                )
                .order_by(col(ImageRow.number).desc())
                .limit(limit)
            )
            return list(session.exec(query))

        return await self._run(work)

    async def mark_deleted(self, image_ids: Sequence[int], *, by: str, at: datetime) -> None:
        """The files are gone from Slack; their records stay, marked, for provenance."""

        def work(session: Session) -> None:
            session.execute(
                update(ImageRow)
                .where(col(ImageRow.id).in_(image_ids))
                .values(deleted_at=at, deleted_by=by, usable=False)
            )
            session.commit()

        await self._run(work)

    async def recent_of(self, user_id: str, *, limit: int) -> list[tuple[ImageRow, str]]:
        """A user's latest images Easel made, newest first, with their prompts."""

        def work(session: Session) -> list[tuple[ImageRow, str]]:
            query = (
                select(ImageRow, JobRow.prompt)
                .join(JobRow, col(JobRow.id) == col(ImageRow.job_id))
                .where(
                    ImageRow.user_id == user_id,
                    ImageRow.origin == "generated",
                    col(ImageRow.slack_file_id).is_not(None),
                    col(ImageRow.deleted_at).is_(None),
                )
                .order_by(col(ImageRow.created_at).desc(), col(ImageRow.id).desc())
                .limit(limit)
            )
            return [(row, prompt) for row, prompt in session.exec(query)]

        return await self._run(work)

    async def audit_records(
        self, channel_id: str | None, since: datetime
    ) -> list[tuple[ImageRow, JobRow | None, list[int]]]:
        """Every image recorded since `since` (in one channel, or all), oldest first, with its
        job and its parents' numbers: the rows behind a provenance export."""

        def work(session: Session) -> list[tuple[ImageRow, JobRow | None, list[int]]]:
            query = (
                select(ImageRow)
                .where(col(ImageRow.created_at) >= since)
                .order_by(col(ImageRow.created_at), col(ImageRow.id))
            )
            if channel_id is not None:
                query = query.where(ImageRow.channel_id == channel_id)
            records = []
            for row in session.exec(query):
                job = session.get(JobRow, row.job_id) if row.job_id is not None else None
                parents = session.exec(
                    select(ImageRow.number)
                    .join(ImageParent, col(ImageParent.parent_id) == col(ImageRow.id))
                    .where(ImageParent.image_id == row.id)
                    .order_by(col(ImageParent.position))
                ).all()
                records.append((row, job, list(parents)))
            return records

        return await self._run(work)

    async def by_slack_file(self, file_id: str, *, channel_id: str) -> ImageRow | None:
        def work(session: Session) -> ImageRow | None:
            query = select(ImageRow).where(ImageRow.slack_file_id == file_id, ImageRow.channel_id == channel_id)
            return session.exec(query).first()

        return await self._run(work)

    async def of_job(self, job_id: int) -> list[ImageRow]:
        def work(session: Session) -> list[ImageRow]:
            query = select(ImageRow).where(ImageRow.job_id == job_id).order_by(col(ImageRow.position))
            return list(session.exec(query))

        return await self._run(work)


class EventLog(_Repository):
    """Remembers Slack event ids so that a retried delivery is handled once."""

    async def first_delivery(
        self, event_id: str | None, *, at: datetime | None = None, payload: str | None = None
    ) -> bool:
        """True the first time `event_id` is seen (and for events without an id). With a
        `payload`, the event waits in the log until `handled` is called for it."""
        if not event_id:
            return True

        def work(session: Session) -> bool:
            session.add(
                ReceivedEvent(
                    event_id=event_id,
                    received_at=at or datetime.now(UTC),
                    payload=payload,
                    handled_at=None if payload else at or datetime.now(UTC),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                return False
            return True

        return await self._run(work)

    async def handled(self, event_id: str | None, *, at: datetime) -> None:
        if not event_id:
            return

        def work(session: Session) -> None:
            session.execute(update(ReceivedEvent).where(col(ReceivedEvent.event_id) == event_id).values(handled_at=at))
            session.commit()

        await self._run(work)

    async def payload(self, event_id: str) -> str | None:
        """The request as Slack sent it (kept for a day: a job may need its `response_url`)."""
        row = await self._run(lambda session: session.get(ReceivedEvent, event_id))
        return row.payload if row is not None else None

    async def take_unhandled(
        self, *, received_before: datetime, at: datetime, limit: int = 20
    ) -> list[tuple[str, str]]:
        """(id, payload) of requests received before `received_before` and never handled
        (their process died first), each taken by one replica only."""

        def work(session: Session) -> list[tuple[str, str]]:
            waiting = session.exec(
                select(ReceivedEvent)
                .where(
                    col(ReceivedEvent.handled_at).is_(None),
                    col(ReceivedEvent.payload).is_not(None),
                    col(ReceivedEvent.received_at) < received_before,
                )
                .limit(limit)
            ).all()
            taken = []
            for event in waiting:
                result = session.execute(
                    update(ReceivedEvent)
                    .where(col(ReceivedEvent.event_id) == event.event_id, col(ReceivedEvent.handled_at).is_(None))
                    .values(handled_at=at)
                )
                if result.rowcount and event.payload:  # type: ignore[attr-defined]
                    taken.append((event.event_id, event.payload))
            session.commit()
            return taken

        return await self._run(work)

    async def forget(self, *, received_before: datetime) -> int:
        """Drop ids older than any retry Slack would still send (it gives up within hours)."""

        def work(session: Session) -> int:
            result = session.execute(delete(ReceivedEvent).where(col(ReceivedEvent.received_at) < received_before))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(work)


class Preferences(_Repository):
    """People's own defaults, and who has met Easel."""

    async def get(self, team_id: str, user_id: str) -> UserPreference | None:
        return await self._run(lambda session: session.get(UserPreference, (team_id, user_id)))

    async def first_greeting(self, team_id: str, user_id: str, *, at: datetime) -> bool:
        """True once per person: the first time Easel meets them."""

        def work(session: Session) -> bool:
            row = session.get(UserPreference, (team_id, user_id))
            if row is not None and row.greeted_at is not None:
                return False
            row = row or UserPreference(team_id=team_id, user_id=user_id, updated_at=at)
            row.greeted_at = at
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                return False  # greeted at the same moment by another replica
            return True

        return await self._run(work)

    async def set(self, team_id: str, user_id: str, *, at: datetime, **values: str | None) -> None:
        def work(session: Session) -> None:
            row = session.get(UserPreference, (team_id, user_id)) or UserPreference(
                team_id=team_id, user_id=user_id, updated_at=at
            )
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = at
            session.add(row)
            session.commit()

        try:
            await self._run(work)
        except IntegrityError:
            await self._run(work)  # another replica inserted the row first: now it updates it


@dataclass(frozen=True, kw_only=True)
class Windows:
    """The time windows limits count in, in UTC."""

    now: datetime
    day_start: datetime
    day_end: datetime
    month_start: datetime
    month_end: datetime
    minute_start: datetime


@dataclass(frozen=True, kw_only=True)
class Totals:
    """What a user and their workspace have used, read inside the reservation's transaction."""

    images_today: int
    micros_this_month: int
    in_flight: int
    requests_last_minute: int
    oldest_request_in_minute: datetime | None
    workspace_micros_today: int
    strikes_today: int
    override: LimitOverride | None
    bot_paused: bool


R = TypeVar("R")
PAUSED = "paused"


class Ledger(_Repository):
    """Reservations and charges, overrides, strikes and the pause switch."""

    async def reserve(
        self,
        team_id: str,
        user_id: str,
        *,
        channel: str,
        model: str,
        images: int,
        estimate_micros: int,
        windows: Windows,
        decide: Callable[[Totals], R | None],
    ) -> LedgerRow | R:
        """Read the totals and insert the reservation in one transaction that excludes every
        other reservation of the workspace: on SQLite every transaction begins IMMEDIATE
        (see `bot.storage.database`), on PostgreSQL an advisory lock on the workspace.
        `decide` returns a refusal, or None to go ahead."""

        def work(session: Session) -> LedgerRow | R:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"easel:{team_id}"})
            totals = self._totals(session, team_id, user_id, windows)
            refusal = decide(totals)
            if refusal is not None:
                session.rollback()
                return refusal
            row = LedgerRow(
                team_id=team_id,
                user_id=user_id,
                channel_id=channel,
                model=model,
                status="reserved",
                images=images,
                estimate_micros=estimate_micros,
                created_at=windows.now,
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

        return await self._run(work)

    async def totals(self, team_id: str, user_id: str, windows: Windows) -> Totals:
        return await self._run(lambda session: self._totals(session, team_id, user_id, windows))

    def _totals(self, session: Session, team_id: str, user_id: str, windows: Windows) -> Totals:
        mine = (LedgerRow.team_id == team_id, LedgerRow.user_id == user_id)
        charged = col(LedgerRow.status) != "released"
        cost = func.coalesce(LedgerRow.actual_micros, LedgerRow.estimate_micros)
        images_today = session.exec(
            select(func.coalesce(func.sum(LedgerRow.images), 0)).where(
                *mine, charged, col(LedgerRow.created_at) >= windows.day_start
            )
        ).one()
        month = session.exec(
            select(func.coalesce(func.sum(cost), 0)).where(
                *mine, charged, col(LedgerRow.created_at) >= windows.month_start
            )
        ).one()
        in_flight = session.exec(
            select(func.count()).select_from(LedgerRow).where(*mine, LedgerRow.status == "reserved")
        ).one()
        minute = session.exec(
            select(func.count(), func.min(LedgerRow.created_at)).where(
                *mine, col(LedgerRow.created_at) >= windows.minute_start
            )
        ).one()
        workspace = session.exec(
            select(func.coalesce(func.sum(cost), 0)).where(
                LedgerRow.team_id == team_id, charged, col(LedgerRow.created_at) >= windows.day_start
            )
        ).one()
        strikes = session.exec(
            select(func.count())
            .select_from(Strike)
            .where(Strike.team_id == team_id, Strike.user_id == user_id, col(Strike.created_at) >= windows.day_start)
        ).one()
        paused = session.get(BotSetting, (team_id, PAUSED))
        return Totals(
            images_today=int(images_today),
            micros_this_month=int(month),
            in_flight=int(in_flight),
            requests_last_minute=int(minute[0]),
            oldest_request_in_minute=minute[1],
            workspace_micros_today=int(workspace),
            strikes_today=int(strikes),
            override=session.get(LimitOverride, (team_id, user_id)),
            bot_paused=paused is not None and paused.value == "1",
        )

    async def settle(
        self,
        reservation_id: int,
        *,
        actual_micros: int,
        images: int,
        tokens: tuple[int, int, int],
        job_id: int,
        at: datetime,
    ) -> None:
        """Record the exact cost; `tokens` are (text input, image input, output)."""

        def work(session: Session) -> None:
            row = session.get(LedgerRow, reservation_id)
            if row is None or row.status != "reserved":
                return  # settled or released already: settling twice must not charge twice
            row.status, row.actual_micros, row.images, row.job_id, row.settled_at = (
                "settled",
                actual_micros,
                images,
                job_id,
                at,
            )
            row.input_text_tokens, row.input_image_tokens, row.output_tokens = tokens
            session.add(row)
            session.commit()
            metrics.spent(row.team_id, actual_micros)

        await self._run(work)

    async def get(self, reservation_id: int) -> LedgerRow | None:
        return await self._run(lambda session: session.get(LedgerRow, reservation_id))

    async def release(self, reservation_id: int, *, at: datetime, settled_too: bool = False) -> None:
        """Give the reservation back; `settled_too` refunds a charge for images never posted."""

        def work(session: Session) -> None:
            row = session.get(LedgerRow, reservation_id)
            if row is None or row.status == "released" or (row.status == "settled" and not settled_too):
                return
            refund = row.actual_micros or 0 if row.status == "settled" else 0
            row.status, row.actual_micros, row.settled_at = "released", 0, at
            session.add(row)
            session.commit()
            metrics.refunded(row.team_id, refund)

        await self._run(work)

    async def scale(self, reservation_id: int, *, fraction: tuple[int, int], at: datetime) -> None:
        """Keep `part` of `whole` of a settled charge: the images that were posted."""
        part, whole = fraction

        def work(session: Session) -> None:
            row = session.get(LedgerRow, reservation_id)
            if row is None or row.status != "settled" or not whole:
                return
            charged = row.actual_micros or 0
            row.actual_micros = round(charged * part / whole)
            row.images, row.settled_at = part, at
            session.add(row)
            session.commit()
            metrics.refunded(row.team_id, charged - row.actual_micros)

        await self._run(work)

    async def add_strike(self, team_id: str, user_id: str, *, job_id: int, at: datetime, since: datetime) -> int:
        """Record a strike; return the user's strikes since `since`, this one included."""

        def work(session: Session) -> int:
            session.add(Strike(team_id=team_id, user_id=user_id, job_id=job_id, created_at=at))
            session.commit()
            count = session.exec(
                select(func.count())
                .select_from(Strike)
                .where(Strike.team_id == team_id, Strike.user_id == user_id, col(Strike.created_at) >= since)
            ).one()
            return int(count)

        return await self._run(work)

    async def set_override(
        self,
        team_id: str,
        user_id: str,
        *,
        by: str,
        at: datetime,
        images_per_day: int | None = None,
        usd_micros_per_month: int | None = None,
        exempt: bool | None = None,
    ) -> LimitOverride:
        def work(session: Session) -> LimitOverride:
            row = session.get(LimitOverride, (team_id, user_id)) or LimitOverride(
                team_id=team_id, user_id=user_id, updated_by=by, updated_at=at
            )
            if images_per_day is not None:
                row.images_per_day = images_per_day
            if usd_micros_per_month is not None:
                row.usd_micros_per_month = usd_micros_per_month
            if exempt is not None:
                row.exempt = exempt
            row.updated_by, row.updated_at = by, at
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

        return await self._run(work)

    async def set_paused(self, team_id: str, paused: bool, *, by: str, at: datetime) -> None:
        def work(session: Session) -> None:
            row = session.get(BotSetting, (team_id, PAUSED)) or BotSetting(
                team_id=team_id, key=PAUSED, value="0", updated_by=by, updated_at=at
            )
            row.value, row.updated_by, row.updated_at = ("1" if paused else "0"), by, at
            session.add(row)
            session.commit()

        await self._run(work)

    async def workspace_users(self, team_id: str, since: datetime) -> list[tuple[str, int, int]]:
        """(user, images, micro-dollars) for every user charged since `since`, biggest spender first."""

        def work(session: Session) -> list[tuple[str, int, int]]:
            cost = func.coalesce(LedgerRow.actual_micros, LedgerRow.estimate_micros)
            query = (
                select(LedgerRow.user_id, func.sum(LedgerRow.images), func.sum(cost))
                .where(
                    LedgerRow.team_id == team_id,
                    col(LedgerRow.status) != "released",
                    col(LedgerRow.created_at) >= since,
                )
                .group_by(col(LedgerRow.user_id))
                .order_by(func.sum(cost).desc())
            )
            return [(user, int(images), int(micros)) for user, images, micros in session.exec(query)]

        return await self._run(work)
