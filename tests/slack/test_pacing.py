"""The shared rate-limit budget and the status lines, against the local Slack with its tiers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.slack.pacing import PER_CHANNEL, TIER_3, PacedWebClient, SlackPacer
from bot.slack.status_lines import StatusLines
from tests.conftest import eventually
from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(tiers=True) as server:
        yield server


@pytest.fixture
async def client(slack: FakeSlack) -> AsyncIterator[PacedWebClient]:
    async with aiohttp.ClientSession() as session:
        yield PacedWebClient(
            pacer=SlackPacer(), rate_limit_wait=30, token=slack.bot_token, base_url=slack.api_url, session=session
        )


def test_posts_in_one_channel_are_spaced_after_a_short_burst() -> None:
    pacer = SlackPacer(clock=lambda: 1000.0)  # time stands still: each turn is reserved at once
    burst = [pacer.reserve("chat.postMessage", "C1") for _ in range(PER_CHANNEL.burst)]
    assert burst == [0.0] * PER_CHANNEL.burst
    spacing = 60 / PER_CHANNEL.per_minute  # about a second
    assert pacer.reserve("chat.postMessage", "C1") == pytest.approx(spacing), "the fourth waits a second"
    assert pacer.reserve("chat.postMessage", "C1") == pytest.approx(2 * spacing), "the fifth two"
    assert pacer.reserve("chat.postMessage", "C2") == 0.0, "another channel has a budget of its own"
    assert [pacer.reserve("chat.update") for _ in range(TIER_3.burst)] == [0.0] * TIER_3.burst
    assert pacer.reserve("chat.update") == pytest.approx(60 / TIER_3.per_minute)
    assert pacer.reserve("auth.test") == 0.0, "a method without a tier here is paced by Slack's 429s alone"


async def test_a_429_pauses_its_method_for_every_caller(slack: FakeSlack, client: PacedWebClient) -> None:
    message = await client.chat_postMessage(channel="C0GENERAL", text="hi")
    slack.fail_next("chat.update", retry_after=1)
    first = asyncio.create_task(client.chat_update(channel="C0GENERAL", ts=message["ts"], text="first"))
    await eventually(lambda: client.pacer.limited == 1, what="the 429")
    others = [client.chat_update(channel="C0GENERAL", ts=message["ts"], text=f"update {i}") for i in range(2)]
    await asyncio.gather(first, *others)
    calls = slack.calls_to("chat.update")
    assert len(calls) == 4 and client.pacer.limited == 1
    assert min(call.at for call in calls[1:]) - calls[0].at >= 0.99, "nothing went out during Retry-After"


async def test_a_status_line_sends_only_the_latest_state(slack: FakeSlack, client: PacedWebClient) -> None:
    message = await client.chat_postMessage(channel="C0GENERAL", text="asked")
    lines = StatusLines(client, linger=0.5)
    lines.show("C0GENERAL", message["ts"], "generating", {"text": "generating"}, final=False)
    lines.show("C0GENERAL", message["ts"], "uploading", {"text": "uploading"}, final=False)
    lines.show("C0GENERAL", message["ts"], "done", {"text": "done"}, final=True)
    lines.show("C0GENERAL", message["ts"], "queued", {"text": "queued"}, final=False)  # too late: done stays
    await lines.drain(5)
    assert [update["text"] for update in slack.message("C0GENERAL", message["ts"]).updates] == ["done"]


async def test_an_intermediate_state_that_lasts_is_shown(slack: FakeSlack, client: PacedWebClient) -> None:
    message = await client.chat_postMessage(channel="C0GENERAL", text="asked")
    lines = StatusLines(client, linger=0.1)
    lines.show("C0GENERAL", message["ts"], "generating", {"text": "generating"}, final=False)
    await eventually(lambda: len(slack.message("C0GENERAL", message["ts"]).updates) == 1, what="generating")
    lines.show("C0GENERAL", message["ts"], "generating", {"text": "generating, later"}, final=False)
    lines.show("C0GENERAL", message["ts"], "done", {"text": "done"}, final=True)
    await lines.drain(5)
    assert [update["text"] for update in slack.message("C0GENERAL", message["ts"]).updates] == ["generating", "done"]


async def test_when_calls_queue_for_the_budget_only_final_states_go_out(
    slack: FakeSlack, client: PacedWebClient
) -> None:
    message = await client.chat_postMessage(channel="C0GENERAL", text="asked")
    for _ in range(TIER_3.burst):  # other messages' updates have taken the budget's burst
        client.pacer.reserve("chat.update")
    lines = StatusLines(client, linger=0)
    lines.show("C0GENERAL", message["ts"], "generating", {"text": "generating"}, final=False)
    await lines.drain(5)
    assert slack.message("C0GENERAL", message["ts"]).updates == [], "dropped: a later state will show"
    lines.show("C0GENERAL", message["ts"], "done", {"text": "done"}, final=True)
    await lines.drain(5)
    assert [update["text"] for update in slack.message("C0GENERAL", message["ts"]).updates] == ["done"]
