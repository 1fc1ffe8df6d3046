"""Image jobs: accept a request, make the images, hand them to whoever shows them, record it all.

Nothing here knows Slack. Whoever shows progress and results (a Slack thread, a file on disk)
implements `JobReporter`; whoever holds the input files implements `FileSource`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol, cast

from bot import logs, metrics
from bot.config import Quality
from bot.domain.credentials import CredentialReader
from bot.domain.image_work import ImageWork
from bot.domain.imaging import closest_size
from bot.domain.limits import Limits, Reservation
from bot.domain.people import Requester
from bot.domain.pricing import cost_micros, estimate_micros
from bot.domain.provenance import ParentImage, Provenance
from bot.domain.regions import parse_region
from bot.domain.requests import ImageOptions, Prompt
from bot.domain.sources import EditSource, EditSources, FileSource, Sources
from bot.errors import BotError, JobInterrupted, ModelBlocked, ModelRetired, NotDelivered
from bot.providers.base import (
    GeneratedImage,
    ImageCall,
    ImageProvider,
    OutputFormat,
    PreviewSink,
    ProviderResult,
    SourceImage,
    Usage,
)
from bot.storage.repositories import JobRepository, LeaseLost, NewOutput, ThreadImages
from bot.storage.tables import ImageRow, JobOutput, JobRow

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
HELD_LEASE = timedelta(hours=1)  # a job run outside the workers keeps them away this long
RETRY_MAX_SECONDS = 300.0  # the longest wait before a failed delivery is tried again


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    RECEIVED = "received"  # recorded at the ack; no status message yet
    QUEUED = "queued"
    GENERATING = "generating"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where a job's results go: a conversation and, once there is one, its thread; `status`
    is the reporter's reference to the message that shows how far the job is."""

    conversation: str
    thread: str | None = None
    status: str | None = None


@dataclass(frozen=True, kw_only=True)
class ImageJob:
    id: int
    requester: Requester
    prompt: Prompt
    place: Place
    requested_at: datetime
    edit: EditSource | None = None
    reservation: Reservation | None = None  # what the limits set aside for this job
    attempt: int = 1  # how many times a worker has taken the job up
    called: bool = False  # the Images API may have received the request
    owner: str | None = None  # the lease holder running it: its writes stop if another takes over
    request_key: str | None = None  # the id of the request as Slack delivered it


@dataclass(frozen=True, kw_only=True)
class FinishedImage:
    data: bytes
    mime_type: str
    provenance: Provenance


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """What every image of a request shares in its note."""

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


RecordUpload = Callable[[str], Awaitable[None]]


class JobReporter(Protocol):
    async def progress(self, job: ImageJob, status: JobStatus, *, ahead: int | None = None) -> None:
        """Show how far the job is; `ahead` counts the queued jobs before it."""
        ...

    async def preview(self, job: ImageJob, data: bytes) -> None:
        """Show a low-resolution preview while the image renders (replacing the last one)."""
        ...

    async def deliver(
        self, job: ImageJob, image: FinishedImage, result: JobResult, record_upload: RecordUpload
    ) -> PostedImage:
        """Show one image and return where it now lives. `record_upload` must be awaited with
        the file id before the image is shared, so a retry can find it (see `find_posted`)."""
        ...

    async def find_posted(self, job: ImageJob, file_id: str) -> PostedImage | None:
        """The image an earlier attempt uploaded as `file_id`, if it reached the thread."""
        ...

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        """Tell the requester; `error` is None for a bug, `reference` ties it to the log."""
        ...

    async def user_paused(self, job: ImageJob, strikes: int) -> None:
        """The requester has just been paused for the day; tell the admins."""
        ...


class DeliveryFailed(Exception):
    """The images exist but could not be shown yet; they are kept and tried again later."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(retry_in)
        self.retry_in = retry_in


@dataclass(frozen=True, kw_only=True)
class _Made:
    """A model call's images as kept in the database, and what they were made from."""

    result: ProviderResult
    outputs: tuple[JobOutput, ...]
    parents: tuple[ParentImage, ...]
    parent_ids: tuple[int, ...]


class ImageJobs:
    """Records requests and runs each one to its end: done, or failed with a message.

    A job's state lives in its database row, so that a worker of any replica can take it up
    again (`bot.domain.worker`), and each run starts where the last one stopped: images
    already made are posted rather than made again, images already posted are not posted twice.
    """

    def __init__(
        self,
        *,
        provider: ImageProvider,
        repository: JobRepository,
        images: ThreadImages,
        limits: Limits,
        models: Sequence[ModelChoice],
        remote_provenance_check: bool = False,
        credentials: CredentialReader | None = None,
        max_attempts: int = 5,
        retry_seconds: float = 5.0,
        previews: int = 0,
        image_work: ImageWork,
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
        self._credentials = credentials or CredentialReader()
        self._sources = EditSources(images, self._credentials, image_work)
        self._clock = clock
        self.max_attempts = max_attempts
        self._retry_seconds = retry_seconds  # a failed delivery waits this, then twice as long…
        self._previews = previews  # partial images streamed while a single image renders
        self.queued = asyncio.Event()  # set whenever a job is queued: wakes this process's worker

    @property
    def model_id(self) -> str:
        return self._models[0].model_id

    async def receive(
        self,
        *,
        requester: Requester,
        prompt: Prompt,
        place: Place,
        edit: EditSource | None = None,
        request_key: str | None = None,
        held_by: str | None = None,
    ) -> ImageJob | None:
        """Record the request: from here on it ends in images or a message, whatever happens.
        None when `request_key` was seen before (Slack delivered the request again).
        `held_by` runs the job outside the workers (the command line), under a long lease."""
        now = self._clock()
        options = prompt.options
        row = await self._repository.add(
            JobRow(
                request_key=request_key,
                team_id=requester.team_id,
                user_id=requester.user_id,
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
                edit_file_ids=",".join(edit.file_ids) if edit and edit.file_ids else None,
                model=self._models[0].model_id,
                status=JobStatus.RECEIVED,
                lease_owner=held_by,
                lease_expires_at=now + HELD_LEASE if held_by else None,
                created_at=now,
            )
        )
        if row is None:
            return None
        assert row.id is not None
        return ImageJob(
            id=row.id,
            requester=requester,
            prompt=prompt,
            place=place,
            requested_at=now,
            edit=edit,
            owner=held_by,
            request_key=request_key,
        )

    async def reserve(self, job: ImageJob, *, input_images: int) -> Reservation:
        """Set the request's images and estimated cost aside, or raise the limit it would cross.
        The job row names the reservation at once, so that whoever ends the job gives it back."""
        options = job.prompt.options
        model = self.model_id
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

    async def queue(self, job: ImageJob, *, place: Place, reservation: Reservation | None) -> ImageJob | None:
        """The request is shown and its limits are reserved: workers may take it from now on.
        None when the job was ended meanwhile (taken for abandoned after a very slow post)."""
        queued = await self._repository.mark_queued(job.id, thread_ts=place.thread, status_ts=place.status)
        if not queued:
            logger.warning("job %s was ended before it could be queued", job.id)
            return None
        self.queued.set()
        return replace(job, place=place, reservation=reservation)

    async def refuse(self, job: ImageJob, error: BotError, reservation: Reservation | None = None) -> None:
        """End a job that never started (a limit, a conversation Easel cannot post in)."""
        if reservation is not None:
            await self._limits.release(reservation, now=self._clock())
        await self._repository.finish(job.id, status=JobStatus.FAILED, at=self._clock(), error=type(error).__name__)
        metrics.job_finished(JobStatus.FAILED, error=type(error).__name__)

    async def release(self, reservation: Reservation) -> None:
        await self._limits.release(reservation, now=self._clock())

    async def abandon(self, job: ImageJob, reporter: JobReporter, error: BotError) -> None:
        """End a job no worker can finish, with a message and a refund."""
        await self._fail(job, reporter, error=error, reference=_reference())

    async def load(self, row: JobRow) -> ImageJob:
        """The job as a worker takes it up from its row."""
        assert row.id is not None
        options = ImageOptions(
            size=row.size,
            quality=cast(Quality, row.quality),
            n=row.n,
            transparent=row.transparent,
            output_format=cast(OutputFormat, row.output_format),
            size_given=row.size_given,
            frame_count=row.frame_count,
            frame_ms=row.frame_ms,
        )
        prompt = Prompt(
            row.prompt, options, region=parse_region(row.region) if row.region else None, version=row.version
        )
        edit = None
        if row.edit:
            edit = EditSource(file_ids=tuple(row.edit_file_ids.split(",")) if row.edit_file_ids else ())
        reservation = await self._limits.reservation(row.reservation_id) if row.reservation_id else None
        return ImageJob(
            id=row.id,
            requester=Requester(row.team_id, row.user_id),
            prompt=prompt,
            place=Place(conversation=row.channel_id, thread=row.thread_ts, status=row.status_ts),
            requested_at=row.created_at,
            edit=edit,
            reservation=reservation,
            attempt=row.attempts,
            called=row.called_at is not None,
            owner=row.lease_owner,
            request_key=row.request_key,
        )

    async def run(self, job: ImageJob, reporter: JobReporter, files: FileSource | None = None) -> None:
        """The whole pipeline, resumed where an earlier attempt stopped. Every outcome ends in
        the database and in front of the user, except `DeliveryFailed` (tried again later)
        and cancellation outside the model call (the job stays queued for the next start)."""
        calling = False
        try:
            made = await self._restore(job)
            if made is None:
                if job.called:
                    raise JobInterrupted()  # the request may have reached the service: never send it twice
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
                calling = True
                made = await self._make(job, sources, reporter)
                calling = False
            allowance = await self._settle(job, made)
            await self._set_status(job, JobStatus.UPLOADING, reporter)
            await self._publish(job, made, reporter, allowance=allowance)
            await self._repository.finish(job.id, status=JobStatus.DONE, at=self._clock(), owner=job.owner)
            metrics.job_finished(JobStatus.DONE)
            logger.info("job %s done", job.id, extra={"duration": (self._clock() - job.requested_at).total_seconds()})
            await reporter.progress(job, JobStatus.DONE)
        except DeliveryFailed:
            raise
        except LeaseLost:
            logger.warning("job %s: another worker took it over; this one stops", job.id)
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
            if calling:
                logger.warning("job %s cancelled during its model call (shutting down)", job.id)
                await self._fail(job, reporter, error=JobInterrupted(), reference=_reference())
            raise

    async def _restore(self, job: ImageJob) -> _Made | None:
        """The images an earlier attempt made and kept, or None when there are none."""
        outputs = await self._repository.outputs(job.id)
        row = await self._repository.get(job.id)
        if not outputs or row is None:
            return None
        usage = Usage(
            input_text_tokens=row.input_text_tokens,
            input_image_tokens=row.input_image_tokens,
            output_tokens=row.output_tokens,
        )
        result = ProviderResult(
            model=row.model,
            images=tuple(GeneratedImage(data=o.data or b"", output_format=o.output_format) for o in outputs),
            size=row.size,
            quality=row.quality,
            usage=usage if row.output_tokens else None,
            request_id=row.provider_request_id,
        )
        kept = json.loads(row.parents or "[]")
        return _Made(
            result=result,
            outputs=tuple(outputs),
            parents=tuple(ParentImage.from_record(p) for p in kept),
            parent_ids=tuple(p["id"] for p in kept if p.get("id") is not None),
        )

    async def _make(self, job: ImageJob, sources: Sources | None, reporter: JobReporter) -> _Made:
        """Call the model and keep its images before anything else can go wrong."""
        await self._repository.update(job.id, called_at=self._clock())
        result = await self._call_model(job, sources, functools.partial(reporter.preview, job))
        pairs = list(zip(sources.parents, sources.credentials, strict=True)) if sources else []
        kept = [
            {
                "id": row.id,
                **asdict(
                    ParentImage(
                        number=row.number,
                        user_id=row.user_id,
                        origin=row.origin,
                        credentials=credentials.describe() if credentials.verdict != "absent" else None,
                        permalink=row.permalink,
                    )
                ),
            }
            for row, credentials in pairs
        ]
        usage = result.usage
        await self._repository.store_outputs(
            job.id,
            [
                NewOutput(position=position, data=image.data, output_format=image.output_format)
                for position, image in enumerate(result.images, start=1)
            ],
            owner=job.owner,
            at=self._clock(),
            model=result.model,
            size=result.size,
            quality=result.quality,
            provider_request_id=result.request_id,
            input_text_tokens=usage.input_text_tokens if usage else 0,
            input_image_tokens=usage.input_image_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            parents=json.dumps(kept),
        )
        made = await self._restore(job)
        assert made is not None
        return made

    async def _call_model(self, job: ImageJob, sources: Sources | None, on_preview: PreviewSink) -> ProviderResult:
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
                partial_images=self._previews if options.n == 1 and options.still else 0,
                frame_count=options.frame_count,
                frame_duration_ms=options.frame_ms,
            )
            try:
                result = await metrics.timed(
                    metrics.MODEL_SECONDS.labels(model=choice.model_id),
                    self._provider.edit(call, on_preview) if call.images else self._provider.generate(call, on_preview),
                )
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
            return replace(result, model=choice.model_id)
        assert last_error is not None
        raise last_error

    async def _settle(self, job: ImageJob, made: _Made) -> str | None:
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
        return report.images_summary

    async def _publish(self, job: ImageJob, made: _Made, reporter: JobReporter, *, allowance: str | None) -> None:
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
            assert output.id is not None and row.id is not None
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

    async def _finish_image(self, job: ImageJob, made: _Made, image: GeneratedImage, row: ImageRow) -> FinishedImage:
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

    async def _set_status(self, job: ImageJob, status: JobStatus, reporter: JobReporter) -> None:
        await self._repository.update(job.id, status=status)
        await reporter.progress(job, status)

    async def _fail(self, job: ImageJob, reporter: JobReporter, *, error: BotError | None, reference: str) -> None:
        """Record the failure, tell the user, and give back what was reserved; a charge stays
        only for images that reached the thread."""
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
            await self._images.release([image_id for image_id in unposted if image_id is not None])
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


def _reference() -> str:
    return uuid.uuid4().hex[:8]
