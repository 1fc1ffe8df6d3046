"""The one way a request becomes a job, for every Slack surface and for the command line:
record it, reserve what it may cost, then queue it for the workers or refuse it.

The intake makes no call to Slack: the worker that takes a job up shows it
(`bot.domain.announcing`) and runs it (`bot.domain.pipeline`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

from bot import logs, metrics
from bot.domain.limits import Limits
from bot.domain.model import Clock, ImageJob, JobRequest, JobStatus, RequestedJob, Reservation, utc_now
from bot.domain.pipeline import ModelsInUse
from bot.domain.pricing import estimate_micros
from bot.errors import BotError
from bot.storage.job_records import JobRepository

logger = logging.getLogger(__name__)
HELD_LEASE = timedelta(hours=1)  # a job run outside the workers keeps them away this long


class Intake:
    def __init__(
        self, *, repository: JobRepository, limits: Limits, models: ModelsInUse, clock: Clock = utc_now
    ) -> None:
        self._repository = repository
        self._limits = limits
        self._models = models
        self._clock = clock
        self.queued = asyncio.Event()  # set whenever a job is queued: wakes this process's worker

    async def submit(self, request: JobRequest, *, held_by: str | None = None) -> ImageJob | None:
        """Record the request, reserve its limits and queue it: from here on it ends in images
        or a message, whatever happens.

        The job is a database row before anything else happens, and the request key makes a
        redelivered request a no-op (None). A request over a limit raises, its job ended,
        before anything is queued. `held_by` keeps the job from the workers: its caller runs
        it (the command line), under a long lease.
        """
        logs.bind(request_key=request.request_key)
        job = await self._receive(request, held_by=held_by)
        if job is None:
            return None  # delivered before: it has its job already
        edit = request.edit
        try:
            reservation = await self._reserve(job, input_images=0 if edit is None else max(len(edit.file_ids), 1))
        except BotError as error:
            await self._refuse(job, error)
            raise
        job = replace(job, reservation=reservation)
        if held_by is not None:
            return job
        if not await self._repository.mark_queued(job.id, thread_ts=job.place.thread, status_ts=job.place.status):
            logger.warning("job %s was ended before it could be queued", job.id)
            return None
        self.queued.set()
        metrics.served()
        return job

    async def _receive(self, request: JobRequest, *, held_by: str | None) -> ImageJob | None:
        """The request recorded as a job; None when its key was seen before."""
        now = self._clock()
        prompt, place, edit, options = request.prompt, request.place, request.edit, request.prompt.options
        row = await self._repository.add(
            RequestedJob(
                request_key=request.request_key,
                team_id=request.requester.team_id,
                user_id=request.requester.user_id,
                channel_id=place.conversation,
                thread_ts=place.thread,
                prompt=prompt.text,
                size=options.size,
                quality=options.quality,
                n=options.n,
                output_format=options.output_format,
                frame_count=options.frame_count,
                frame_ms=options.frame_ms,
                transparent=options.transparent,
                size_given=options.size_given,
                region=prompt.region.label if prompt.region else None,
                version=prompt.version,
                edit=edit is not None,
                edit_file_ids=edit.file_ids if edit else (),
                model=self._models.primary.model_id,
                status=JobStatus.RECEIVED,
                lease_owner=held_by,
                lease_expires_at=now + HELD_LEASE if held_by else None,
                created_at=now,
            )
        )
        if row is None:
            return None
        return ImageJob(
            id=row.id,
            requester=request.requester,
            prompt=prompt,
            place=place,
            requested_at=now,
            edit=edit,
            owner=held_by,
            request_key=request.request_key,
        )

    async def _reserve(self, job: ImageJob, *, input_images: int) -> Reservation:
        """Set the request's images and estimated cost aside, or raise the limit it would cross.
        The job row names the reservation at once, so that whoever ends the job gives it back."""
        options = job.prompt.options
        model = self._models.primary.model_id
        estimate = estimate_micros(
            model,
            size=options.size,
            quality=options.quality,
            n=options.n,
            prompt_chars=len(job.prompt.text),
            input_images=input_images,
            output_format=options.output_format,
            frame_count=options.frame_count,
        )
        reservation = await self._limits.reserve(
            job.requester,
            channel=job.place.conversation,
            model=model,
            images=options.n,
            estimate_micros=estimate,
            now=self._clock(),
        )
        await self._repository.update(job.id, reservation_id=reservation.id)
        return reservation

    async def _refuse(self, job: ImageJob, error: BotError) -> None:
        """End a job that never started: nothing was reserved, nothing is left behind."""
        await self._repository.finish(job.id, status=JobStatus.FAILED, at=self._clock(), error=type(error).__name__)
        metrics.job_finished(JobStatus.FAILED, error=type(error).__name__)
