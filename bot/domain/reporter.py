"""`JobReporter`: what the domain asks of whoever shows a job's progress and results, so that
the pipeline and the delivery know nothing of Slack (the command line writes files instead)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.domain.model import FinishedImage, ImageJob, JobResult, JobStatus, PostedImage
from bot.errors import BotError

RecordUpload = Callable[[str], Awaitable[None]]


class JobReporter(Protocol):
    async def progress(self, job: ImageJob, status: JobStatus, *, ahead: int | None = None) -> None:
        """Show how far the job is; `ahead` counts the queued jobs before it."""
        ...

    async def preview(self, job: ImageJob, data: bytes) -> None:
        """Show a low-resolution preview while the image renders (replacing the last one)."""
        ...

    async def deliver(
        self, job: ImageJob, image: FinishedImage, result: JobResult, record_upload: RecordUpload
    ) -> PostedImage:
        """Show one image and return where it now lives. `record_upload` must be awaited with
        the file id before the image is shared, so a retry can find it (see `find_posted`)."""
        ...

    async def find_posted(self, job: ImageJob, file_id: str) -> PostedImage | None:
        """The image an earlier attempt uploaded as `file_id`, if it reached the thread."""
        ...

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        """Tell the requester; `error` is None for a bug, `reference` ties it to the log."""
        ...

    async def user_paused(self, job: ImageJob, strikes: int) -> None:
        """The requester has just been paused for the day; tell the admins."""
        ...
