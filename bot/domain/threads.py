"""What Easel knows of the threads it works in: the images in them, made or shared.

The Slack edge asks here whether a thread is Easel's, whether it has an image to edit, what
the Edit dialog may offer, and records the files people share, so that it never reaches the
repositories itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import Attachment, ThreadImage
from bot.storage.job_records import JobRepository
from bot.storage.thread_images import ThreadImages


@dataclass(frozen=True, kw_only=True)
class EditChoices:
    """What the Edit dialog offers for a finished request: its thread's latest images, with
    the ones the request made chosen, and the quality it asked for."""

    channel: str
    thread: str
    images: tuple[ThreadImage, ...]
    made: tuple[int, ...]  # numbers in the thread
    quality: str


class Threads:
    def __init__(self, images: ThreadImages, jobs: JobRepository) -> None:
        self._images = images
        self._jobs = jobs

    async def knows(self, channel: str, thread: str) -> bool:
        """A thread Easel started or has worked in: a reply there is for Easel."""
        return await self._images.knows_thread(channel, thread)

    async def has_image(self, channel: str, thread: str) -> bool:
        """Whether a reply in the thread has an image to edit."""
        return await self._images.latest(channel, thread) is not None

    async def remember_shared(
        self, channel: str, thread: str, attachments: Sequence[Attachment], *, now: datetime
    ) -> None:
        """Number the files people shared, so that a later reply (or `#N`) can edit them."""
        if attachments:
            await self._images.record_attachments(channel, thread, attachments, at=now)

    async def edit_choices(self, job_id: int, *, channel: str, most: int) -> EditChoices | None:
        """None for a request not in `channel` (a payload can name any) or with no thread."""
        job = await self._jobs.get(job_id)
        if job is None or job.id is None or job.channel_id != channel or job.thread_ts is None:
            return None
        images = await self._images.in_thread(job.channel_id, job.thread_ts, limit=most)
        made = sorted(image.number for image in await self._images.of_job(job.id))
        return EditChoices(
            channel=job.channel_id, thread=job.thread_ts, images=tuple(images), made=tuple(made), quality=job.quality
        )

    async def by_numbers(
        self, channel: str, thread: str, numbers: Sequence[int], *, among: int
    ) -> list[ThreadImage | None]:
        """Each numbered image of the thread's latest `among`, or None where it is gone."""
        present = {image.number: image for image in await self._images.in_thread(channel, thread, limit=among)}
        return [present.get(number) for number in numbers]

    async def recent_of(self, user_id: str, *, most: int) -> list[tuple[ThreadImage, str]]:
        """A person's latest images with their prompts, for their Home tab."""
        return await self._images.recent_of(user_id, limit=most)
