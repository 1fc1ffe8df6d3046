"""Showing a request: the message its status and results hang from, posted by whoever runs it.

The ack makes no call to Slack: a request is a job row first, and the worker that takes it up
posts its message. Slack paces posts (about one a second per channel) and may be down, so the
post is tried again for as long as `post_seconds` allows after the request; only then is the
requester told in private and given back what was reserved. Nothing reaches the model before
the request is shown: a conversation Easel cannot post in costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from bot.domain.model import Clock, ImageJob, Place, utc_now
from bot.domain.pipeline import Pipeline
from bot.domain.reporter import JobReporter
from bot.errors import NotAnnounced, NotInChannel
from bot.storage.job_records import JobRepository, LeaseLost

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0


class Announcer:
    def __init__(
        self, pipeline: Pipeline, repository: JobRepository, *, post_seconds: float, clock: Clock = utc_now
    ) -> None:
        self._pipeline = pipeline
        self._repository = repository
        self._post_seconds = post_seconds
        self._clock = clock

    async def announce(
        self, job: ImageJob, post: Callable[[], Awaitable[Place]], reporter: JobReporter
    ) -> ImageJob | None:
        """The job with its message posted (by an earlier attempt, or now by `post`); None
        when it ended here, its requester told why."""
        if job.place.status is not None:
            return job
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                place = await post()
                break
            except NotInChannel as error:
                await self._pipeline.abandon(job, reporter, error)
                return None
            except Exception as exc:  # Slack is down, or rate-limits longer than a call waits
                if self._waited(job) + delay > self._post_seconds:
                    logger.error("job %s: its message could not be posted (%s); giving up", job.id, exc)
                    await self._pipeline.abandon(job, reporter, NotAnnounced(self._post_seconds / 60))
                    return None
                logger.warning("job %s: its message could not be posted (%s); again in %.0fs", job.id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        recorded = await self._repository.mark_announced(
            job.id, thread_ts=place.thread, status_ts=place.status or "", owner=job.owner
        )
        if not recorded:
            raise LeaseLost(job.id)
        return replace(job, place=place)

    def _waited(self, job: ImageJob) -> float:
        """Seconds since the request."""
        now: datetime = self._clock()
        return (now - job.requested_at).total_seconds()
