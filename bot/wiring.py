"""build_services(settings): the provider, the database and the domain services, once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date

from bot.config import Settings
from bot.domain.catalog import spec_for
from bot.domain.credentials import CredentialReader, ReadingOptions
from bot.domain.deletion import Deletions
from bot.domain.deliveries import Deliveries
from bot.domain.delivery import Delivery
from bot.domain.image_work import ImageWork
from bot.domain.intake import Intake
from bot.domain.iteration import Iteration
from bot.domain.lifecycle import ModelStatus, status_of
from bot.domain.limits import LimitPolicy, Limits
from bot.domain.lineage import LineageBook
from bot.domain.model import ModelChoice
from bot.domain.model_options import fit_to_model
from bot.domain.pipeline import ModelsInUse, Pipeline
from bot.domain.pricing import MICROS_PER_USD, has_price
from bot.domain.requests import FORMATS, ImageOptions, OptionDefaults
from bot.domain.sources import EditSources
from bot.domain.threads import Threads
from bot.errors import ConfigError, InputRejected
from bot.providers.base import ImageProvider
from bot.providers.factory import build_provider
from bot.storage.database import Database
from bot.storage.event_log import EventLog
from bot.storage.job_records import JobRepository
from bot.storage.ledger import Ledger
from bot.storage.preferences import Preferences
from bot.storage.thread_images import ThreadImages

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    provider: ImageProvider
    database: Database
    intake: Intake  # every request, from any surface, becomes a job here
    pipeline: Pipeline  # the workers (and the command line) run jobs here
    job_records: JobRepository
    events: EventLog
    threads: Threads
    deliveries: Deliveries
    deletions: Deletions
    limits: Limits
    lineage: LineageBook
    option_defaults: OptionDefaults
    iteration: Iteration
    image_work: ImageWork

    async def close(self) -> None:
        await self.provider.close()
        self.database.close()
        self.image_work.close()


def model_choices(settings: Settings) -> list[ModelChoice]:
    """The primary model, then the fallback, each with the setting that names it."""
    primary_setting = (
        "AZURE_OPENAI_DEPLOYMENT" if settings.uses_azure and settings.azure_openai_deployment else "IMAGE_MODEL"
    )
    choices = [ModelChoice(call_name=settings.provider_model, model_id=settings.model_id, setting=primary_setting)]
    if settings.image_model_fallback:
        fallback = settings.image_model_fallback
        choices.append(ModelChoice(call_name=fallback, model_id=fallback, setting="IMAGE_MODEL_FALLBACK"))
    return choices


def limit_policy(settings: Settings) -> LimitPolicy:
    limits = settings.limits
    return LimitPolicy(
        images_per_day=limits.images_per_day,
        usd_micros_per_month=round(limits.usd_per_month * MICROS_PER_USD),
        concurrent_jobs=limits.concurrent_jobs,
        requests_per_minute=limits.requests_per_minute,
        workspace_usd_micros_per_day=round(limits.workspace_usd_per_day * MICROS_PER_USD),
        strikes_per_day=limits.strikes_per_day,
        timezone=limits.timezone,
        allowed_channels=limits.allowed_channels,
    )


def option_defaults(settings: Settings) -> OptionDefaults:
    """What requests start from, checked against the model in use: a default it cannot make
    stops start-up with the setting named."""
    spec = spec_for(settings.model_id)
    # Azure OpenAI does not return WebP.
    formats = tuple(f for f in FORMATS if f in spec.formats and not (settings.uses_azure and f == "webp"))
    defaults = OptionDefaults(size=settings.default_size, quality=settings.default_quality, formats=formats, model=spec)
    try:
        fitted = fit_to_model(ImageOptions(size=defaults.size, quality=defaults.quality), spec)
    except InputRejected as error:
        setting = "IMAGE_DEFAULT_SIZE" if error.fragment and "size" in error.fragment else "IMAGE_DEFAULT_QUALITY"
        raise ConfigError(f"{setting}: {error.problem.replace('--size ', '').replace('--quality ', '')}") from None
    return replace(defaults, size=fitted.size)


def model_status(settings: Settings, *, today: date) -> ModelStatus:
    return status_of(settings.model_id, settings.provider_name, today=today)


def log_model_status(settings: Settings, *, today: date) -> None:
    """At start-up: which model, chosen how, and a warning from 30 days before its shutdown."""
    status = model_status(settings, today=today)
    chosen = "IMAGE_MODEL" if settings.image_model else f"the {settings.provider_name} default (IMAGE_MODEL is not set)"
    logger.info("image model %s, from %s; %s", settings.model_id, chosen, status.describe())
    if status.warns:
        logger.warning("%s: set IMAGE_MODEL (and on Azure the deployment) to a current model", status.describe())
    if not has_price(settings.model_id):
        logger.warning("no price for %s: every image is charged at the dearest known price", settings.model_id)


def build_services(settings: Settings) -> Services:
    defaults = option_defaults(settings)
    provider = build_provider(settings)
    database = Database(settings.database_url, upgrade=settings.database_upgrade_on_start)
    threads = ThreadImages(database)
    jobs_repository = JobRepository(database)
    limits = Limits(limit_policy(settings), Ledger(database))
    models = ModelsInUse(model_choices(settings))
    credentials = CredentialReader(
        ReadingOptions(
            trust_anchors=settings.c2pa_trust_anchors,
            remote_manifest_hosts=settings.c2pa_remote_manifest_hosts,
        ),
        timeout=settings.c2pa_read_timeout_seconds,
    )
    image_work = ImageWork()
    delivery = Delivery(
        provider=provider,
        repository=jobs_repository,
        images=threads,
        limits=limits,
        credentials=credentials,
        remote_provenance_check=settings.provenance_remote_check,
        max_attempts=settings.jobs.max_attempts,
        retry_seconds=settings.jobs.retry_seconds,
    )
    pipeline = Pipeline(
        provider=provider,
        repository=jobs_repository,
        limits=limits,
        models=models,
        sources=EditSources(threads, credentials, image_work),
        delivery=delivery,
        previews=settings.preview_partial_images,
    )
    events = EventLog(database)
    return Services(
        settings=settings,
        provider=provider,
        database=database,
        intake=Intake(repository=jobs_repository, limits=limits, models=models),
        pipeline=pipeline,
        job_records=jobs_repository,
        events=events,
        threads=Threads(threads, jobs_repository),
        deliveries=Deliveries(events),
        deletions=Deletions(pipeline, jobs_repository, threads),
        limits=limits,
        lineage=LineageBook(threads, jobs_repository),
        option_defaults=defaults,
        iteration=Iteration(jobs_repository, threads, Preferences(database), defaults),
        image_work=image_work,
    )
