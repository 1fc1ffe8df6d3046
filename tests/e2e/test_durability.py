"""Durable jobs: whatever happens to the process, Slack or the Images API, a request Slack
acked ends in exactly one posted image or in a message with a refund.

The kill tests run the bot as a real process (`python -m bot`, Socket Mode) and SIGKILL it
at the worst moments; the others run it in this process with faults injected.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, create_engine, select

from bot.config import JobSettings, LimitSettings, Settings
from bot.storage import schema
from bot.storage.tables import ImageRow, JobOutput, JobRow, LedgerRow, ReceivedEvent
from tests.conftest import eventually, start_bot, stop_bot
from tests.fakes.environment import bot_environment
from tests.fakes.fake_images import FakeImagesAPI, Fault
from tests.fakes.fake_slack import FakeSlack
from tests.postgres import PostgresServer

pytestmark = pytest.mark.slow  # bot restarts, SIGKILLed processes, PostgreSQL restarts, waits for backoff


def rows(database_url: str) -> tuple[list[JobRow], list[LedgerRow]]:
    engine = create_engine(database_url)
    with Session(engine) as session:
        jobs = list(session.exec(select(JobRow).order_by(JobRow.id)))
        ledger = list(session.exec(select(LedgerRow).order_by(LedgerRow.id)))
    engine.dispose()
    return jobs, ledger


def thread_of_first_request(slack: FakeSlack) -> list[str]:
    if not slack.messages:
        return []
    parent = slack.messages[0]
    return [m.text or "" for m in slack.thread(parent.channel, parent.ts)]


def files_in_threads(slack: FakeSlack) -> list[str]:
    return [file_id for message in slack.messages for file_id in message.files]


@asynccontextmanager
async def bot_process(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI, *, lease_seconds: str = "1"
) -> AsyncIterator[Process]:
    """`python -m bot` in Socket Mode, with a one-second lease so a restart takes over fast."""
    env = bot_environment(
        slack,
        images,
        database_url=f"sqlite:///{tmp_path / 'easel.db'}",
        JOB_LEASE_SECONDS=lease_seconds,
        JOB_POLL_SECONDS="0.1",
    )
    with (tmp_path / "bot.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=log)
        try:
            await eventually(lambda: slack.connected, timeout=30, what="the bot process to connect")
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
            await eventually(lambda: not slack.connected, what="the socket to close")


async def kill(process: Process, slack: FakeSlack) -> None:
    process.kill()  # SIGKILL: no handler runs, nothing is flushed
    await process.wait()
    await eventually(lambda: not slack.connected, what="the socket to close")


async def test_killed_during_the_model_call_the_request_ends_with_a_message_and_a_refund(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.latency = 3
    async with bot_process(tmp_path, slack, images) as first:
        await slack.slash("a lighthouse")
        await eventually(lambda: len(images.requests) == 1, what="the model call")
        await kill(first, slack)
    images.latency = 0
    async with bot_process(tmp_path, slack, images):
        await eventually(
            lambda: any("restarted while your image" in text for text in thread_of_first_request(slack)),
            timeout=20,
            what="the message in the thread",
        )
    jobs, ledger = rows(f"sqlite:///{tmp_path / 'easel.db'}")
    assert len(images.requests) == 1, "a request that may have reached the service is not sent again"
    assert slack.files == {}
    assert [(job.status, job.error) for job in jobs] == [("failed", "JobInterrupted")]
    assert [charge.status for charge in ledger] == ["released"]


async def test_after_a_crash_the_next_start_answers_at_once_not_when_the_lease_runs_out(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """The killed process held the job under a ten-minute lease; the new one, on the same host,
    sees that its pid is gone and takes the job over at once."""
    images.latency = 3
    async with bot_process(tmp_path, slack, images, lease_seconds="600") as first:
        await slack.slash("a lighthouse")
        await eventually(lambda: len(images.requests) == 1, what="the model call")
        await kill(first, slack)
    images.latency = 0
    async with bot_process(tmp_path, slack, images, lease_seconds="600"):
        await eventually(
            lambda: any("restarted while your image" in text for text in thread_of_first_request(slack)),
            timeout=20,
            what="the message in the thread, long before the lease runs out",
        )
    jobs, ledger = rows(f"sqlite:///{tmp_path / 'easel.db'}")
    assert [(job.status, job.error) for job in jobs] == [("failed", "JobInterrupted")]
    assert [charge.status for charge in ledger] == ["released"]


async def test_killed_after_slack_shared_the_image_it_is_not_posted_twice(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.hold("files.completeUploadExternal", 3)  # Slack shares the file, then answers late
    slack.share_lag = 3.5  # and files.info shows the share a little after the restart asks
    async with bot_process(tmp_path, slack, images) as first:
        await slack.slash("a lighthouse")
        await eventually(lambda: len(slack.files) == 1, what="the shared file")
        await kill(first, slack)
    slack.hold("files.completeUploadExternal", 0)
    database = f"sqlite:///{tmp_path / 'easel.db'}"
    async with bot_process(tmp_path, slack, images):
        await eventually(lambda: rows(database)[0][0].status == "done", timeout=20, what="the job to finish")
    jobs, ledger = rows(database)
    assert len(images.requests) == 1 and len(slack.files) == 1
    assert files_in_threads(slack) == list(slack.files), "one image in the thread"
    assert [(charge.status, charge.images) for charge in ledger] == [("settled", 1)]
    assert jobs[0].attempts == 2
    assert "done" in json.dumps(slack.messages[0].blocks)


async def test_killed_during_the_upload_the_kept_image_is_posted_after_the_restart(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.hold("upload", 3)
    async with bot_process(tmp_path, slack, images) as first:
        await slack.slash("a lighthouse")
        await eventually(lambda: bool(slack.calls_to("upload")), what="the upload")
        await kill(first, slack)
    slack.hold("upload", 0)
    database = f"sqlite:///{tmp_path / 'easel.db'}"
    async with bot_process(tmp_path, slack, images):
        await eventually(lambda: rows(database)[0][0].status == "done", timeout=20, what="the job to finish")
    _, ledger = rows(database)
    assert len(images.requests) == 1, "the kept image is posted, not made again"
    [posted] = slack.files.values()
    assert posted.content == images.outputs[0]
    assert files_in_threads(slack) == [posted.id]
    assert [charge.status for charge in ledger] == ["settled"]
    engine = create_engine(database)
    with Session(engine) as session:
        assert [output.data for output in session.exec(select(JobOutput))] == [None], "posted bytes are dropped"
    engine.dispose()


def left_behind(database_url: str, job: JobRow, charge: LedgerRow | None = None) -> None:
    """Rows as a process that stopped at the wrong moment leaves them."""
    schema.upgrade(database_url)
    engine = create_engine(database_url)
    with Session(engine) as session:
        if charge is not None:
            session.add(charge)
            session.commit()
            job.reservation_id = charge.id
        session.add(job)
        session.commit()
    engine.dispose()


def a_job(**fields: object) -> JobRow:
    values: dict[str, object] = {
        "team_id": "T0TEAM",
        "user_id": "U0ALICE",
        "channel_id": "C0GENERAL",
        "prompt": "a lighthouse",
        "size": "1024x1024",
        "quality": "low",
        "n": 1,
        "output_format": "png",
        "model": "gpt-image-1-mini",
        "created_at": datetime.now(UTC),
    }
    return JobRow.model_validate({**values, **fields})


def durable(settings: Settings, **jobs: object) -> Settings:
    return dataclasses.replace(settings, jobs=dataclasses.replace(JobSettings(poll_seconds=0.05), **jobs))


async def test_a_slack_outage_keeps_the_image_until_it_can_be_posted(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.fail_next("upload", times=5)  # three tries in the first attempt, two in the second
    bot = await start_bot(durable(settings, retry_seconds=0.2), slack)
    try:
        await slack.slash("a lighthouse")
        await eventually(lambda: len(slack.files) == 1, what="the image")
        await eventually(lambda: rows(settings.database_url)[0][0].status == "done", what="done")
    finally:
        await stop_bot(bot)
    jobs, ledger = rows(settings.database_url)
    assert len(images.requests) == 1 and len(slack.calls_to("upload")) == 6
    assert jobs[0].attempts == 2
    assert [charge.status for charge in ledger] == ["settled"]


async def test_a_delivery_that_never_succeeds_ends_with_a_message_and_a_refund(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.fail_next("upload", times=100)
    bot = await start_bot(durable(settings, retry_seconds=0.1, max_attempts=2), slack)
    try:
        await slack.slash("a lighthouse")
        await eventually(
            lambda: any("Slack would not take the image after 2 attempts" in t for t in thread_of_first_request(slack)),
            what="the message",
        )
    finally:
        await stop_bot(bot)
    jobs, ledger = rows(settings.database_url)
    assert [(job.status, job.error) for job in jobs] == [("failed", "NotDelivered")]
    assert [(charge.status, charge.actual_micros) for charge in ledger] == [("released", 0)], "refunded"
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        assert list(session.exec(select(ImageRow))) == [], "its image number is given back"
    engine.dispose()


async def test_slack_rate_limits_and_failed_uploads_are_retried(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.fail_next("chat.postMessage", retry_after=1)
    slack.fail_next("files.completeUploadExternal", retry_after=1)
    slack.fail_next("upload", times=2)
    bot = await start_bot(durable(settings), slack)
    try:
        ack = await slack.slash("a lighthouse")
        assert ack.latency < 3.0
        await eventually(lambda: len(slack.files) == 1, what="the image")
    finally:
        await stop_bot(bot)
    assert len(slack.calls_to("chat.postMessage")) >= 2 and len(slack.calls_to("files.completeUploadExternal")) == 2
    assert len(slack.calls_to("upload")) == 3
    assert files_in_threads(slack) == list(slack.files)
    jobs, _ = rows(settings.database_url)
    assert jobs[0].attempts == 1, "the upload retries happen within one attempt"


async def test_the_same_message_delivered_under_other_event_ids_makes_one_job(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    bot = await start_bot(settings, slack)
    try:
        payload = slack.message_event("@Easel a lighthouse")
        for attempt in range(3):
            again = {**payload, "event_id": f"Ev{attempt}"}  # only the unique request key can tell
            await slack.wait_for_ack(await slack.send_envelope("events_api", again, retry_attempt=attempt))
        await eventually(lambda: len(slack.files) == 1, what="the upload")
        await asyncio.sleep(0.3)
    finally:
        await stop_bot(bot)
    jobs, _ = rows(settings.database_url)
    assert len(jobs) == 1 and len(images.requests) == 1 and len(slack.files) == 1


async def test_the_images_api_failing_with_429_then_500_then_answering_gives_one_image(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.inject(Fault("rate_limit", retry_after=0.1), Fault("server_error"))
    bot = await start_bot(settings, slack)
    try:
        await slack.slash("a lighthouse")
        await eventually(lambda: len(slack.files) == 1, what="the image")
    finally:
        await stop_bot(bot)
    assert len(images.requests) == 3
    _, ledger = rows(settings.database_url)
    assert [charge.status for charge in ledger] == ["settled"]


@pytest.mark.parametrize(
    ("fault", "said", "error"),
    [
        ("stream_cut", "stopped before the image was finished", "ProviderIncomplete"),
        ("stream_blocked", "blocked by the model's safety system", "ModelBlocked"),  # an error event mid-stream
    ],
)
async def test_a_stream_that_ends_badly_is_reported_and_not_sent_again(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI, fault: str, said: str, error: str
) -> None:
    images.inject(Fault(fault))
    bot = await start_bot(dataclasses.replace(settings, image_streaming=True), slack)
    try:
        await slack.slash("a lighthouse")
        await eventually(lambda: any(said in t for t in thread_of_first_request(slack)), what="the message")
    finally:
        await stop_bot(bot)
    assert len(images.requests) == 1 and images.requests[0].fields.get("stream") in ("true", "True", True)
    jobs, ledger = rows(settings.database_url)
    assert [(job.status, job.error) for job in jobs] == [("failed", error)]
    assert [charge.status for charge in ledger] == ["released"]


async def test_a_streamed_image_is_posted_like_any_other(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    bot = await start_bot(dataclasses.replace(settings, image_streaming=True), slack)
    try:
        await slack.slash("a lighthouse --quality low")
        await eventually(lambda: len(slack.files) == 1, what="the image")
    finally:
        await stop_bot(bot)
    [posted] = slack.files.values()
    assert posted.content == images.outputs[0]
    _, ledger = rows(settings.database_url)
    assert ledger[0].status == "settled" and ledger[0].output_tokens > 0, "the stream's usage is charged"


async def test_shutdown_finishes_the_job_in_flight_and_leaves_the_queued_one_for_the_next_start(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    one_at_a_time = dataclasses.replace(durable(settings, concurrency=1), shutdown_grace_seconds=10)
    images.latency = 1
    bot = await start_bot(one_at_a_time, slack)
    await slack.slash("first lighthouse")
    await slack.slash("second lighthouse")
    await eventually(lambda: len(images.requests) == 1, what="the first model call")
    await stop_bot(bot)
    jobs, _ = rows(settings.database_url)
    assert [job.status for job in jobs] == ["done", "queued"]
    assert len(slack.files) == 1

    images.latency = 0
    bot = await start_bot(one_at_a_time, slack)
    try:
        await eventually(lambda: len(slack.files) == 2, what="the second image after the restart")
    finally:
        await stop_bot(bot)
    assert len(images.requests) == 2
    assert [job.status for job in rows(settings.database_url)[0]] == ["done", "done"]


async def test_over_the_images_per_minute_budget_requests_wait_and_see_their_place(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    roomy = dataclasses.replace(durable(settings, images_per_minute=1), limits=LimitSettings(concurrent_jobs=5))
    bot = await start_bot(roomy, slack)
    try:
        for name in ("first", "second", "third"):
            await slack.slash(f"{name} lighthouse")
        await eventually(lambda: len(slack.files) == 1, what="the first image")
        second, third = slack.messages[1:3]
        await eventually(lambda: "next in line" in json.dumps(second.blocks), what="the second's place")
        await eventually(lambda: "1 request ahead" in json.dumps(third.blocks), what="the third's place")
        await asyncio.sleep(0.5)
        assert len(images.requests) == 1, "the others wait for the budget instead of failing"
    finally:
        await stop_bot(bot)
    jobs, _ = rows(settings.database_url)
    assert [job.status for job in jobs] == ["done", "queued", "queued"]


async def test_postgresql_restarting_mid_run_loses_no_job(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI, postgres: PostgresServer, fresh_postgres: str
) -> None:
    images.latency = 1
    bot = await start_bot(dataclasses.replace(durable(settings), database_url=fresh_postgres), slack)
    try:
        await slack.slash("before the restart")
        await eventually(lambda: len(images.requests) == 1, what="the first model call")
        await asyncio.to_thread(postgres.stop)  # while the first job is at the model
        await asyncio.sleep(images.latency + 1)  # the model answers while the server is down
        await asyncio.to_thread(postgres.start)
        await slack.slash("after the restart")
        await eventually(lambda: len(slack.files) == 2, timeout=20, what="both images")
    finally:
        await stop_bot(bot)
    jobs, ledger = rows(fresh_postgres)
    assert [job.status for job in jobs] == ["done", "done"]
    assert [charge.status for charge in ledger] == ["settled", "settled"]
    assert len(images.requests) == 2


async def test_a_request_recorded_but_never_shown_is_answered_after_a_restart(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """The process stopped between the ack and queuing the job: the next start tells the
    requester in private (the channel never saw the request)."""
    ten_seconds_ago = datetime.now(UTC) - timedelta(seconds=10)
    held = LedgerRow(
        team_id=slack.team_id,
        user_id="U0ALICE",
        channel_id="C0GENERAL",
        model="gpt-image-1-mini",
        status="reserved",
        images=1,
        estimate_micros=11_000,
        created_at=ten_seconds_ago,
    )
    left_behind(settings.database_url, a_job(status="received", created_at=ten_seconds_ago), held)
    bot = await start_bot(durable(settings, lease_seconds=2), slack)
    try:
        await eventually(lambda: len(slack.messages) == 1, what="the message")
    finally:
        await stop_bot(bot)
    [told] = slack.messages
    assert told.channel == "U0ALICE", "a direct message: the request has no response_url on record"
    assert (told.text or "").startswith(":arrows_counterclockwise: Easel restarted")
    jobs, ledger = rows(settings.database_url)
    assert [(job.status, job.error) for job in jobs] == [("failed", "JobInterrupted")]
    assert [charge.status for charge in ledger] == ["released"], "its reservation is given back"
    assert images.requests == []


async def test_a_job_whose_lease_another_worker_took_stops_without_a_trace(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """As after a database outage longer than the lease: another replica holds the job now."""
    images.latency = 2
    bot = await start_bot(durable(settings, lease_seconds=0.6), slack)
    try:
        await slack.slash("a lighthouse")
        await eventually(lambda: len(images.requests) == 1, what="the model call")
        engine = create_engine(settings.database_url)
        with Session(engine) as session:
            [job] = session.exec(select(JobRow)).all()
            job.lease_owner, job.lease_expires_at = "another-replica", datetime.now(UTC) + timedelta(minutes=5)
            session.add(job)
            session.commit()
        engine.dispose()
        await asyncio.sleep(2.5)  # the model answers meanwhile
    finally:
        await stop_bot(bot)
    jobs, ledger = rows(settings.database_url)
    assert slack.files == {} and thread_of_first_request(slack) == [], "no image, no message from the old run"
    assert [(job.status, job.lease_owner) for job in jobs] == [("generating", "another-replica")]
    assert [charge.status for charge in ledger] == ["reserved"], "left for the new holder to settle"


async def test_a_request_posted_only_in_part_is_charged_only_for_what_was_posted(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.hold("upload", 0.5)  # time to break Slack between the first image and the second
    bot = await start_bot(durable(settings, retry_seconds=0.1, max_attempts=2), slack)
    try:
        await slack.slash("two lighthouses --n 2 --quality low")
        await eventually(lambda: len(slack.files) == 1, what="the first image")
        slack.fail_next("files.completeUploadExternal", error="internal_error", times=100)
        await eventually(
            lambda: any("1 of 2 images were posted" in t for t in thread_of_first_request(slack)), what="the message"
        )
    finally:
        await stop_bot(bot)
    jobs, [charge] = rows(settings.database_url)
    assert [(job.status, job.error) for job in jobs] == [("failed", "NotDelivered")]
    assert charge.status == "settled" and charge.images == 1
    assert charge.actual_micros is not None and 0 < charge.actual_micros < 8_000, "half of the two images' cost"


async def test_a_job_taken_up_again_and_again_is_given_up_with_a_message(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """A request that brought its process down every time must not do so forever."""
    left_behind(settings.database_url, a_job(status="generating", attempts=6, thread_ts="1700000000.000900"))
    bot = await start_bot(durable(settings), slack)
    try:
        await eventually(lambda: len(slack.messages) == 1, what="the message")
    finally:
        await stop_bot(bot)
    assert "Easel restarted" in (slack.messages[0].text or "") and slack.messages[0].thread_ts == "1700000000.000900"
    assert [(job.status, job.error) for job in rows(settings.database_url)[0]] == [("failed", "JobInterrupted")]
    assert images.requests == []


async def test_killed_while_reading_a_thread_the_acked_message_is_still_answered(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """Slack never sends an acked event again: the next process handles what this one left."""
    slack.hold("conversations.replies", 5)  # a mention in a thread Easel has not seen: it reads it first
    async with bot_process(tmp_path, slack, images) as first:
        await slack.say("@Easel a lighthouse at dusk", thread_ts="1699999999.000100")
        await eventually(lambda: bool(slack.calls_to("conversations.replies")), what="the thread read")
        await kill(first, slack)
    slack.hold("conversations.replies", 0)
    database = f"sqlite:///{tmp_path / 'easel.db'}"
    async with bot_process(tmp_path, slack, images):
        await eventually(lambda: len(slack.files) == 1, timeout=20, what="the image")
        await eventually(lambda: rows(database)[0][0].status == "done", what="the job to finish")
    [posted] = slack.files.values()
    assert posted.thread_ts == "1699999999.000100"
    assert len(images.requests) == 1 and len(rows(database)[0]) == 1


async def test_a_command_acked_by_a_process_that_then_died_is_started_by_the_next(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """As a process killed between acking /imagine and recording its job leaves it."""
    command = slack.slash_command("a lighthouse at dusk --quality low")
    schema.upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        session.add(
            ReceivedEvent(
                event_id=f"command:{command['trigger_id']}",
                received_at=datetime.now(UTC) - timedelta(seconds=10),
                payload=json.dumps(command),
            )
        )
        session.commit()
    engine.dispose()
    bot = await start_bot(durable(settings, lease_seconds=2), slack)
    try:
        await eventually(lambda: len(slack.files) == 1, what="the image")
        await asyncio.sleep(0.5)
    finally:
        await stop_bot(bot)
    assert slack.messages[0].text and slack.messages[0].text.startswith("<@U0ALICE> asked: a lighthouse at dusk")
    assert len(images.requests) == 1 and len(rows(settings.database_url)[0]) == 1
