"""Image jobs: accept a request, generate, hand the result to whoever shows it, record it all.

Nothing here knows Slack. Whoever shows progress and results (a Slack thread, a file on
disk) implements `JobReporter`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.people import Requester
from bot.domain.provenance import Provenance
from bot.domain.requests import Prompt
from bot.errors import BotError, ModelRetired
from bot.providers.base import GenerateCall, ImageProvider, ProviderResult
from bot.storage.repositories import JobRepository
from bot.storage.tables import ImageRow, JobRow

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    QUEUED = "queued"
    GENERATING = "generating"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where a job's results go: a conversation and, once there is one, its thread."""

    conversation: str
    thread: str | None = None


@dataclass(frozen=True, kw_only=True)
class ImageJob:
    id: int
    requester: Requester
    prompt: Prompt
    place: Place
    requested_at: datetime


@dataclass(frozen=True, kw_only=True)
class FinishedImage:
    data: bytes
    mime_type: str
    provenance: Provenance


@dataclass(frozen=True, kw_only=True)
class JobResult:
    images: tuple[FinishedImage, ...]
    model: str


@dataclass(frozen=True, kw_only=True)
class ModelChoice:
    """A model as the provider knows it (`call_name`: on Azure, the deployment), the model id
    shown to people, and the setting an admin changes when it goes away."""

    call_name: str
    model_id: str
    setting: str


class JobReporter(Protocol):
    async def progress(self, job: ImageJob, status: JobStatus) -> None: ...

    async def deliver(self, job: ImageJob, result: JobResult) -> Sequence[str | None]:
        """Show the images; return where each one now lives (e.g. a Slack file id)."""
        ...

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        """Tell the requester; `error` is None for a bug, `reference` ties it to the log."""
        ...


class ImageJobs:
    """Runs jobs to their end and keeps track of the ones in flight for a clean shutdown."""

    def __init__(
        self,
        *,
        provider: ImageProvider,
        repository: JobRepository,
        models: Sequence[ModelChoice],
        clock: Clock = utc_now,
    ) -> None:
        if not models:
            raise ValueError("at least one model is needed")
        self._provider = provider
        self._repository = repository
        self._models = list(models)
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def model_id(self) -> str:
        return self._models[0].model_id

    async def accept(self, *, requester: Requester, prompt: Prompt, place: Place) -> ImageJob:
        """Record the request as queued; the job exists from here on, whatever happens next."""
        now = self._clock()
        options = prompt.options
        row = await self._repository.add(
            JobRow(
                team_id=requester.team_id,
                user_id=requester.user_id,
                channel_id=place.conversation,
                thread_ts=place.thread,
                prompt=prompt.text,
                size=options.size,
                quality=options.quality,
                n=options.n,
                output_format=options.output_format,
                transparent=options.transparent,
                model=self._models[0].model_id,
                status=JobStatus.QUEUED,
                created_at=now,
            )
        )
        assert row.id is not None
        return ImageJob(id=row.id, requester=requester, prompt=prompt, place=place, requested_at=now)

    def start(self, job: ImageJob, reporter: JobReporter) -> asyncio.Task[None]:
        """Run `job` in the background; the caller (a Slack handler) has already acked."""
        task = asyncio.create_task(self.run(job, reporter), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, grace_seconds: float) -> None:
        """Wait up to `grace_seconds` for jobs in flight (on shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)

    async def run(self, job: ImageJob, reporter: JobReporter) -> None:
        """The whole pipeline. Every outcome ends in the database and in front of the user."""
        try:
            await self._set_status(job, JobStatus.GENERATING, reporter)
            result = await self._generate(job)
            await self._set_status(job, JobStatus.UPLOADING, reporter)
            finished = self._finish_images(job, result)
            locations = await reporter.deliver(job, JobResult(images=finished, model=result.model))
            await self._record_images(job, finished, locations)
            await self._repository.finish(job.id, status=JobStatus.DONE, at=self._clock())
            await reporter.progress(job, JobStatus.DONE)
        except BotError as error:
            logger.info("job %s failed: %s", job.id, type(error).__name__)
            await self._fail(job, reporter, error=error, reference=_reference())
        except Exception:
            reference = _reference()
            logger.exception("job %s failed unexpectedly (reference %s)", job.id, reference)
            await self._fail(job, reporter, error=None, reference=reference)

    async def _generate(self, job: ImageJob) -> ProviderResult:
        """Try the primary model, then the fallback if the primary is reported retired."""
        options = job.prompt.options
        last_error: ModelRetired | None = None
        for choice in list(self._models):
            call = GenerateCall(
                model=choice.call_name,
                prompt=job.prompt.text,
                size=options.size,
                quality=options.quality,
                n=options.n,
                output_format=options.output_format,
                background="transparent" if options.transparent else None,
                safety_identifier=job.requester.safety_identifier,
            )
            try:
                result = await self._provider.generate(call)
            except ModelRetired:
                logger.error(
                    "model %r is retired or missing at %s: set %s to a current image model",
                    choice.call_name,
                    self._provider.name,
                    choice.setting,
                )
                last_error = ModelRetired(choice.model_id, setting=choice.setting)
                if len(self._models) > 1:
                    self._models.remove(choice)  # stop asking for it until the next start
                continue
            usage = result.usage
            await self._repository.update(
                job.id,
                model=choice.model_id,
                provider_request_id=result.request_id,
                input_text_tokens=usage.input_text_tokens if usage else 0,
                input_image_tokens=usage.input_image_tokens if usage else 0,
                output_tokens=usage.output_tokens if usage else 0,
            )
            return replace(result, model=choice.model_id)
        assert last_error is not None
        raise last_error

    def _finish_images(self, job: ImageJob, result: ProviderResult) -> tuple[FinishedImage, ...]:
        count = len(result.images)
        return tuple(
            FinishedImage(
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
                    position=position,
                    of=count,
                ),
            )
            for position, image in enumerate(result.images, start=1)
        )

    async def _record_images(
        self, job: ImageJob, images: Sequence[FinishedImage], locations: Sequence[str | None]
    ) -> None:
        now = self._clock()
        await self._repository.add_images(
            [
                ImageRow(
                    job_id=job.id,
                    position=image.provenance.position,
                    slack_file_id=location,
                    sha256=image.provenance.sha256,
                    byte_size=len(image.data),
                    output_format=image.provenance.output_format,
                    created_at=now,
                )
                for image, location in zip(images, locations, strict=True)
            ]
        )

    async def _set_status(self, job: ImageJob, status: JobStatus, reporter: JobReporter) -> None:
        await self._repository.update(job.id, status=status)
        await reporter.progress(job, status)

    async def _fail(self, job: ImageJob, reporter: JobReporter, *, error: BotError | None, reference: str) -> None:
        code = type(error).__name__ if error else f"bug:{reference}"
        try:
            await self._repository.finish(job.id, status=JobStatus.FAILED, at=self._clock(), error=code)
        except Exception:
            logger.exception("job %s: could not record its failure", job.id)
        try:
            await reporter.failed(job, error, reference)
        except Exception:
            logger.exception("job %s: could not tell the user about its failure (reference %s)", job.id, reference)


def _reference() -> str:
    return uuid.uuid4().hex[:8]
