"""Slack's rate limits, with the local Slack enforcing its published tiers: no request is lost
to a 429 or an outage, no job waits on its status line, and the ack calls no Web API.

No assert here is about time: the tests count Slack calls and outcomes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, select

from bot.config import JobSettings, LimitSettings, Settings
from bot.slack.pacing import IN_FLIGHT
from bot.storage.tables import JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.slow  # fifty requests at once, and waits out Slack's 429s

# The Web API calls of one normal one-image request: its message, the two upload calls, the
# final update (the upload itself goes to the URL Slack hands out, not to the Web API).
ONE_IMAGE = Counter(
    {"chat.postMessage": 1, "files.getUploadURLExternal": 1, "files.completeUploadExternal": 1, "chat.update": 1}
)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(tiers=True) as server:
        yield server


# No per-person limit may refuse a burst here: the burst is what is under test.
ROOMY = LimitSettings(images_per_day=1000, concurrent_jobs=100, requests_per_minute=100, workspace_usd_per_day=1000)


def quick(settings: Settings, **jobs: object) -> Settings:
    return dataclasses.replace(settings, limits=ROOMY, jobs=dataclasses.replace(JobSettings(poll_seconds=0.05), **jobs))


def request_calls(slack: FakeSlack) -> Counter[str]:
    """Web API calls made for requests (start-up's auth.test, Socket Mode's connection and the
    transfers to upload URLs aside)."""
    aside = {"auth.test", "apps.connections.open", "upload"}
    return Counter(call.method for call in slack.calls if call.method not in aside)


def jobs_and_charges(bot: RunningBot) -> tuple[list[JobRow], list[LedgerRow]]:
    with Session(bot.database()) as session:
        return list(session.exec(select(JobRow))), list(session.exec(select(LedgerRow)))


def is_done_with_buttons(slack: FakeSlack, channel: str, ts: str) -> bool:
    shown = json.dumps(slack.message(channel, ts).blocks)
    return "done" in shown and '"type": "actions"' in shown


async def test_a_normal_request_costs_four_slack_calls_and_its_ack_none(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    bot = await start_bot(quick(settings), slack)
    try:
        await slack.slash("a lighthouse --quality low")
        await eventually(lambda: len(slack.files) == 1, what="the image")
        request = slack.messages[0]
        await eventually(lambda: is_done_with_buttons(slack, "C0GENERAL", request.ts), what="the final update")
        await asyncio.sleep(0.2)  # anything else the job might still send
    finally:
        await stop_bot(bot)
    assert request_calls(slack) == ONE_IMAGE
    assert len(slack.calls_to("auth.test")) == 1, "the identity comes from start-up's auth.test"


async def test_a_cold_burst_is_authorized_without_calling_slack(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """Bolt's single-team authorization would call auth.test for each request of a first
    burst until the first answer came back."""
    bot = await start_bot(quick(settings), slack)
    try:
        payloads = [slack.slash_command(f"burst {i} --quality low", channel="C0GENERAL") for i in range(20)]
        envelopes = await asyncio.gather(*(slack.send_envelope("slash_commands", p) for p in payloads))
        await asyncio.gather(*(slack.wait_for_ack(e) for e in envelopes))
        assert len(slack.calls_to("auth.test")) == 1
    finally:
        await stop_bot(bot)


async def test_fifty_at_once_in_one_channel_all_get_their_image(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """chat.postMessage allows about one post a second in a channel: the requests' messages
    go out at once until Slack answers 429, then are paced; none is lost, and each gets its
    image."""
    bot = await start_bot(quick(settings), slack)
    try:
        payloads = [slack.slash_command(f"lighthouse {i} --quality low") for i in range(50)]
        envelopes = await asyncio.gather(*(slack.send_envelope("slash_commands", p) for p in payloads))
        await asyncio.gather(*(slack.wait_for_ack(e) for e in envelopes))
        await eventually(lambda: len(slack.files) == 50, timeout=180, what="fifty images")
        requests = [m for m in slack.messages if m.thread_ts is None]
        await eventually(
            lambda: all(is_done_with_buttons(slack, "C0GENERAL", m.ts) for m in requests),
            timeout=120,
            what="fifty final updates",
        )
        jobs, charges = jobs_and_charges(bot)
    finally:
        await stop_bot(bot)
    assert len(requests) == 50 and slack.responses == [], "no request failed"
    assert [job.status for job in jobs] == ["done"] * 50
    assert {charge.status for charge in charges} == {"settled"}
    assert {file.thread_ts for file in slack.files.values()} == {m.ts for m in requests}, "one image per thread"
    calls = request_calls(slack)
    limited = Counter(call.method for call in slack.limited)
    assert calls["chat.postMessage"] == 50 + limited["chat.postMessage"]
    # The first wave meets Slack's burst of three unpaced; the calls already out when the
    # first 429 comes back are the most that can be refused before the channel is paced.
    assert limited["chat.postMessage"] <= 2 * IN_FLIGHT, "a bounded first wave of 429s"
    assert sum(calls.values()) <= 5 * 50, "at most five calls per image, 429s counted"


async def test_the_final_update_with_its_buttons_arrives_through_429s(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """A job ends without waiting for its status line: with a short lease, a job that waited
    for its final update would see its cleared lease as lost and stop."""
    slack.fail_next("chat.update", retry_after=1, times=3)
    bot = await start_bot(quick(settings, lease_seconds=1), slack)
    try:
        await slack.slash("a lighthouse --quality low")
        await eventually(lambda: len(slack.files) == 1, what="the image")
        request = slack.messages[0]
        await eventually(lambda: is_done_with_buttons(slack, "C0GENERAL", request.ts), what="the final update")
        jobs, charges = jobs_and_charges(bot)
    finally:
        await stop_bot(bot)
    assert [job.status for job in jobs] == ["done"] and [c.status for c in charges] == ["settled"]
    assert len(slack.calls_to("chat.update")) == 4, "three answered 429, then the final state"
    assert len(slack.message("C0GENERAL", request.ts).updates) == 1


async def test_the_request_message_is_posted_through_429s(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.fail_next("chat.postMessage", retry_after=1, times=2)
    bot = await start_bot(quick(settings), slack)
    try:
        await slack.slash("a lighthouse --quality low")
        await eventually(lambda: len(slack.files) == 1, what="the image")
        jobs, _ = jobs_and_charges(bot)
    finally:
        await stop_bot(bot)
    [request] = [m for m in slack.messages if m.thread_ts is None]
    assert "a lighthouse" in (request.text or "")
    assert len(slack.calls_to("chat.postMessage")) == 3 and slack.responses == []
    assert jobs[0].status_ts == request.ts


async def test_a_slack_outage_tells_the_requester_in_private_and_refunds(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.fail_next("chat.postMessage", error="fatal_error", status=500, times=1000)
    bot = await start_bot(quick(settings, post_seconds=2), slack)
    try:
        await slack.slash("a lighthouse --quality low")
        await eventually(lambda: len(slack.responses) == 1, what="the private answer")
        jobs, charges = jobs_and_charges(bot)
    finally:
        await stop_bot(bot)
    reply = slack.responses[0]
    assert reply["response_type"] == "ephemeral" and "nothing was charged" in reply["text"]
    assert len(slack.calls_to("chat.postMessage")) >= 2, "the post was tried more than once"
    assert images.requests == [], "nothing is made for a request that could not be shown"
    assert [(job.status, job.error) for job in jobs] == [("failed", "NotAnnounced")]
    assert [charge.status for charge in charges] == ["released"]
