"""Running a job: take it up where the last attempt stopped, resolve what an edit starts from,
call the model (falling back when the primary is retired), keep the images before anything
else can go wrong, then hand them to the delivery (`bot.domain.delivery`).

A job's state lives in its database row, so that a worker of any replica can take it up again
(`bot.domain.worker`): images already made are posted rather than made again, and a request
that may have reached the service is never sent twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, replace

from bot import metrics
from bot.domain.delivery import Delivery, DeliveryFailed, MadeImages, new_reference
from bot.domain.imaging import closest_size
from bot.domain.limits import Limits
from bot.domain.model import Clock, EditSource, ImageJob, JobRecord, JobStatus, ModelChoice, Place, utc_now
from bot.domain.people import Requester
from bot.domain.provenance import ParentImage
from bot.domain.reporter import JobReporter
from bot.domain.requests import recorded_prompt
from bot.domain.sources import EditSources, FileSource, Sources
from bot.errors import BotError, JobInterrupted, ModelBlocked, ModelRetired
from bot.providers.base import (
    GeneratedImage,
    ImageCall,
    ImageProvider,
    PreviewSink,
    ProviderResult,
    SourceImage,
    Usage,
)
from bot.storage.job_records import JobRepository, LeaseLost, NewOutput

logger = logging.getLogger(__name__)


class ModelsInUse:
    """The models a job may call, primary first. A model the provider reports retired is
    dropped until the next start (while another remains), so new requests are recorded and
    estimated for the model that will make them."""

    def __init__(self, choices: Sequence[ModelChoice]) -> None:
        if not choices:
            raise ValueError("at least one model is needed")
        self._choices = list(choices)

    @property
    def primary(self) -> ModelChoice:
        return self._choices[0]

    def in_order(self) -> list[ModelChoice]:
        return list(self._choices)

    def retire(self, choice: ModelChoice) -> None:
        if len(self._choices) > 1:
            self._choices.remove(choice)


class Pipeline:
    def __init__(
        self,
        *,
        provider: ImageProvider,
        repository: JobRepository,
        limits: Limits,
        models: ModelsInUse,
        sources: EditSources,
        delivery: Delivery,
        previews: int = 0,
        clock: Clock = utc_now,
    ) -> None:
        self._provider = provider
        self._repository = repository
        self._limits = limits
        self._models = models
        self._sources = sources
        self._delivery = delivery
        self._previews = previews  # partial images streamed while a single image renders
        self._clock = clock

    @property
    def model_id(self) -> str:
        return self._models.primary.model_id

    @property
    def max_attempts(self) -> int:
        return self._delivery.max_attempts

    async def load(self, row: JobRecord) -> ImageJob:
        """The job as a worker takes it up from its record."""
        edit = EditSource(file_ids=row.edit_file_ids) if row.edit else None
        reservation = await self._limits.reservation(row.reservation_id) if row.reservation_id else None
        return ImageJob(
            id=row.id,
            requester=Requester(row.team_id, row.user_id),
            prompt=recorded_prompt(row),
            place=Place(conversation=row.channel_id, thread=row.thread_ts, status=row.status_ts),
            requested_at=row.created_at,
            edit=edit,
            reservation=reservation,
            attempt=row.attempts,
            called=row.called_at is not None,
            owner=row.lease_owner,
            request_key=row.request_key,
        )

    async def abandon(self, job: ImageJob, reporter: JobReporter, error: BotError) -> None:
        """End a job no worker can finish, with a message and a refund."""
        await self._delivery.fail(job, reporter, error)

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
                await self._repository.update(job.id, status=JobStatus.GENERATING)
                await reporter.progress(job, JobStatus.GENERATING)
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
            await self._delivery.deliver(job, made, reporter)
        except DeliveryFailed:
            raise
        except LeaseLost:
            logger.warning("job %s: another worker took it over; this one stops", job.id)
        except ModelBlocked as error:
            logger.info("job %s: blocked by the model's safety system", job.id)
            await self._delivery.fail(job, reporter, error)
            if await self._limits.strike(job.requester, job_id=job.id, now=self._clock()):
                await reporter.user_paused(job, self._limits.policy.strikes_per_day)
        except BotError as error:
            logger.info("job %s failed: %s", job.id, type(error).__name__)
            await self._delivery.fail(job, reporter, error)
        except Exception:
            reference = new_reference()
            logger.exception("job %s failed unexpectedly (reference %s)", job.id, reference)
            await self._delivery.fail(job, reporter, None, reference=reference)
        except asyncio.CancelledError:
            if calling:
                logger.warning("job %s cancelled during its model call (shutting down)", job.id)
                await self._delivery.fail(job, reporter, JobInterrupted())
            raise

    async def _restore(self, job: ImageJob) -> MadeImages | None:
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
        return MadeImages(
            result=result,
            outputs=tuple(outputs),
            parents=tuple(ParentImage.from_record(p) for p in kept),
            parent_ids=tuple(p["id"] for p in kept if p.get("id") is not None),
        )

    async def _make(self, job: ImageJob, sources: Sources | None, reporter: JobReporter) -> MadeImages:
        """Call the model and keep its images before anything else can go wrong."""
        await self._repository.update(job.id, called_at=self._clock())
        result = await self._call_model(job, sources, functools.partial(reporter.preview, job))
        pairs = list(zip(sources.parents, sources.credentials, strict=True)) if sources else []
        parents = tuple(
            ParentImage(
                number=row.number,
                user_id=row.user_id,
                origin=row.origin,
                credentials=credentials.describe() if credentials.verdict != "absent" else None,
                permalink=row.permalink,
            )
            for row, credentials in pairs
        )
        parent_ids = tuple(row.id for row, _ in pairs)
        kept_parents = [
            {"id": image_id, **asdict(parent)} for image_id, parent in zip(parent_ids, parents, strict=True)
        ]
        usage = result.usage
        outputs = await self._repository.store_outputs(
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
            parents=json.dumps(kept_parents),
        )
        # As `_restore` reads it back: a call that reported no output tokens reported no usage.
        kept = replace(result, usage=usage if usage and usage.output_tokens else None)
        return MadeImages(result=kept, outputs=tuple(outputs), parents=parents, parent_ids=parent_ids)

    async def _call_model(self, job: ImageJob, sources: Sources | None, on_preview: PreviewSink) -> ProviderResult:
        """Try the primary model, then the fallback if the primary is reported retired."""
        options = job.prompt.options
        size = options.size
        if sources is not None and not options.size_given:
            size = closest_size(sources.images[0].size)
        last_error: ModelRetired | None = None
        for choice in self._models.in_order():
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
                self._models.retire(choice)  # stop asking for it until the next start
                continue
            return replace(result, model=choice.model_id)
        assert last_error is not None
        raise last_error
