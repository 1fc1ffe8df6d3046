"""The jobs table as a queue: jobs claimed under leases by the workers of every replica, and
the images each job keeps until they are posted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import func, or_, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot import metrics
from bot.domain.model import JobRecord, JobStatus, KeptOutput, RequestedJob
from bot.storage.repository import Repository, mapped
from bot.storage.tables import JobOutput, JobRow

# A job is active until it is done or failed; received jobs have no status message yet.
RUNNABLE_STATUSES = (JobStatus.QUEUED, JobStatus.GENERATING, JobStatus.UPLOADING)
ACTIVE_STATUSES = (JobStatus.RECEIVED, *RUNNABLE_STATUSES)
FINISHED_STATUSES = (JobStatus.DONE, JobStatus.FAILED)


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


def job_record(row: JobRow) -> JobRecord:
    files = tuple(row.edit_file_ids.split(",")) if row.edit_file_ids else ()
    return mapped(JobRecord, row, status=JobStatus(row.status), edit_file_ids=files)


def _output(row: JobOutput) -> KeptOutput:
    return mapped(KeptOutput, row)


class JobRepository(Repository):
    async def add(self, job: RequestedJob) -> JobRecord | None:
        """Record `job`; None when a job with its `request_key` exists (a redelivered request)."""

        def work(session: Session) -> JobRecord | None:
            asked = {field.name: getattr(job, field.name) for field in fields(RequestedJob)}
            row = JobRow(**(asked | {"edit_file_ids": ",".join(job.edit_file_ids) or None}))
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
            session.refresh(row)
            return job_record(row)

        return await self._run(work)

    async def get(self, job_id: int) -> JobRecord | None:
        def work(session: Session) -> JobRecord | None:
            row = session.get(JobRow, job_id)
            return job_record(row) if row is not None else None

        return await self._run(work)

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
        self, job_id: int, *, status: JobStatus, at: datetime, error: str | None = None, owner: str | None = None
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
                .where(col(JobRow.id) == job_id, col(JobRow.status) == JobStatus.RECEIVED)
                .values(status=JobStatus.QUEUED, thread_ts=thread_ts, status_ts=status_ts)
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
    ) -> list[JobRecord]:
        """Take up to `limit` runnable jobs under a lease, oldest first.

        A job waits while an earlier job of its thread is active (edits apply in order, on any
        replica), while a retry's `not_before` is ahead, and while the images-per-minute budget
        is spent. SQLite transactions begin IMMEDIATE, so claims never interleave; PostgreSQL
        skips rows another replica is claiming, and with a budget the claims of every replica
        take turns on an advisory lock so that they count the same minute.
        """

        def work(session: Session) -> list[JobRecord]:
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
            return [job_record(job) for job in claimed]

        return await self._run(work)

    async def claim_unannounced(
        self, owner: str, *, now: datetime, lease: timedelta, limit: int, running: Sequence[int] = ()
    ) -> list[JobRecord]:
        """Take up to `limit` queued jobs whose request message is not posted yet, oldest first,
        under a lease: those `claim` left waiting (for an earlier job of their thread, for the
        budget, for a free worker) are shown meanwhile. The attempt is not counted."""

        def work(session: Session) -> list[JobRecord]:
            query = (
                select(JobRow)
                .where(
                    JobRow.status == JobStatus.QUEUED,
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
            return [job_record(job) for job in claimed]

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
        return job is None or job.status in FINISHED_STATUSES

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
        self, job_id: int, owner: str, *, status: JobStatus | None = None, not_before: datetime | None = None
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
    ) -> list[KeptOutput]:
        """Keep the model's images, and what the call reported, in one transaction (only
        while `owner` holds the job, when given); return them as kept."""

        def work(session: Session) -> list[KeptOutput]:
            job = session.get(JobRow, job_id)
            if job is None:
                raise LookupError(f"job {job_id} does not exist")
            _check_owner(job, owner)
            for name, value in fields.items():
                setattr(job, name, value)
            session.add(job)
            rows = [
                JobOutput(
                    job_id=job_id,
                    position=output.position,
                    data=output.data,
                    output_format=output.output_format,
                    created_at=at,
                )
                for output in outputs
            ]
            session.add_all(rows)
            session.commit()
            for row in rows:
                session.refresh(row)
            return [_output(row) for row in rows]

        return await self._run(work)

    async def outputs(self, job_id: int) -> list[KeptOutput]:
        def work(session: Session) -> list[KeptOutput]:
            query = select(JobOutput).where(JobOutput.job_id == job_id).order_by(col(JobOutput.position))
            return [_output(row) for row in session.exec(query)]

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

    async def waiting(self, *, now: datetime, limit: int) -> list[JobRecord]:
        """The oldest queued jobs no worker holds, oldest first: each has its index ahead of it.
        Only jobs whose request message is posted are counted: the others are being shown."""

        def work(session: Session) -> list[JobRecord]:
            query = (
                select(JobRow)
                .where(
                    JobRow.status == JobStatus.QUEUED,
                    col(JobRow.status_ts).is_not(None),
                    or_(col(JobRow.lease_expires_at).is_(None), col(JobRow.lease_expires_at) < now),
                )
                .order_by(col(JobRow.id))
                .limit(limit)
            )
            return [job_record(row) for row in session.exec(query)]

        return await self._run(work)

    async def is_waiting(self, job_id: int) -> bool:
        job = await self.get(job_id)
        return job is not None and job.status == JobStatus.QUEUED and job.lease_owner is None

    async def abandoned(self, *, received_before: datetime) -> list[JobRecord]:
        """Jobs recorded but never queued: the process stopped between the ack and the post."""

        def work(session: Session) -> list[JobRecord]:
            query = select(JobRow).where(
                JobRow.status == JobStatus.RECEIVED,
                col(JobRow.created_at) < received_before,
                or_(col(JobRow.lease_expires_at).is_(None), col(JobRow.lease_expires_at) < received_before),
            )
            return [job_record(row) for row in session.exec(query)]

        return await self._run(work)
