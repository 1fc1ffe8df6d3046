"""build_services(settings): the provider, the database and the domain services, once."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.domain.credentials import CredentialReader, ReadingOptions
from bot.domain.iteration import Iteration
from bot.domain.jobs import ImageJobs, ModelChoice
from bot.domain.limits import LimitPolicy, Limits
from bot.domain.lineage import LineageBook
from bot.domain.pricing import MICROS_PER_USD
from bot.domain.requests import FORMATS, OptionDefaults
from bot.providers.base import ImageProvider
from bot.providers.factory import build_provider
from bot.storage.database import Database
from bot.storage.repositories import EventLog, JobRepository, Ledger, Preferences, ThreadImages


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    provider: ImageProvider
    database: Database
    jobs: ImageJobs
    job_records: JobRepository
    events: EventLog
    threads: ThreadImages
    limits: Limits
    ledger: Ledger
    lineage: LineageBook
    option_defaults: OptionDefaults
    iteration: Iteration

    async def close(self) -> None:
        await self.provider.close()
        self.database.close()


def model_choices(settings: Settings) -> list[ModelChoice]:
    """The primary model, then the fallback, each with the setting that names it."""
    primary_setting = (
        "AZURE_OPENAI_DEPLOYMENT" if settings.uses_azure and settings.azure_openai_deployment else "IMAGE_MODEL"
    )
    choices = [ModelChoice(call_name=settings.provider_model, model_id=settings.image_model, setting=primary_setting)]
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


def build_services(settings: Settings) -> Services:
    provider = build_provider(settings)
    database = Database(settings.database_url, upgrade=settings.database_upgrade_on_start)
    # Azure OpenAI does not return WebP.
    formats = tuple(f for f in FORMATS if not (settings.uses_azure and f == "webp"))
    threads = ThreadImages(database)
    jobs_repository = JobRepository(database)
    ledger = Ledger(database)
    limits = Limits(limit_policy(settings), ledger)
    option_defaults = OptionDefaults(size=settings.default_size, quality=settings.default_quality, formats=formats)
    return Services(
        settings=settings,
        provider=provider,
        database=database,
        jobs=ImageJobs(
            provider=provider,
            repository=jobs_repository,
            images=threads,
            limits=limits,
            models=model_choices(settings),
            remote_provenance_check=settings.provenance_remote_check,
            credentials=CredentialReader(
                ReadingOptions(
                    trust_anchors=settings.c2pa_trust_anchors,
                    remote_manifest_hosts=settings.c2pa_remote_manifest_hosts,
                ),
                timeout=settings.c2pa_read_timeout_seconds,
            ),
            max_attempts=settings.jobs.max_attempts,
            retry_seconds=settings.jobs.retry_seconds,
            previews=settings.preview_partial_images,
        ),
        job_records=jobs_repository,
        events=EventLog(database),
        threads=threads,
        limits=limits,
        ledger=ledger,
        lineage=LineageBook(threads, jobs_repository),
        option_defaults=option_defaults,
        iteration=Iteration(jobs_repository, threads, Preferences(database), option_defaults),
    )
