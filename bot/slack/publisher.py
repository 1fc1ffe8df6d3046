"""Shows a job in Slack: its status message, its images with their notes, its failure."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.config import Settings
from bot.domain.deliveries import Deliveries
from bot.domain.model import FinishedImage, ImageJob, JobResult, JobStatus, Place, PostedImage
from bot.domain.reporter import RecordUpload
from bot.domain.sources import FileSource
from bot.errors import BotError, NotInChannel
from bot.providers.base import MIME_TYPES
from bot.slack import block_kit, replies
from bot.slack.files import SlackFiles
from bot.slack.pacing import PacedWebClient
from bot.slack.provenance_note import alt_text, file_title, note_text, provenance_note
from bot.slack.request_message import request_message
from bot.slack.status_lines import StatusLines

logger = logging.getLogger(__name__)

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif", "image/svg+xml": "svg"}
SHARE_LOOKS = 4  # files.info looks at an earlier upload before it counts as never shared
SHARE_WAIT_SECONDS = 1.0
UPLOAD_ATTEMPTS = 3  # a failed transfer to Slack's upload URL is tried again at once, twice
# What Slack says when Easel may no longer post in the conversation: trying again is useless.
CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# What Slack says when the message a thread hangs from was deleted (and had no replies).
THREAD_GONE = {"thread_not_found", "message_not_found"}


@dataclass(frozen=True, kw_only=True)
class StatusMessage:
    """The message whose status line follows the job (`ts`) and the thread it anchors."""

    channel: str
    ts: str | None  # None: the job was never shown (Easel stopped right after the ack)
    thread_ts: str | None


def _preview_type(job: ImageJob) -> str:
    return MIME_TYPES.get(job.prompt.options.output_format, "image/png")


class SlackSurface:
    """`JobSurface` for Slack: each job shows itself in its thread and reads files from it."""

    def __init__(self, client: PacedWebClient, settings: Settings, *, model: str, deliveries: Deliveries) -> None:
        self._client = client
        self._settings = settings
        self._model = model
        self._deliveries = deliveries
        self.status_lines = StatusLines(client)

    def reporter(self, job: ImageJob) -> SlackThreadReporter:
        place = job.place
        status = StatusMessage(channel=place.conversation, ts=place.status, thread_ts=place.thread)
        return SlackThreadReporter(
            self._client,
            status,
            model=self._model,
            admins=self._settings.admin_user_ids,
            lines=self.status_lines,
            tell_privately=self.tell_privately,
        )

    def files(self, job: ImageJob) -> FileSource:
        return SlackFiles.for_conversation(self._client, self._settings, channel=job.place.conversation)

    async def announce(self, job: ImageJob, status: JobStatus) -> Place:
        """Post the request's message, whose thread will hold the results: `@who asked: …`
        with its status line. Waits for the channel's turn (about one post a second)."""
        place = job.place
        message = request_message(job, status, model=self._model)
        try:
            posted = await self._client.chat_postMessage(channel=place.conversation, thread_ts=place.thread, **message)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in CANNOT_POST:
                raise NotInChannel(place.conversation) from exc
            if place.thread is None or error not in THREAD_GONE:
                raise
            logger.info("thread %s in %s is gone; the request goes to the channel", place.thread, place.conversation)
            place = Place(conversation=place.conversation)
            posted = await self._client.chat_postMessage(channel=place.conversation, **message)
        ts = str(posted["ts"])
        self.status_lines.posted(place.conversation, ts, status)
        return Place(conversation=place.conversation, thread=place.thread or ts, status=ts)

    async def tell_privately(self, job: ImageJob, text: str) -> None:
        """A word for the requester alone, when the request has no message to answer under:
        ephemeral through the command's `response_url` while Slack still takes it, else a DM."""
        payload = await self._deliveries.payload(job.request_key) if job.request_key else None
        response_url = json.loads(payload).get("response_url") if payload else None
        if response_url:
            webhook = AsyncWebhookClient(response_url, session=self._client.session)
            body = {"response_type": "ephemeral", "replace_original": False, **block_kit.message(text)}
            try:
                if (await webhook.send_dict(body)).status_code == 200:
                    return
            except (TimeoutError, aiohttp.ClientError):
                logger.warning("job %s: response_url did not answer; sending a direct message", job.id)
        await self._client.chat_postMessage(channel=job.requester.user_id, **block_kit.message(text))


class SlackThreadReporter:
    """`JobReporter` that edits the status message and posts results into the thread."""

    def __init__(
        self,
        client: PacedWebClient,
        status: StatusMessage,
        *,
        model: str,
        lines: StatusLines,
        tell_privately: Callable[[ImageJob, str], Awaitable[None]],
        admins: frozenset[str] = frozenset(),
    ) -> None:
        self._client = client
        self._status = status
        self._model = model
        self._lines = lines
        self._tell_privately = tell_privately
        self._admins = admins
        self._previews: list[str] = []  # file ids of the previews in the thread, to remove

    async def preview(self, job: ImageJob, data: bytes) -> None:
        """Post the low-resolution preview in the thread, in place of the one before."""
        response = await self._client.files_upload_v2(
            channel=self._status.channel,
            thread_ts=self._status.thread_ts,
            file=data,
            filename=f"easel-{job.id}-preview.{EXTENSIONS.get(_preview_type(job), 'png')}",
            title=f"Preview: {file_title(job.prompt.text)}",
            alt_txt="A low-resolution preview while the image renders",
        )
        await self._remove_previews()
        self._previews = [str(file["id"]) for file in response.get("files") or [] if file.get("id")]

    async def _remove_previews(self) -> None:
        for file_id in self._previews:
            try:
                await self._client.files_delete(file=file_id)
            except SlackApiError as exc:
                logger.info("preview %s not removed: %s", file_id, exc.response.get("error"))
        self._previews = []

    async def progress(self, job: ImageJob, status: JobStatus, *, ahead: int | None = None) -> None:
        """Returns at once: the status line has a task of its own (see `StatusLines`)."""
        self._show_status(job, status, ahead=ahead)

    async def deliver(
        self, job: ImageJob, image: FinishedImage, result: JobResult, record_upload: RecordUpload
    ) -> PostedImage:
        """Upload the image exactly as the model returned it, with its note underneath.

        The three steps of `files_upload_v2`, done here so that the file id is recorded
        before the file is shared: should Easel stop after sharing, the next attempt finds
        the file (`find_posted`) instead of posting it twice."""
        provenance = image.provenance
        note = provenance_note(provenance, allowance=result.allowance, cost_micros=result.cost_micros)
        filename = f"easel-{job.id}-{provenance.position}.{EXTENSIONS.get(image.mime_type, 'bin')}"
        ticket = await self._client.files_getUploadURLExternal(
            filename=filename,
            length=len(image.data),
            alt_txt=alt_text(provenance.prompt),
        )
        file_id: str = ticket["file_id"]
        await record_upload(file_id)
        await self._transfer(ticket["upload_url"], image.data)
        share = {"files": [{"id": file_id, "title": file_title(provenance.prompt)}]}
        try:
            response = await self._share(**share, blocks=json.dumps(note))
        except SlackApiError as exc:
            if exc.response.get("error") != "invalid_blocks":
                raise
            # Should Slack refuse the note on the upload itself, the image still goes out
            # and the note follows it as the next message in the thread, as plain mrkdwn text
            # (the same blocks would be refused again).
            logger.warning("job %s: note refused on the upload (invalid_blocks); posting it after", job.id)
            response = await self._share(**share)
            await self._post(text=note_text(note))
        uploaded = (response.get("files") or [{}])[0]
        await self._remove_previews()
        return PostedImage(file_id=file_id, permalink=uploaded.get("permalink"))

    async def find_posted(self, job: ImageJob, file_id: str) -> PostedImage | None:
        """The file, if an earlier attempt shared it in this conversation. Slack shares a
        completed upload asynchronously, so a file that exists without shares yet is looked at
        again for a few seconds; one never completed (or deleted since) is uploaded again."""
        for look in range(SHARE_LOOKS):
            try:
                info = await self._client.files_info(file=file_id)
            except SlackApiError as exc:
                if exc.response.get("error") == "file_not_found":
                    return None
                raise
            file: dict[str, Any] = info.get("file") or {}
            shares = file.get("shares") or {}
            if self._status.channel in {channel for kind in shares.values() for channel in kind}:
                logger.info("job %s: file %s was posted by an earlier attempt", job.id, file_id)
                return PostedImage(file_id=file_id, permalink=file.get("permalink"))
            if shares or look == SHARE_LOOKS - 1:
                return None
            await asyncio.sleep(SHARE_WAIT_SECONDS)
        return None

    async def _transfer(self, url: str, data: bytes) -> None:
        """Send the bytes to the upload URL Slack gave (it carries its own authorisation: no
        token goes with it)."""
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                async with self._client.session.post(url, data=data) as response:  # type: ignore[union-attr]
                    if response.status == 200:
                        return
                    problem = f"HTTP {response.status}"
            except aiohttp.ClientError as exc:
                problem = type(exc).__name__
            logger.warning("upload to Slack failed (%s), attempt %d of %d", problem, attempt, UPLOAD_ATTEMPTS)
            if attempt < UPLOAD_ATTEMPTS:
                await asyncio.sleep(attempt * 0.5)
        raise ConnectionError(f"Slack did not take the upload ({problem})")

    async def _share(self, **share: Any) -> dict[str, Any]:
        return await self._in_thread(
            self._client.files_completeUploadExternal, channel_id=self._status.channel, **share
        )

    async def _post(self, **message: Any) -> dict[str, Any]:
        return await self._in_thread(self._client.chat_postMessage, channel=self._status.channel, **message)

    async def _in_thread(self, send: Callable[..., Awaitable[AsyncSlackResponse]], **params: Any) -> dict[str, Any]:
        """Post into the job's thread. Errors that make trying again useless become the
        user's message; if the thread's first message was deleted, the result goes to the
        channel with a word why, rather than being lost."""
        try:
            response = await send(thread_ts=self._status.thread_ts, **params)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in CANNOT_POST:
                raise NotInChannel(self._status.channel) from exc
            if self._status.thread_ts is None or error not in THREAD_GONE:
                raise
            logger.info("thread %s in %s is gone; posting in the channel", self._status.thread_ts, self._status.channel)
            self._status = StatusMessage(channel=self._status.channel, ts=None, thread_ts=None)
            await self._post(**block_kit.message(replies.THREAD_START_DELETED))
            response = await send(thread_ts=None, **params)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        await self._remove_previews()
        text = replies.for_error(error) if error is not None else replies.unexpected(reference)
        if self._status.thread_ts is None:
            await self._tell_privately(job, text)  # no thread shows the request
            return
        try:
            await self._post(**block_kit.message(text))
        except NotInChannel:
            await self._tell_privately(job, text)
        self._show_status(job, JobStatus.FAILED)

    async def user_paused(self, job: ImageJob, strikes: int) -> None:
        """A direct message to every admin named in ADMIN_USER_IDS."""
        text = replies.strikes_alert(job.requester, strikes=strikes, channel=self._status.channel)
        for admin in sorted(self._admins):
            try:
                await self._client.chat_postMessage(channel=admin, **block_kit.message(text))
            except SlackApiError as exc:
                logger.warning("could not tell admin %s about a paused user: %s", admin, exc.response.get("error"))

    def _show_status(self, job: ImageJob, status: JobStatus, *, ahead: int | None = None) -> None:
        """Hand the state to the message's status line; a status is a courtesy, never a wait."""
        if self._status.ts is None:
            return
        message = request_message(job, status, model=self._model, ahead=ahead, elapsed=_since(job.requested_at))
        final = status in (JobStatus.DONE, JobStatus.FAILED)
        state = status if ahead is None else f"{status}:{ahead}"
        self._lines.show(self._status.channel, self._status.ts, state, message, final=final)


def _since(moment: datetime) -> float:
    """Seconds since `moment`."""
    return max((datetime.now(UTC) - moment).total_seconds(), 0.0)
