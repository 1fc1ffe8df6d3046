"""Every image in the threads Easel works in, numbered in order of appearance, and its lineage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from bot.domain.model import Attachment, JobRecord, ThreadImage
from bot.storage.job_records import job_record
from bot.storage.repository import Repository, mapped
from bot.storage.tables import ImageParent, ImageRow, JobRow

NUMBERING_ATTEMPTS = 8


def _image(row: ImageRow) -> ThreadImage:
    return mapped(ThreadImage, row)


class ThreadImages(Repository):
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
    ) -> list[ThreadImage]:
        """Number the files shared in a thread; a file already recorded keeps its number."""
        images = []
        for attachment in attachments:
            existing = await self.by_file_ids(channel_id, thread_ts, [attachment.file_id])
            if existing:
                images.extend(existing)
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
            images.extend(await self._insert_numbered(channel_id, thread_ts, [row]))
        return images

    async def reserve(
        self, channel_id: str, thread_ts: str, *, job_id: int, user_id: str, count: int, at: datetime
    ) -> list[ThreadImage]:
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

    async def _insert_numbered(self, channel_id: str, thread_ts: str, rows: list[ImageRow]) -> list[ThreadImage]:
        """Insert with the next free numbers; a concurrent insert makes the unique constraint
        fail, and the transaction is tried again with fresh numbers."""

        def work(session: Session) -> list[ThreadImage]:
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
            return [_image(row) for row in rows]

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

    async def parents_of(self, image_id: int) -> list[ThreadImage]:
        def work(session: Session) -> list[ThreadImage]:
            query = (
                select(ImageRow)
                .join(ImageParent, col(ImageParent.parent_id) == col(ImageRow.id))
                .where(ImageParent.image_id == image_id)
                .order_by(col(ImageParent.position))
            )
            return [_image(row) for row in session.exec(query)]

        return await self._run(work)

    async def latest(self, channel_id: str, thread_ts: str) -> ThreadImage | None:
        """The most recent image in the thread, whoever posted it."""
        newest = await self.in_thread(channel_id, thread_ts, limit=1)
        return newest[0] if newest else None

    async def by_number(self, channel_id: str, thread_ts: str, number: int) -> ThreadImage | None:
        def work(session: Session) -> ThreadImage | None:
            query = select(ImageRow).where(
                ImageRow.channel_id == channel_id,
                ImageRow.thread_ts == thread_ts,
                ImageRow.number == number,
                col(ImageRow.slack_file_id).is_not(None),
                col(ImageRow.usable).is_(True),
            )
            row = session.exec(query).first()
            return _image(row) if row is not None else None

        return await self._run(work)

    async def by_file_ids(self, channel_id: str, thread_ts: str, file_ids: Sequence[str]) -> list[ThreadImage]:
        """The thread's images with these file ids, in the order given."""

        def work(session: Session) -> list[ThreadImage]:
            query = select(ImageRow).where(
                ImageRow.channel_id == channel_id,
                ImageRow.thread_ts == thread_ts,
                col(ImageRow.slack_file_id).in_(file_ids),
            )
            found = {row.slack_file_id: _image(row) for row in session.exec(query)}
            return [found[file_id] for file_id in file_ids if file_id in found]

        return await self._run(work)

    async def in_thread(self, channel_id: str, thread_ts: str, *, limit: int) -> list[ThreadImage]:
        """The thread's usable images, newest first."""

        def work(session: Session) -> list[ThreadImage]:
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
            return [_image(row) for row in session.exec(query)]

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

    async def recent_of(self, user_id: str, *, limit: int) -> list[tuple[ThreadImage, str]]:
        """A user's latest images Easel made, newest first, with their prompts."""

        def work(session: Session) -> list[tuple[ThreadImage, str]]:
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
            return [(_image(row), prompt) for row, prompt in session.exec(query)]

        return await self._run(work)

    async def audit_records(
        self, channel_id: str | None, since: datetime
    ) -> list[tuple[ThreadImage, JobRecord | None, list[int]]]:
        """Every image recorded since `since` (in one channel, or all), oldest first, with its
        job and its parents' numbers: the rows behind a provenance export."""

        def work(session: Session) -> list[tuple[ThreadImage, JobRecord | None, list[int]]]:
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
                records.append((_image(row), job_record(job) if job is not None else None, list(parents)))
            return records

        return await self._run(work)

    async def by_slack_file(self, file_id: str, *, channel_id: str) -> ThreadImage | None:
        def work(session: Session) -> ThreadImage | None:
            query = select(ImageRow).where(ImageRow.slack_file_id == file_id, ImageRow.channel_id == channel_id)
            row = session.exec(query).first()
            return _image(row) if row is not None else None

        return await self._run(work)

    async def of_job(self, job_id: int) -> list[ThreadImage]:
        def work(session: Session) -> list[ThreadImage]:
            query = select(ImageRow).where(ImageRow.job_id == job_id).order_by(col(ImageRow.position))
            return [_image(row) for row in session.exec(query)]

        return await self._run(work)
