"""Turning an accepted Slack request into a running job, shared by every surface."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.jobs import JobStatus, Place
from bot.domain.people import Requester
from bot.domain.requests import Prompt
from bot.domain.sources import EditSource
from bot.errors import NotInChannel
from bot.slack import blocks
from bot.slack.files import SlackFiles
from bot.slack.publisher import SlackThreadReporter, StatusMessage
from bot.wiring import Services

# What chat.postMessage says when the bot may not post in a conversation.
_CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


async def start_job(
    client: AsyncWebClient,
    services: Services,
    *,
    requester: Requester,
    prompt: Prompt,
    channel: str,
    thread_ts: str | None = None,
    edit: EditSource | None = None,
) -> None:
    """Post the status message (its thread holds the results), record the job, start it.

    The limits come first: a request over a limit raises before anything is posted. Posting
    doubles as the membership check: a conversation Easel cannot post in raises `NotInChannel`,
    and the reservation is given back, so nothing is generated or charged.
    """
    jobs = services.jobs
    inputs = 0 if edit is None else max(len(edit.file_ids), 1)
    reservation = await jobs.reserve(requester, prompt, channel=channel, input_images=inputs)
    try:
        posted = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            **blocks.request_message(
                requester, prompt, JobStatus.QUEUED, model=jobs.model_id, editing=edit is not None
            ),
        )
    except BaseException as exc:
        await jobs.release(reservation)
        if isinstance(exc, SlackApiError) and exc.response.get("error") in _CANNOT_POST:
            raise NotInChannel(channel) from exc
        raise
    status = StatusMessage(channel=channel, ts=posted["ts"], thread_ts=thread_ts or posted["ts"])
    job = await jobs.accept(
        requester=requester,
        prompt=prompt,
        place=Place(conversation=channel, thread=status.thread_ts),
        edit=edit,
        reservation=reservation,
    )
    files = SlackFiles.for_conversation(client, services.settings, channel=channel)
    reporter = SlackThreadReporter(client, status, model=jobs.model_id, admins=services.settings.admin_user_ids)
    jobs.start(job, reporter, files)
