"""Deleting a request's images: the files leave Slack, their records stay, marked deleted,
so the provenance of what was made from them still reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import ImageJob
from bot.domain.pipeline import Pipeline
from bot.storage.job_records import JobRepository
from bot.storage.thread_images import ThreadImages


@dataclass(frozen=True, kw_only=True)
class Deletable:
    """A request whose images can be deleted, and what deleting them touches."""

    job: ImageJob
    model: str  # the model that made them, for the request's message
    files: tuple[str, ...]  # Slack file ids of the images still posted
    image_ids: tuple[int, ...]


class Deletions:
    def __init__(self, jobs: Pipeline, records: JobRepository, images: ThreadImages) -> None:
        self._jobs = jobs
        self._records = records
        self._images = images

    async def find(self, job_id: int, *, channel: str) -> Deletable | None:
        """None for a request not in `channel` (a payload can name any)."""
        row = await self._records.get(job_id)
        if row is None or row.id is None or row.channel_id != channel:
            return None
        posted = [i for i in await self._images.of_job(row.id) if i.slack_file_id and i.deleted_at is None]
        return Deletable(
            job=await self._jobs.load(row),
            model=row.model,
            files=tuple(i.slack_file_id for i in posted if i.slack_file_id),
            image_ids=tuple(i.id for i in posted if i.id is not None),
        )

    async def record(self, deletable: Deletable, *, by: str, at: datetime) -> None:
        """The files are gone from Slack: their records say by whom and when."""
        await self._images.mark_deleted(deletable.image_ids, by=by, at=at)
