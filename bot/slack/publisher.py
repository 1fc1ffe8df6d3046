"""Shows a job in Slack: its status message, its images with their notes, its failure."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.jobs import ImageJob, JobResult, JobStatus, PostedImage
from bot.errors import BotError
from bot.slack import blocks, replies

logger = logging.getLogger(__name__)

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True, kw_only=True)
class StatusMessage:
    """The message whose status line follows the job (`ts`) and the thread it anchors."""

    channel: str
    ts: str
    thread_ts: str


class SlackThreadReporter:
    """`JobReporter` that edits the status message and posts results into the thread."""

    def __init__(
        self, client: AsyncWebClient, status: StatusMessage, *, model: str, admins: frozenset[str] = frozenset()
    ) -> None:
        self._client = client
        self._status = status
        self._model = model
        self._admins = admins

    async def progress(self, job: ImageJob, status: JobStatus) -> None:
        await self._show_status(job, status)

    async def deliver(self, job: ImageJob, result: JobResult) -> Sequence[PostedImage]:
        """Upload each image exactly as the model returned it, with its note underneath."""
        posted: list[PostedImage] = []
        for image in result.images:
            provenance = image.provenance
            note = blocks.provenance_note(provenance, allowance=result.allowance, cost_micros=result.cost_micros)
            upload: dict[str, Any] = {
                "channel": self._status.channel,
                "thread_ts": self._status.thread_ts,
                "file": image.data,
                "filename": f"easel-{job.id}-{provenance.position}.{EXTENSIONS.get(image.mime_type, 'bin')}",
                "title": blocks.file_title(provenance.prompt),
                "alt_txt": blocks.alt_text(provenance.prompt),
            }
            try:
                response = await self._client.files_upload_v2(**upload, blocks=json.dumps(note))
            except SlackApiError as exc:
                if exc.response.get("error") != "invalid_blocks":
                    raise
                # Should Slack refuse the note on the upload itself, the image still goes out
                # and the note follows it as the next message in the thread.
                logger.warning("job %s: note refused on the upload (invalid_blocks); posting it after", job.id)
                response = await self._client.files_upload_v2(**upload)
                await self._client.chat_postMessage(
                    channel=self._status.channel, thread_ts=self._status.thread_ts, text=provenance.prompt, blocks=note
                )
            uploaded = (response.get("files") or [{}])[0]
            posted.append(PostedImage(file_id=uploaded.get("id"), permalink=uploaded.get("permalink")))
        return posted

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        text = replies.for_error(error) if error is not None else replies.unexpected(reference)
        await self._client.chat_postMessage(
            channel=self._status.channel, thread_ts=self._status.thread_ts, **blocks.message(text)
        )
        await self._show_status(job, JobStatus.FAILED)

    async def user_paused(self, job: ImageJob, strikes: int) -> None:
        """A direct message to every admin named in ADMIN_USER_IDS."""
        text = blocks.strikes_alert(job.requester, strikes=strikes, channel=self._status.channel)
        for admin in sorted(self._admins):
            try:
                await self._client.chat_postMessage(channel=admin, **blocks.message(text))
            except SlackApiError as exc:
                logger.warning("could not tell admin %s about a paused user: %s", admin, exc.response.get("error"))

    async def _show_status(self, job: ImageJob, status: JobStatus) -> None:
        """Status is a courtesy: failing to show it must not fail the job."""
        try:
            await self._client.chat_update(
                channel=self._status.channel,
                ts=self._status.ts,
                **blocks.request_message(
                    job.requester,
                    job.prompt,
                    status,
                    model=self._model,
                    editing=job.edit is not None,
                    job_id=job.id,
                ),
            )
        except SlackApiError as exc:
            logger.warning("job %s: status %s not shown: %s", job.id, status, exc.response.get("error"))
