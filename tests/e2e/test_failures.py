"""What the user sees when the model or Slack fails: plain words in the thread, the job
recorded as failed, details only in the log."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.storage.tables import JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI, Fault
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.slow  # waits for Retry-After, shutdowns with jobs in flight


def thread_texts(slack: FakeSlack) -> list[str]:
    if not slack.messages:
        return []
    parent = slack.messages[0]
    return [m.text or "" for m in slack.thread(parent.channel, parent.ts)]


async def failure_reply(slack: FakeSlack) -> str:
    await eventually(lambda: len(thread_texts(slack)) == 1, what="a reply in the thread")
    parent = slack.messages[0]
    await eventually(lambda: "failed" in json.dumps(slack.message(parent.channel, parent.ts).blocks), what="failed")
    return thread_texts(slack)[0]


def job_statuses(bot: RunningBot) -> list[tuple[str, str | None]]:
    with Session(bot.database()) as session:
        return [(job.status, job.error) for job in session.exec(select(JobRow))]


async def test_moderation_block_is_explained_and_nothing_is_posted(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.inject(Fault("moderation"))
    await slack.slash("something the safety system refuses")

    reply = await failure_reply(slack)
    assert "blocked by the model's safety system" in reply and "nothing was charged" in reply
    assert slack.files == {} and len(images.requests) == 1, "a safety block is not retried"
    assert job_statuses(bot) == [("failed", "ModelBlocked")]


async def test_rate_limit_waits_for_retry_after_then_succeeds(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.inject(Fault("rate_limit", retry_after=0.2), Fault("server_error"))
    await slack.slash("a lighthouse")

    await eventually(lambda: len(slack.files) == 1, what="the upload after two retries")
    assert len(images.requests) == 3
    assert next(iter(slack.files.values())).content == images.outputs[0]


async def test_rate_limit_that_persists_is_reported(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    images.inject(*[Fault("rate_limit", retry_after=0.1)] * 3)
    await slack.slash("a lighthouse")

    reply = await failure_reply(slack)
    assert "rate limited" in reply
    assert len(images.requests) == 3, "IMAGE_MAX_ATTEMPTS bounds the attempts"


async def test_retry_after_beyond_the_cap_is_not_waited_for(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.inject(Fault("rate_limit", retry_after=600))
    await slack.slash("a lighthouse")

    reply = await failure_reply(slack)
    assert "10 minutes" in reply
    assert len(images.requests) == 1


async def test_exhausted_quota_is_not_retried(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    images.inject(Fault("insufficient_quota"))
    await slack.slash("a lighthouse")

    assert "quota" in await failure_reply(slack)
    assert len(images.requests) == 1


async def test_a_timed_out_call_is_not_retried(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> None:
    """A request that may have reached the model can be billed: one attempt only."""
    bot = await start_bot(dataclasses.replace(settings, image_timeout_seconds=0.3), slack)
    try:
        images.inject(Fault("slow", delay=2.0))
        await slack.slash("a lighthouse")
        reply = await failure_reply(slack)
    finally:
        await stop_bot(bot)
    assert "did not answer" in reply
    assert len(images.requests) == 1
    assert job_statuses(bot) == [("failed", "ProviderTimeout")]


async def test_a_shut_down_model_names_the_setting(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """An installation still set to gpt-image-1-mini on OpenAI, from 2026-12-01 (the fake's day)."""
    bot = await start_bot(dataclasses.replace(settings, image_model="gpt-image-1-mini"), slack)
    try:
        with caplog.at_level(logging.ERROR):
            await slack.slash("a lighthouse")
            reply = await failure_reply(slack)
    finally:
        await stop_bot(bot)

    assert "`gpt-image-1-mini` is retired" in reply and "`IMAGE_MODEL`" in reply
    assert any("IMAGE_MODEL" in r.getMessage() and "gpt-image-1-mini" in r.getMessage() for r in caplog.records)


async def test_a_shut_down_model_falls_back(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> None:
    configured = dataclasses.replace(
        settings, image_model="gpt-image-1-mini", image_model_fallback="gpt-image-2.6-flare"
    )
    bot = await start_bot(configured, slack)
    try:
        await slack.slash("a lighthouse")
        await eventually(lambda: len(slack.files) == 1, what="the fallback's upload")
        await slack.slash("a second lighthouse")
        await eventually(lambda: len(slack.files) == 2, what="the second upload")
    finally:
        await stop_bot(bot)

    models = [r.fields["model"] for r in images.requests]
    assert models == ["gpt-image-1-mini", "gpt-image-2.6-flare", "gpt-image-2.6-flare"], "not asked again"
    first = next(iter(slack.files.values()))
    assert "gpt-image-2.6-flare" in json.dumps(first.blocks)


async def test_a_bug_gives_the_user_a_reference_that_is_in_the_log(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, caplog: pytest.LogCaptureFixture
) -> None:
    images.inject(Fault("garbled"))
    with caplog.at_level(logging.ERROR):
        await slack.slash("a lighthouse")
        reply = await failure_reply(slack)

    reference = reply.split("`")[-2]
    assert "Something went wrong" in reply and len(reference) == 8
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the traceback goes to the log"
    assert "Traceback" not in reply


async def test_jobs_still_running_at_shutdown_give_back_their_reservation(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    bot = await start_bot(dataclasses.replace(settings, shutdown_grace_seconds=0.2), slack)
    images.latency = 5
    await slack.slash("a slow lighthouse")
    await eventually(lambda: len(images.requests) == 1, what="the model call")
    await stop_bot(bot)

    assert "Easel restarted while your image was being made" in thread_texts(slack)[0]
    assert job_statuses(bot) == [("failed", "JobInterrupted")]
    with Session(bot.database()) as session:
        assert [row.status for row in session.exec(select(LedgerRow))] == ["released"]


async def test_a_note_slack_refuses_on_the_upload_follows_the_image(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.fail_next("files.completeUploadExternal", error="invalid_blocks")
    await slack.slash("a lighthouse")
    await eventually(lambda: len(slack.files) == 1, what="the image")
    (uploaded,) = slack.files.values()
    assert uploaded.content == images.outputs[0] and uploaded.blocks is None
    parent = slack.messages[0]
    await eventually(
        lambda: any(
            "gpt-image-2.5-flare" in (m.text or "") and m.blocks is None
            for m in slack.thread(parent.channel, parent.ts)
            if not m.files
        ),
        what="the note as its own message, as text (the same blocks would be refused again)",
    )
