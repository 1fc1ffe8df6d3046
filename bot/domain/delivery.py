"""Handing made images to whoever shows them, and ending the job either way.

Once the images exist they are charged at their exact cost, numbered in their thread, given
their provenance and delivered one by one, each recorded as it lands so that a later attempt
posts only the rest. A delivery that fails is tried again later with a growing wait; a job
that fails gives back what it reserved, except for images that reached the thread.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from dataclasses import dataclass

from bot import logs, metrics
from bot.domain.credentials import CredentialReader
from bot.domain.limits import Limits
from bot.domain.model import (
    Clock,
    FinishedImage,
    ImageJob,
    ImagesLeft,
    JobResult,
    JobStatus,
    KeptOutput,
    ThreadImage,
    utc_now,
)
from bot.domain.pricing import cost_micros
from bot.domain.provenance import ParentImage, Provenance
from bot.domain.reporter import JobReporter
from bot.errors import BotError, NotDelivered
from bot.providers.base import GeneratedImage, ImageProvider, ProviderResult
from bot.storage.job_records import JobRepository, LeaseLost
from bot.storage.thread_images import ThreadImages

logger = logging.getLogger(__name__)
RETRY_MAX_SECONDS = 300.0  # the longest wait before a failed delivery is tried again


class DeliveryFailed(Exception):
    """The images exist but could not be shown yet; they are kept and tried again later."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(retry_in)
        self.retry_in = retry_in


@dataclass(frozen=True, kw_only=True)
class MadeImages:
    """A model call's images as kept in the database, and what they were made from."""

    result: ProviderResult
    outputs: tuple[KeptOutput, ...]
    parents: tuple[ParentImage, ...]
    parent_ids: tuple[int, ...]


def new_reference() -> str:
    """A short id that ties what a person is told to the log lines of their failure."""
    return uuid.uuid4().hex[:8]


class Delivery:
    def __init__(
        self,
        *,
        provider: ImageProvider,
        repository: JobRepository,
        images: ThreadImages,
        limits: Limits,
        credentials: CredentialReader,
        remote_provenance_check: bool = False,
        max_attempts: int = 5,
        retry_seconds: float = 5.0,
        clock: Clock = utc_now,
    ) -> None:
        self._provider = provider
        self._repository = repository
        self._images = images
        self._limits = limits
        self._credentials = credentials
        self._remote_check = remote_provenance_check
        self.max_attempts = max_attempts
        self._retry_seconds = retry_seconds  # a failed delivery waits this, then twice as long…
        self._clock = clock

    async def deliver(self, job: ImageJob, made: MadeImages, reporter: JobReporter) -> None:
        """Charge the images, show those not shown yet, and end the job as done. Raises
        `DeliveryFailed` when it should be tried again later."""
        allowance = await self._settle(job, made)
        await self._repository.update(job.id, status=JobStatus.UPLOADING)
        await reporter.progress(job, JobStatus.UPLOADING)
        await self._publish(job, made, reporter, allowance=allowance)
        await self._repository.finish(job.id, status=JobStatus.DONE, at=self._clock(), owner=job.owner)
        metrics.job_finished(JobStatus.DONE)
        logger.info("job %s done", job.id, extra={"duration": (self._clock() - job.requested_at).total_seconds()})
        await reporter.progress(job, JobStatus.DONE)

    async def fail(
        self, job: ImageJob, reporter: JobReporter, error: BotError | None, *, reference: str | None = None
    ) -> None:
        """Record the failure, tell the user, and give back what was reserved; a charge stays
        only for images that reached the thread. `error` is None for a bug."""
        reference = reference or new_reference()
        code = type(error).__name__ if error else f"bug:{reference}"
        logs.bind(reference=reference)
        try:
            if not await self._repository.holds(job.id, job.owner):
                logger.warning("job %s: another worker took it over; leaving its failure to that one", job.id)
                return
        except Exception:
            logger.exception("job %s: could not check who holds it", job.id)
        try:
            outputs = await self._repository.outputs(job.id)
            posted = sum(1 for output in outputs if output.posted)
            if job.reservation is not None and posted < len(outputs):
                await self._limits.charge_posted(job.reservation, posted=posted, of=len(outputs), now=self._clock())
            elif job.reservation is not None and not outputs:
                await self._limits.release(job.reservation, now=self._clock())
            unposted = [row.id for row in await self._images.of_job(job.id) if row.slack_file_id is None]
            await self._images.release(unposted)
        except Exception:
            logger.exception("job %s: could not release what it reserved", job.id)
        try:
            await self._repository.finish(
                job.id, status=JobStatus.FAILED, at=self._clock(), error=code, owner=job.owner
            )
            metrics.job_finished(JobStatus.FAILED, error=code)
        except Exception:
            logger.exception("job %s: could not record its failure", job.id)
        try:
            await reporter.failed(job, error, reference)
        except Exception:
            logger.exception("job %s: could not tell the user about its failure (reference %s)", job.id, reference)

    async def _settle(self, job: ImageJob, made: MadeImages) -> ImagesLeft | None:
        """Charge the exact cost as soon as the images exist (settling twice charges once);
        return what the requester has left."""
        if job.reservation is None:
            return None
        now = self._clock()
        result = made.result
        await self._limits.settle(
            job.reservation, model=result.model, usage=result.usage, images=len(result.images), job_id=job.id, now=now
        )
        report = await self._limits.usage(job.requester, now=now)
        return report.images_left

    async def _publish(
        self, job: ImageJob, made: MadeImages, reporter: JobReporter, *, allowance: ImagesLeft | None
    ) -> None:
        """Number the images in their thread (once), post those not posted yet, record where."""
        place = job.place
        result = made.result
        rows = await self._images.of_job(job.id)
        if len(rows) != len(made.outputs):
            rows = await self._images.reserve(
                place.conversation,
                place.thread or f"job-{job.id}",
                job_id=job.id,
                user_id=job.requester.user_id,
                count=len(made.outputs),
                at=self._clock(),
            )
        cost = cost_micros(result.model, result.usage) if result.usage else None
        summary = JobResult(model=result.model, allowance=allowance, cost_micros=cost)
        for output, row, image in zip(made.outputs, rows, result.images, strict=True):
            if output.posted:
                continue
            if not await self._repository.holds(job.id, job.owner):
                raise LeaseLost(job.id)
            finished = await self._finish_image(job, made, image, row)
            try:
                location = await reporter.find_posted(job, output.slack_file_id) if output.slack_file_id else None
                if location is None:
                    record = functools.partial(self._repository.record_upload, output.id)
                    location = await metrics.timed(
                        metrics.UPLOAD_SECONDS, reporter.deliver(job, finished, summary, record)
                    )
            except BotError:
                raise
            except Exception as exc:
                if job.attempt >= self.max_attempts:
                    posted = sum(1 for o in await self._repository.outputs(job.id) if o.posted)
                    raise NotDelivered(job.attempt, posted=posted, of=len(made.outputs)) from exc
                delay = min(self._retry_seconds * 2 ** (job.attempt - 1), RETRY_MAX_SECONDS)
                logger.warning("job %s: delivery failed (%s); trying again in %.0fs", job.id, exc, delay)
                metrics.retried("delivery")
                raise DeliveryFailed(delay) from exc
            await self._images.complete(
                row.id,
                slack_file_id=location.file_id,
                permalink=location.permalink,
                sha256=finished.provenance.sha256,
                byte_size=len(finished.data),
                mime_type=finished.mime_type,
                c2pa=finished.provenance.credentials.describe() if finished.provenance.credentials else None,
            )
            await self._images.add_parents(row.id, made.parent_ids)
            await self._repository.mark_posted(output.id)

    async def _finish_image(
        self, job: ImageJob, made: MadeImages, image: GeneratedImage, row: ThreadImage
    ) -> FinishedImage:
        """The image with its provenance: who, what, which model, which parents, its C2PA."""
        result = made.result
        credentials = await self._credentials.read(image.data, image.mime_type)
        remote = await self._provider.check_provenance(image) if self._remote_check else None
        return FinishedImage(
            data=image.data,
            mime_type=image.mime_type,
            provenance=Provenance(
                requester=job.requester,
                model=result.model,
                prompt=job.prompt.text,
                size=result.size,
                quality=result.quality,
                output_format=image.output_format,
                requested_at=job.requested_at,
                sha256=hashlib.sha256(image.data).hexdigest(),
                position=row.position,
                of=len(result.images),
                number=row.number if job.place.thread else None,
                parents=made.parents,
                region=job.prompt.region.label if job.prompt.region else None,
                credentials=credentials,
                remote_check=remote.describe() if remote else None,
            ),
        )
