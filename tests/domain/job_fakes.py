"""The domain's own fakes for the intake and the pipeline: an image model in process that
returns real PNG bytes, a reporter that records what it was told, files held in memory. The
repositories and the limits are the real ones, on a SQLite file."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from PIL import Image
from sqlmodel import Session, select

from bot.domain.credentials import CredentialReader
from bot.domain.delivery import Delivery
from bot.domain.image_work import ImageWork
from bot.domain.intake import Intake
from bot.domain.limits import LimitPolicy, Limits
from bot.domain.model import (
    EditSource,
    FinishedImage,
    ImageJob,
    JobRequest,
    JobResult,
    JobStatus,
    ModelChoice,
    Place,
    PostedImage,
)
from bot.domain.people import Requester
from bot.domain.pipeline import ModelsInUse, Pipeline
from bot.domain.reporter import RecordUpload
from bot.domain.requests import ImageOptions, Prompt
from bot.domain.sources import DownloadedFile, EditSources
from bot.errors import BotError, ModelRetired
from bot.providers.base import GeneratedImage, ImageCall, PreviewSink, ProviderResult, RemoteProvenance, Usage
from bot.storage.database import Database
from bot.storage.job_records import JobRepository
from bot.storage.ledger import Ledger
from bot.storage.tables import JobRow, LedgerRow
from bot.storage.thread_images import ThreadImages

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # a fixed clock: nothing depends on today's date
PRIMARY = ModelChoice(call_name="gpt-image-2.5-flare", model_id="gpt-image-2.5-flare", setting="IMAGE_MODEL")
FALLBACK = ModelChoice(call_name="gpt-image-1", model_id="gpt-image-1", setting="IMAGE_MODEL_FALLBACK")
ADA = Requester("T1", "U1")


def png(shade: int, size: tuple[int, int] = (64, 64)) -> bytes:
    """A real PNG of one colour: a different `shade` makes different bytes."""
    out = io.BytesIO()
    Image.new("RGB", size, (shade % 256, 80, 160)).save(out, format="PNG")
    return out.getvalue()


class FakeModel:
    """`ImageProvider` in process: makes PNGs, or raises what the test asks of it."""

    name = "fake"

    def __init__(self, *, retired: tuple[str, ...] = (), fails_with: Exception | None = None) -> None:
        self.retired = retired
        self.fails_with = fails_with
        self.calls: list[ImageCall] = []

    async def generate(self, call: ImageCall, on_preview: PreviewSink | None = None) -> ProviderResult:
        self.calls.append(call)
        if call.model in self.retired:
            raise ModelRetired(call.model)
        if self.fails_with is not None:
            raise self.fails_with
        return ProviderResult(
            model=call.model,
            images=tuple(
                GeneratedImage(data=png(len(self.calls) * 10 + i), output_format="png") for i in range(call.n)
            ),
            size=call.size,
            quality=call.quality,
            usage=Usage(input_text_tokens=12, output_tokens=200 * call.n),
            request_id=f"req_{len(self.calls)}",
        )

    async def edit(self, call: ImageCall, on_preview: PreviewSink | None = None) -> ProviderResult:
        return await self.generate(call, on_preview)

    async def check_model(self, model: str) -> date | None:
        return None

    async def check_reachable(self) -> None:
        return None

    async def check_provenance(self, image: GeneratedImage) -> RemoteProvenance | None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class RecordingReporter:
    """`JobReporter` that writes down, in order, everything the domain tells it; the first
    `refuse_deliveries` deliveries fail as a Slack outage would."""

    refuse_deliveries: int = 0
    told: list[str] = field(default_factory=list)
    delivered: list[FinishedImage] = field(default_factory=list)
    errors: list[BotError | None] = field(default_factory=list)

    async def progress(self, job: ImageJob, status: JobStatus, *, ahead: int | None = None) -> None:
        self.told.append(status.value)

    async def preview(self, job: ImageJob, data: bytes) -> None:
        self.told.append("preview")

    async def deliver(
        self, job: ImageJob, image: FinishedImage, result: JobResult, record_upload: RecordUpload
    ) -> PostedImage:
        if self.refuse_deliveries:
            self.refuse_deliveries -= 1
            raise ConnectionError("Slack is down")
        file_id = f"F{job.id}-{image.provenance.position}"
        await record_upload(file_id)
        self.delivered.append(image)
        self.told.append(f"delivered {image.provenance.position} of {image.provenance.of}")
        return PostedImage(file_id=file_id, permalink=f"https://files.example/{file_id}")

    async def find_posted(self, job: ImageJob, file_id: str) -> PostedImage | None:
        return None

    async def failed(self, job: ImageJob, error: BotError | None, reference: str) -> None:
        self.errors.append(error)
        self.told.append(f"failed: {type(error).__name__ if error else 'bug'}")

    async def user_paused(self, job: ImageJob, strikes: int) -> None:
        self.told.append("user paused")


@dataclass
class MemoryFiles:
    """`FileSource` over files held in memory, by file id."""

    files: dict[str, DownloadedFile] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    async def fetch(self, file_id: str, *, attached: bool) -> DownloadedFile:
        self.fetched.append(file_id)
        return self.files[file_id]


@dataclass
class Domain:
    """The intake and the pipeline as `bot.wiring` builds them, on a real database."""

    database: Database
    intake: Intake
    pipeline: Pipeline
    model: FakeModel
    jobs: JobRepository
    threads: ThreadImages
    image_work: ImageWork

    def close(self) -> None:
        self.image_work.close()
        self.database.close()

    def job_rows(self) -> list[JobRow]:
        with Session(self.database.engine) as session:
            return list(session.exec(select(JobRow).order_by(JobRow.id)))  # type: ignore[arg-type]

    def ledger_rows(self) -> list[LedgerRow]:
        with Session(self.database.engine) as session:
            return list(session.exec(select(LedgerRow).order_by(LedgerRow.id)))  # type: ignore[arg-type]


def build_domain(
    tmp_path: Path,
    *,
    model: FakeModel | None = None,
    models: tuple[ModelChoice, ...] = (PRIMARY,),
    policy: LimitPolicy | None = None,
) -> Domain:
    database = Database(f"sqlite:///{tmp_path / 'domain.db'}")
    model = model or FakeModel()
    jobs, threads = JobRepository(database), ThreadImages(database)
    limits = Limits(policy or LimitPolicy(), Ledger(database))
    in_use = ModelsInUse(models)
    credentials, image_work = CredentialReader(), ImageWork()
    delivery = Delivery(
        provider=model, repository=jobs, images=threads, limits=limits, credentials=credentials, clock=lambda: NOW
    )
    pipeline = Pipeline(
        provider=model,
        repository=jobs,
        limits=limits,
        models=in_use,
        sources=EditSources(threads, credentials, image_work),
        delivery=delivery,
        clock=lambda: NOW,
    )
    intake = Intake(repository=jobs, limits=limits, models=in_use, clock=lambda: NOW)
    return Domain(
        database=database,
        intake=intake,
        pipeline=pipeline,
        model=model,
        jobs=jobs,
        threads=threads,
        image_work=image_work,
    )


def request(
    text: str = "a lighthouse at dusk",
    *,
    n: int = 1,
    key: str | None = None,
    requester: Requester = ADA,
    place: Place | None = None,
    edit: EditSource | None = None,
) -> JobRequest:
    return JobRequest(
        requester=requester,
        prompt=Prompt(text, ImageOptions(size="1024x1024", quality="low", n=n)),
        place=place or Place(conversation="C1", thread="1700000000.000100"),
        edit=edit,
        request_key=key,
    )
