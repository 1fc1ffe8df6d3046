"""Turning an accepted Slack request into a queued job, shared by every surface."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs, metrics
from bot.domain.jobs import JobStatus, Place
from bot.domain.people import Requester
from bot.domain.requests import Prompt
from bot.domain.sources import EditSource
from bot.errors import BotError, JobInterrupted, NotInChannel
from bot.slack import blocks
from bot.slack.publisher import CANNOT_POST
from bot.wiring import Services


async def start_job(
    client: AsyncWebClient,
    services: Services,
    *,
    requester: Requester,
    prompt: Prompt,
    channel: str,
    thread_ts: str | None = None,
    edit: EditSource | None = None,
    request_key: str | None = None,
) -> None:
    """Record the job, reserve its limits, post its status message (whose thread holds the
    results), and queue it for the workers.

    The job is a database row before anything else happens, and `request_key` (Slack's id
    for the message) makes a redelivered request a no-op. A request over a limit raises
    before anything is posted. Posting doubles as the membership check: a conversation
    Easel cannot post in raises `NotInChannel`, and the reservation is given back.
    """
    logs.bind(request_key=request_key)
    jobs = services.jobs
    job = await jobs.receive(
        requester=requester,
        prompt=prompt,
        place=Place(conversation=channel, thread=thread_ts),
        edit=edit,
        request_key=request_key,
    )
    if job is None:
        return  # Slack delivered this request before: it has its job already
    inputs = 0 if edit is None else max(len(edit.file_ids), 1)
    try:
        reservation = await jobs.reserve(job, input_images=inputs)
    except BotError as error:
        await jobs.refuse(job, error)
        raise
    try:
        posted = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            **blocks.request_message(
                requester, prompt, JobStatus.QUEUED, model=jobs.model_id, editing=edit is not None, job_id=job.id
            ),
        )
    except BaseException as exc:
        refusal = NotInChannel(channel)
        if isinstance(exc, SlackApiError) and exc.response.get("error") in CANNOT_POST:
            await jobs.refuse(job, refusal, reservation)
            raise refusal from exc
        await jobs.refuse(job, JobInterrupted(), reservation)
        raise
    place = Place(conversation=channel, thread=thread_ts or posted["ts"], status=posted["ts"])
    if await jobs.queue(job, place=place, reservation=reservation) is not None:
        metrics.served()
