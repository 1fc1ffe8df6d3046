"""Turning an accepted Slack request into a queued job, shared by every surface."""

from __future__ import annotations

from bot import logs, metrics
from bot.domain.jobs import Place
from bot.domain.people import Requester
from bot.domain.requests import Prompt
from bot.domain.sources import EditSource
from bot.errors import BotError
from bot.wiring import Services


async def start_job(
    services: Services,
    *,
    requester: Requester,
    prompt: Prompt,
    channel: str,
    thread_ts: str | None = None,
    edit: EditSource | None = None,
    request_key: str | None = None,
) -> None:
    """Record the job, reserve its limits and queue it for the workers, without a call to
    Slack: the worker that takes the job up posts its message (`bot.domain.announcing`).

    The job is a database row before anything else happens, and `request_key` (Slack's id
    for the message) makes a redelivered request a no-op. A request over a limit raises
    before anything is queued.
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
    if await jobs.queue(job, place=job.place, reservation=reservation) is not None:
        metrics.served()
