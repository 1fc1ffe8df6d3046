"""Image jobs: accept a request, make the images, hand them to whoever shows them, record it all.

Nothing here knows Slack. Whoever shows progress and results (a Slack thread, a file on disk)
implements `JobReporter`; whoever holds the input files implements `FileSource`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.credentials import read_credentials
from bot.domain.imaging import closest_size
from bot.domain.limits import Limits, Reservation
from bot.domain.people import Requester
from bot.domain.pricing import cost_micros, estimate_micros
from bot.domain.provenance import ParentImage, Provenance
from bot.domain.requests import Prompt
from bot.domain.sources import EditSource, EditSources, FileSource, Sources
from bot.errors import BotError, JobInterrupted, ModelBlocked, ModelRetired
from bot.providers.base import ImageCall, ImageProvider, ProviderResult, SourceImage
from bot.storage.repositories import JobRepository, ThreadImages
from bot.storage.tables import JobRow

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
    edit: EditSource | None = None
    reservation: Reservation | None = None  # what the limits set aside for this job


@dataclass(frozen=True, kw_only=True)
class FinishedImage:
    data: bytes
    mime_type: str
    provenance: Provenance


@dataclass(frozen=True, kw_only=True)
class JobResult:
    images: tuple[FinishedImage, ...]
    model: str
    allowance: str | None = None  # what the requester has left, e.g. "7 of 20 images left today"
    cost_micros: int | None = None  # what the request cost, from the provider's usage


@dataclass(frozen=True, kw_only=True)
class PostedImage:
    """Where a delivered image lives: its file id and a link people can open."""

    file_id: str | None
    permalink: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelChoice:
    """A model as the provider knows it (`call_name`: on Azure, the deployment), the model id
    shown to people, and the setting an admin changes when it goes away."""

    call_name: str
    model_id: str
    setting: str


class JobReporter(Protocol):
    async def progress(self, job: ImageJob, status: JobStatus) -> None: ...

    async def deliver(self, job: ImageJob, result: JobResult) -> Sequence[PostedImage]:
        """Show the images; return where each one now lives."""
        ...

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        """Tell the requester; `error` is None for a bug, `reference` ties it to the log."""
        ...

    async def user_paused(self, job: ImageJob, strikes: int) -> None:
        """The requester has just been paused for the day; tell the admins."""
        ...


class ImageJobs:
    """Runs jobs to their end, one at a time per thread, and tracks the ones in flight."""

    def __init__(
        self,
        *,
        provider: ImageProvider,
        repository: JobRepository,
        images: ThreadImages,
        limits: Limits,
        models: Sequence[ModelChoice],
        remote_provenance_check: bool = False,
        trust_anchors: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if not models:
            raise ValueError("at least one model is needed")
        self._provider = provider
        self._repository = repository
        self._images = images
        self._limits = limits
        self._models = list(models)
        self._remote_check = remote_provenance_check
        self._read_credentials = functools.partial(read_credentials, trust_anchors=trust_anchors)
        self._sources = EditSources(images, self._read_credentials)
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread_locks: dict[tuple[str, str], asyncio.Lock] = {}

    @property
    def model_id(self) -> str:
        return self._models[0].model_id

    async def accept(
        self,
        *,
        requester: Requester,
        prompt: Prompt,
        place: Place,
        edit: EditSource | None = None,
        reservation: Reservation | None = None,
    ) -> ImageJob:
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
        return ImageJob(
            id=row.id,
            requester=requester,
            prompt=prompt,
            place=place,
            requested_at=now,
            edit=edit,
            reservation=reservation,
        )

    async def reserve(self, requester: Requester, prompt: Prompt, *, channel: str, input_images: int) -> Reservation:
        """Set the request's images and estimated cost aside, or raise the limit it would cross."""
        options = prompt.options
        model = self.model_id
        estimate = estimate_micros(
            model,
            size=options.size,
            quality=options.quality,
            n=options.n,
            prompt_chars=len(prompt.text),
            input_images=input_images,
        )
        return await self._limits.reserve(
            requester, channel=channel, model=model, images=options.n, estimate_micros=estimate, now=self._clock()
        )

    async def release(self, reservation: Reservation) -> None:
        await self._limits.release(reservation, now=self._clock())

    def start(self, job: ImageJob, reporter: JobReporter, files: FileSource | None = None) -> asyncio.Task[None]:
        """Run `job` in the background; the caller (a Slack handler) has already acked."""
        task = asyncio.create_task(self.run(job, reporter, files), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, grace_seconds: float) -> None:
        """Wait up to `grace_seconds` for jobs in flight, then cancel the rest while Slack and
        the database are still there to release their reservations and tell their users."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def run(self, job: ImageJob, reporter: JobReporter, files: FileSource | None = None) -> None:
        """The whole pipeline. Every outcome ends in the database and in front of the user."""
        try:
            async with self._turn_in_thread(job.place):
                await self._set_status(job, JobStatus.GENERATING, reporter)
                sources = None
                if job.edit is not None and files is not None and job.place.thread is not None:
                    sources = await self._sources.resolve(
                        channel=job.place.conversation,
                        thread=job.place.thread,
                        edit=job.edit,
                        prompt=job.prompt,
                        files=files,
                    )
                result = await self._call_model(job, sources)
                allowance = await self._settle(job, result)
                await self._set_status(job, JobStatus.UPLOADING, reporter)
                await self._publish(job, result, sources, reporter, allowance=allowance)
            await self._repository.finish(job.id, status=JobStatus.DONE, at=self._clock())
            await reporter.progress(job, JobStatus.DONE)
        except ModelBlocked as error:
            logger.info("job %s: blocked by the model's safety system", job.id)
            await self._fail(job, reporter, error=error, reference=_reference())
            if await self._limits.strike(job.requester, job_id=job.id, now=self._clock()):
                await reporter.user_paused(job, self._limits.policy.strikes_per_day)
        except BotError as error:
            logger.info("job %s failed: %s", job.id, type(error).__name__)
            await self._fail(job, reporter, error=error, reference=_reference())
        except Exception:
            reference = _reference()
            logger.exception("job %s failed unexpectedly (reference %s)", job.id, reference)
            await self._fail(job, reporter, error=None, reference=reference)
        except asyncio.CancelledError:
            logger.warning("job %s cancelled (shutting down)", job.id)
            await self._fail(job, reporter, error=JobInterrupted(), reference=_reference())
            raise

    @asynccontextmanager
    async def _turn_in_thread(self, place: Place) -> AsyncIterator[None]:
        """One job at a time per thread: an edit waits for the one before it and then applies
        to its result, so colleagues never fork the picture by accident."""
        if place.thread is None:
            yield
            return
        key = (place.conversation, place.thread)
        lock = self._thread_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._thread_locks.get(key) is lock:
                del self._thread_locks[key]

    async def _call_model(self, job: ImageJob, sources: Sources | None) -> ProviderResult:
        """Try the primary model, then the fallback if the primary is reported retired."""
        options = job.prompt.options
        size = options.size
        if sources is not None and not options.size_given:
            size = closest_size(sources.images[0].size)
        last_error: ModelRetired | None = None
        for choice in list(self._models):
            call = ImageCall(
                model=choice.call_name,
                prompt=job.prompt.text,
                size=size,
                quality=options.quality,
                n=options.n,
                output_format=options.output_format,
                background="transparent" if options.transparent else None,
                safety_identifier=job.requester.safety_identifier,
                images=tuple(
                    SourceImage(name=image.name, data=image.data, mime_type=image.mime_type)
                    for image in (sources.images if sources else ())
                ),
                mask=sources.mask if sources else None,
            )
            try:
                result = await (self._provider.edit(call) if call.images else self._provider.generate(call))
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
                size=result.size,
                provider_request_id=result.request_id,
                input_text_tokens=usage.input_text_tokens if usage else 0,
                input_image_tokens=usage.input_image_tokens if usage else 0,
                output_tokens=usage.output_tokens if usage else 0,
            )
            return replace(result, model=choice.model_id)
        assert last_error is not None
        raise last_error

    async def _settle(self, job: ImageJob, result: ProviderResult) -> str | None:
        """Charge the exact cost as soon as the images exist (a later failure to post them
        does not make them free); return what the requester has left."""
        if job.reservation is None:
            return None
        now = self._clock()
        await self._limits.settle(
            job.reservation, model=result.model, usage=result.usage, images=len(result.images), job_id=job.id, now=now
        )
        report = await self._limits.usage(job.requester, now=now)
        return report.images_summary

    async def _publish(
        self,
        job: ImageJob,
        result: ProviderResult,
        sources: Sources | None,
        reporter: JobReporter,
        *,
        allowance: str | None,
    ) -> None:
        """Number the images in their thread, post them, then record where they went."""
        place = job.place
        rows = await self._images.reserve(
            place.conversation,
            place.thread or f"job-{job.id}",
            job_id=job.id,
            user_id=job.requester.user_id,
            count=len(result.images),
            at=self._clock(),
        )
        parents = sources.parents if sources else ()
        parent_credentials = sources.credentials if sources else ()
        output_credentials = [
            await asyncio.to_thread(self._read_credentials, image.data, image.mime_type) for image in result.images
        ]
        remote_checks = [
            await self._provider.check_provenance(image) if self._remote_check else None for image in result.images
        ]
        finished = tuple(
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
                    position=row.position,
                    of=len(result.images),
                    number=row.number if place.thread else None,
                    parents=tuple(
                        ParentImage(
                            number=parent.number,
                            user_id=parent.user_id,
                            origin=parent.origin,
                            ai_provenance=credentials.ai_generated and credentials.state != "invalid",
                            permalink=parent.permalink,
                        )
                        for parent, credentials in zip(parents, parent_credentials, strict=True)
                    ),
                    region=job.prompt.region.label if job.prompt.region else None,
                    credentials=credentials,
                    remote_check=remote.describe() if remote else None,
                ),
            )
            for image, row, credentials, remote in zip(
                result.images, rows, output_credentials, remote_checks, strict=True
            )
        )
        try:
            cost = cost_micros(result.model, result.usage) if result.usage else None
            outcome = JobResult(images=finished, model=result.model, allowance=allowance, cost_micros=cost)
            locations = await reporter.deliver(job, outcome)
        except BaseException:
            await self._images.release([row.id for row in rows if row.id is not None])
            raise
        for row, image, location in zip(rows, finished, locations, strict=True):
            assert row.id is not None
            await self._images.complete(
                row.id,
                slack_file_id=location.file_id,
                permalink=location.permalink,
                sha256=image.provenance.sha256,
                byte_size=len(image.data),
                mime_type=image.mime_type,
                c2pa=image.provenance.credentials.describe() if image.provenance.credentials else None,
            )
            await self._images.add_parents(row.id, [parent.id for parent in parents if parent.id is not None])

    async def _set_status(self, job: ImageJob, status: JobStatus, reporter: JobReporter) -> None:
        await self._repository.update(job.id, status=status)
        await reporter.progress(job, status)

    async def _fail(self, job: ImageJob, reporter: JobReporter, *, error: BotError | None, reference: str) -> None:
        """Record the failure, give back what was reserved (a settled charge stays), tell the user."""
        code = type(error).__name__ if error else f"bug:{reference}"
        if job.reservation is not None:
            try:
                await self._limits.release(job.reservation, now=self._clock())
            except Exception:
                logger.exception("job %s: could not release its reservation", job.id)
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
