"""Limits as people meet them in Slack: refusals before any model call, what is left in
every note, exact charges, strikes that pause and alert admins, admin commands, and one
allowance shared by two bot processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.config import LimitSettings, Settings
from bot.domain.pricing import cost_micros
from bot.providers.base import Usage
from bot.storage.tables import LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.e2e.test_http_mode import SIGNING_SECRET, free_port, signed, wait_until_healthy
from tests.fakes.environment import bot_environment
from tests.fakes.fake_images import FakeImagesAPI, Fault
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.slow  # bursts of requests, two bot processes on PostgreSQL

ROOMY = LimitSettings(concurrent_jobs=100, requests_per_minute=100)


@pytest.fixture
async def limited(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> AsyncIterator[RunningBot]:
    limits = dataclasses.replace(ROOMY, images_per_day=3, strikes_per_day=2)
    running = await start_bot(
        dataclasses.replace(settings, limits=limits, admin_user_ids=frozenset({"U0ADMIN"})), slack
    )
    yield running
    await stop_bot(running)


def ledger(bot: RunningBot) -> list[LedgerRow]:
    with Session(bot.database()) as session:
        return list(session.exec(select(LedgerRow)))


async def test_a_burst_gets_exactly_the_allowance_and_the_rest_are_told_why(
    limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    payloads = [slack.slash_command(f"lighthouse {i}") for i in range(10)]
    envelopes = await asyncio.gather(*(slack.send_envelope("slash_commands", p) for p in payloads))
    await asyncio.gather(*(slack.wait_for_ack(e) for e in envelopes))
    await eventually(lambda: len(slack.files) == 3 and len(slack.responses) == 7, what="3 images and 7 refusals")

    assert len(images.requests) == 3, "a refused request never reaches the model"
    for refusal in slack.responses:
        assert refusal["response_type"] == "ephemeral"
        assert "images today: 3 used of 3" in refusal["text"] and "resets <!date^" in refusal["text"]
        assert "Nothing was generated or charged" in refusal["text"]


async def test_every_note_says_what_is_left_and_the_charge_is_exact(
    limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a lighthouse")
    await eventually(lambda: len(slack.files) == 1, what="the image")
    blocks = next(iter(slack.files.values())).blocks or []
    assert "2 of 3 images left today" in str(blocks)

    await eventually(lambda: [row.status for row in ledger(limited)] == ["settled"], what="the settlement")
    (row,) = ledger(limited)
    usage = Usage(
        input_text_tokens=row.input_text_tokens,
        input_image_tokens=row.input_image_tokens,
        output_tokens=row.output_tokens,
    )
    assert row.output_tokens == 439 and row.actual_micros == cost_micros("gpt-image-2.5-flare", usage)
    assert row.estimate_micros >= row.actual_micros, "the estimate errs on the safe side"


async def test_a_reply_over_the_limit_gets_an_ephemeral_answer(
    limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a lighthouse --n 3")
    await eventually(lambda: len(slack.files) == 3, what="three images")
    thread = slack.messages[0].ts
    await slack.say("make it foggy", thread_ts=thread)
    await eventually(lambda: len(slack.ephemerals) == 1, what="the refusal")
    refusal = slack.ephemerals[0]
    assert refusal["user"] == "U0ALICE" and refusal["thread_ts"] == thread and "images today" in refusal["text"]
    assert [r.kind for r in images.requests] == ["generate"]


async def test_blocked_requests_are_free_and_too_many_pause_the_user_and_alert_admins(
    limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.inject(Fault("moderation"), Fault("moderation"))
    for attempt in range(2):
        await slack.slash(f"something refused {attempt}")
        await eventually(lambda n=attempt: len(images.requests) == n + 1, what="the blocked request")  # type: ignore[misc]
    await eventually(lambda: any(m.channel == "U0ADMIN" for m in slack.messages), what="the admin alert")
    alert = next(m for m in slack.messages if m.channel == "U0ADMIN")
    assert "<@U0ALICE> is paused" in (alert.text or "")
    await eventually(lambda: [r.status for r in ledger(limited)] == ["released", "released"], what="releases")

    await slack.slash("a lighthouse")
    await eventually(lambda: len(slack.responses) == 1, what="the refusal")
    assert "You are paused until" in slack.responses[0]["text"]
    assert len(images.requests) == 2


async def test_usage_shows_every_limit(limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    await slack.slash("a lighthouse")
    await eventually(lambda: len(slack.files) == 1, what="the image")
    await slack.slash("usage")
    await eventually(lambda: len(slack.responses) == 1, what="the usage reply")
    text = slack.responses[0]["text"]
    for line in (
        "images today: 1 of 3",
        "spend this month: $0.0",
        "jobs in flight:",
        "requests per minute:",
        "workspace spend today:",
    ):
        assert line in text
    assert slack.responses[0]["response_type"] == "ephemeral"


async def test_admin_commands(limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    await slack.slash("admin pause")
    await eventually(lambda: len(slack.responses) == 1, what="the refusal")
    assert "Only Easel's admins" in slack.responses[0]["text"]

    await slack.slash("admin limit @alice images=1/day usd=5/month", user="U0ADMIN")
    await eventually(lambda: len(slack.responses) == 2, what="the new limits")
    await slack.slash("admin pause", user="U0ADMIN")
    await eventually(lambda: len(slack.responses) == 3, what="the pause")
    assert "images today: 0 of 1" in slack.responses[1]["text"] and "$5.00" in slack.responses[1]["text"]
    await slack.slash("a lighthouse")
    await eventually(lambda: len(slack.responses) == 4, what="the paused answer")
    assert "An admin has paused Easel" in slack.responses[3]["text"]

    slack.workspace_admins.add("U0OWNER")  # a Slack workspace admin is an Easel admin too
    await slack.slash("admin resume", user="U0OWNER")
    await eventually(lambda: len(slack.responses) == 5, what="resumed")
    await slack.slash("a lighthouse")
    await eventually(lambda: len(slack.files) == 1, what="the image after resuming")
    await slack.slash("a second lighthouse")
    await eventually(lambda: len(slack.responses) == 6, what="the override's refusal")
    assert "1 used of 1" in slack.responses[5]["text"]

    await slack.slash("admin exempt @alice", user="U0ADMIN")
    await eventually(lambda: len(slack.responses) == 7, what="the exemption")
    await slack.slash("admin usage", user="U0ADMIN")
    await eventually(lambda: len(slack.responses) == 8, what="the workspace report")
    assert "<@U0ALICE>: 1 images" in slack.responses[7]["text"]
    await slack.slash("a third lighthouse")
    await eventually(lambda: len(slack.files) == 2, what="an exempt user's image")


@pytest.mark.parametrize(
    "text",
    [
        "admin limit alice images=1",
        "admin limit @alice images=lots",
        "admin limit @alice usd=5/day",
        "admin pause now",
    ],
)
async def test_bad_admin_commands_are_explained(
    limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI, text: str
) -> None:
    ack = await slack.slash(text, user="U0ADMIN")
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert ack.payload["text"].startswith(":warning: I can't use that")


async def test_two_bot_processes_on_postgresql_share_one_allowance(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI, fresh_postgres: str
) -> None:
    """HTTP mode behind a load balancer: requests land on either replica."""
    ports = [free_port(), free_port()]
    env = bot_environment(
        slack,
        images,
        database_url=fresh_postgres,
        socket_mode=False,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        LIMIT_USER_IMAGES_PER_DAY="5",
        LIMIT_USER_CONCURRENT_JOBS="100",
        LIMIT_USER_REQUESTS_PER_MINUTE="100",
    )
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env={**env, "PORT": str(port)},
            stderr=asyncio.subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            await wait_until_healthy(f"http://127.0.0.1:{port}")
        async with aiohttp.ClientSession() as session:

            async def send(index: int) -> int:
                body = urlencode(slack.slash_command(f"lighthouse {index}"))
                url = f"http://127.0.0.1:{ports[index % 2]}/slack/events"
                async with session.post(url, data=body, headers=signed(body)) as response:
                    return response.status

            statuses = await asyncio.gather(*(send(i) for i in range(14)))
        assert statuses == [200] * 14
        await eventually(lambda: len(slack.files) == 5 and len(slack.responses) == 9, timeout=30, what="5 + 9")
    finally:
        for replica in replicas:
            replica.terminate()
            await replica.wait()
    assert len(images.requests) == 5
    assert all("images today: 5 used of 5" in r["text"] for r in slack.responses)


async def test_the_home_tab_shows_usage_and_recent_images(
    limited: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a lighthouse --n 2")
    await eventually(lambda: "done" in str(slack.messages[0].blocks) if slack.messages else False, what="done")
    ack = await slack.wait_for_ack(await slack.send_envelope("events_api", slack.app_home_opened_event()))
    assert ack.latency < 3.0
    await eventually(lambda: len(slack.views) == 1, what="the published home view")
    published = slack.views[0]
    assert published["user_id"] == "U0ALICE" and published["view"]["type"] == "home"
    text = str(published["view"]["blocks"])
    assert "images today: 2 of 3" in text and "a lighthouse" in text
    accessories = [b["accessory"]["slack_file"]["id"] for b in published["view"]["blocks"] if "accessory" in b]
    assert sorted(accessories) == sorted(slack.files), "each recent image is shown from its Slack file"
    assert "open in its thread" in text
