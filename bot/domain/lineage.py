"""The chain behind an image: every step back to the first, with who, what, which model,
when, from which parents, and the C2PA state of each step's file as posted."""

from __future__ import annotations

import mimetypes
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import ThreadImage
from bot.storage.job_records import JobRepository
from bot.storage.thread_images import ThreadImages

MAX_STEPS = 100  # walked back; a view shows the latest and links the rest


@dataclass(frozen=True, kw_only=True)
class LineageStep:
    number: int
    origin: str  # "generated" | "attached"
    user_id: str
    prompt: str | None  # None for an image a person shared
    model: str | None
    created_at: datetime
    parents: tuple[int, ...]  # numbers in the thread
    c2pa: str | None
    permalink: str | None
    file_id: str | None  # the file as posted, where a view can show it from
    mime_type: str | None
    deleted: bool  # the file was deleted; only its record remains


@dataclass(frozen=True, kw_only=True)
class Lineage:
    steps: tuple[LineageStep, ...]  # the image itself first, then its ancestors
    truncated: bool


class LineageBook:
    def __init__(self, images: ThreadImages, jobs: JobRepository) -> None:
        self._images = images
        self._jobs = jobs

    async def of_job(self, job_id: int, *, channel: str) -> list[Lineage]:
        """The lineage of each image a job posted in `channel` (never another channel's)."""
        rows = await self._images.of_job(job_id)
        return [await self.of_image(row) for row in rows if row.slack_file_id and row.channel_id == channel]

    async def of_file(self, file_id: str, *, channel: str) -> Lineage | None:
        """The lineage of a file Easel knows in `channel` (never another channel's)."""
        row = await self._images.by_slack_file(file_id, channel_id=channel)
        return await self.of_image(row) if row is not None else None

    async def of_image(self, image: ThreadImage) -> Lineage:
        """Breadth first from `image` back to the images nobody made from anything."""
        steps: list[LineageStep] = []
        seen: set[int] = set()
        queue = deque([image])
        while queue and len(steps) < MAX_STEPS:
            row = queue.popleft()
            if row.id in seen:
                continue
            seen.add(row.id)
            parents = await self._images.parents_of(row.id)
            job = await self._jobs.get(row.job_id) if row.job_id is not None else None
            steps.append(
                LineageStep(
                    number=row.number,
                    origin=row.origin,
                    user_id=row.user_id,
                    prompt=job.prompt if job else None,
                    model=job.model if job else None,
                    created_at=row.created_at,
                    parents=tuple(parent.number for parent in parents),
                    c2pa=row.c2pa,
                    permalink=row.permalink,
                    file_id=row.slack_file_id,
                    mime_type=row.mime_type or mimetypes.guess_type(row.name or "")[0],
                    deleted=row.deleted_at is not None,
                )
            )
            queue.extend(parents)
        return Lineage(steps=tuple(steps), truncated=bool(queue))
