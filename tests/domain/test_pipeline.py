"""The pipeline: a queued job runs to its end (delivered, or failed with a refund), falls back
to the second model when the first is retired, and picks up where an earlier attempt stopped."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.domain.delivery import DeliveryFailed
from bot.domain.model import EditSource, ImageJob, JobStatus, Place
from bot.domain.sources import DownloadedFile
from bot.errors import ModelBlocked, ModelRetired
from bot.storage.thread_images import Attachment
from tests.domain.job_fakes import (
    FALLBACK,
    NOW,
    PRIMARY,
    Domain,
    FakeModel,
    MemoryFiles,
    RecordingReporter,
    png,
    request,
)


async def queued_job(domain: Domain, *, n: int = 1) -> ImageJob:
    """A job as a worker takes it up: submitted, then loaded from its row."""
    submitted = await domain.intake.submit(request(n=n))
    assert submitted is not None
    row = await domain.jobs.get(submitted.id)
    assert row is not None
    return await domain.pipeline.load(row)


async def test_a_queued_job_runs_to_delivered_and_the_reporter_is_told_in_order(
    make_domain: Callable[..., Domain],
) -> None:
    domain = make_domain()
    job = await queued_job(domain, n=2)
    reporter = RecordingReporter()
    await domain.pipeline.run(job, reporter)
    assert reporter.told == ["generating", "uploading", "delivered 1 of 2", "delivered 2 of 2", "done"]
    assert [image.data for image in reporter.delivered] == [png(10), png(11)], "the model's bytes, untouched"
    first = reporter.delivered[0].provenance
    assert (first.model, first.prompt, first.requester, first.number) == (
        PRIMARY.model_id,
        "a lighthouse at dusk",
        job.requester,
        1,
    )
    [row] = domain.job_rows()
    assert (row.status, row.error) == (JobStatus.DONE, None)
    [charge] = domain.ledger_rows()
    assert (charge.status, charge.job_id, charge.images) == ("settled", job.id, 2)
    assert charge.actual_micros is not None and charge.actual_micros > 0
    numbered = await domain.threads.of_job(job.id)
    assert [(image.number, image.slack_file_id) for image in numbered] == [(1, f"F{job.id}-1"), (2, f"F{job.id}-2")]


async def test_the_fallback_model_makes_the_images_when_the_primary_is_retired(
    make_domain: Callable[..., Domain],
) -> None:
    domain = make_domain(model=FakeModel(retired=(PRIMARY.call_name,)), models=(PRIMARY, FALLBACK))
    reporter = RecordingReporter()
    await domain.pipeline.run(await queued_job(domain), reporter)
    assert [call.model for call in domain.model.calls] == [PRIMARY.call_name, FALLBACK.call_name]
    assert reporter.told[-1] == "done" and reporter.delivered[0].provenance.model == FALLBACK.model_id
    # Until the next start, new requests are recorded for the fallback and never try the primary again.
    assert domain.pipeline.model_id == FALLBACK.model_id
    await domain.pipeline.run(await queued_job(domain), RecordingReporter())
    assert [call.model for call in domain.model.calls][2:] == [FALLBACK.call_name]
    assert [row.model for row in domain.job_rows()] == [FALLBACK.model_id, FALLBACK.model_id]


async def test_with_no_model_left_the_job_fails_naming_the_setting(make_domain: Callable[..., Domain]) -> None:
    domain = make_domain(model=FakeModel(retired=(PRIMARY.call_name, FALLBACK.call_name)), models=(PRIMARY, FALLBACK))
    reporter = RecordingReporter()
    await domain.pipeline.run(await queued_job(domain), reporter)
    assert reporter.told == ["generating", "failed: ModelRetired"]
    [error] = reporter.errors
    assert isinstance(error, ModelRetired) and error.setting == "IMAGE_MODEL_FALLBACK"


async def test_a_restarted_job_with_kept_images_posts_them_without_calling_the_model_again(
    make_domain: Callable[..., Domain],
) -> None:
    domain = make_domain()
    job = await queued_job(domain)
    with pytest.raises(DeliveryFailed):
        await domain.pipeline.run(job, RecordingReporter(refuse_deliveries=1))
    assert len(domain.model.calls) == 1
    row = await domain.jobs.get(job.id)
    assert row is not None and row.status == JobStatus.UPLOADING

    again = RecordingReporter()
    await domain.pipeline.run(await domain.pipeline.load(row), again)
    assert len(domain.model.calls) == 1, "the kept images are posted, not made again"
    assert again.told == ["uploading", "delivered 1 of 1", "done"]
    assert [image.data for image in again.delivered] == [png(10)]
    assert [charge.status for charge in domain.ledger_rows()] == ["settled"], "charged once"


async def test_a_job_whose_model_call_may_have_happened_is_never_sent_twice(
    make_domain: Callable[..., Domain],
) -> None:
    domain = make_domain()
    job = await queued_job(domain)
    await domain.jobs.update(job.id, called_at=NOW)  # the last attempt stopped inside the call
    row = await domain.jobs.get(job.id)
    assert row is not None
    reporter = RecordingReporter()
    await domain.pipeline.run(await domain.pipeline.load(row), reporter)
    assert domain.model.calls == [] and reporter.told == ["failed: JobInterrupted"]
    assert [charge.status for charge in domain.ledger_rows()] == ["released"]


async def test_a_failure_refunds_and_tells_the_reporter(make_domain: Callable[..., Domain]) -> None:
    domain = make_domain(model=FakeModel(fails_with=ModelBlocked("safety system")))
    job = await queued_job(domain)
    reporter = RecordingReporter()
    await domain.pipeline.run(job, reporter)
    assert reporter.told == ["generating", "failed: ModelBlocked"]
    [row] = domain.job_rows()
    assert (row.status, row.error) == (JobStatus.FAILED, "ModelBlocked")
    assert [charge.status for charge in domain.ledger_rows()] == ["released"], "the reservation is given back"


async def test_an_unexpected_error_fails_the_job_with_a_reference_and_refunds(
    make_domain: Callable[..., Domain],
) -> None:
    domain = make_domain(model=FakeModel(fails_with=RuntimeError("a bug")))
    job = await queued_job(domain)
    reporter = RecordingReporter()
    await domain.pipeline.run(job, reporter)
    assert reporter.told == ["generating", "failed: bug"] and reporter.errors == [None]
    [row] = domain.job_rows()
    assert row.status == JobStatus.FAILED and (row.error or "").startswith("bug:")
    assert [charge.status for charge in domain.ledger_rows()] == ["released"]


async def test_an_edit_sends_the_thread_image_it_names_to_the_model(make_domain: Callable[..., Domain]) -> None:
    domain = make_domain()
    place = Place(conversation="C1", thread="1700000000.000100")
    source = png(200, size=(96, 64))
    await domain.threads.record_attachments(
        place.conversation, place.thread or "", [Attachment(file_id="F_SRC", name="boat.png", user_id="U1")], at=NOW
    )
    files = MemoryFiles({"F_SRC": DownloadedFile(name="boat.png", data=source)})
    submitted = await domain.intake.submit(request("make it night", place=place, edit=EditSource(file_ids=("F_SRC",))))
    assert submitted is not None
    reporter = RecordingReporter()
    await domain.pipeline.run(submitted, reporter, files)
    assert files.fetched == ["F_SRC"] and reporter.told[-1] == "done"
    [call] = domain.model.calls
    assert [image.data for image in call.images] == [source] and call.size == "1536x1024", "the source's shape"
    assert [parent.number for parent in reporter.delivered[0].provenance.parents] == [1]
    assert reporter.delivered[0].provenance.number == 2, "numbered after the image it was made from"
