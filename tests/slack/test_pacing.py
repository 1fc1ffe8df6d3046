"""The shared rate-limit keys and the status lines: Slack's 429 is the signal, the published
tiers pace a key only after it. The rules run on an injected clock; the calls, against the
local Slack with its tiers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.slack.pacing import IN_FLIGHT, PER_CHANNEL, QUIET_SECONDS, TIER_3, PacedWebClient, SlackPacer
from bot.slack.status_lines import StatusLines
from tests.conftest import eventually
from tests.fakes.fake_slack import FakeSlack


class Clock:
    """Time that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(tiers=True) as server:
        server.add_channel("C0RANDOM")
        yield server


@pytest.fixture
async def client(slack: FakeSlack) -> AsyncIterator[PacedWebClient]:
    async with aiohttp.ClientSession() as session:
        yield PacedWebClient(
            pacer=SlackPacer(), rate_limit_wait=30, token=slack.bot_token, base_url=slack.api_url, session=session
        )


def test_calls_go_out_at_once_until_slack_says_no() -> None:
    pacer = SlackPacer(clock=Clock())
    assert [pacer.reserve("chat.postMessage", "C1") for _ in range(50)] == [0.0] * 50, "no burst of 3 assumed"
    assert [pacer.reserve("chat.update") for _ in range(100)] == [0.0] * 100, "no Tier 3 assumed"
    assert pacer.free("chat.update")


def test_a_429_pauses_only_its_key_then_paces_it_by_its_tier_until_a_quiet_minute() -> None:
    clock = Clock()
    pacer = SlackPacer(clock=clock)
    pacer.rate_limited("chat.postMessage", "C1", retry_after=2)
    assert pacer.reserve("chat.postMessage", "C1") == 2.0, "paused for Retry-After: the first turn comes then"
    assert pacer.reserve("chat.postMessage", "C2") == 0.0, "chat.postMessage is limited per channel"
    assert pacer.reserve("chat.update") == 0.0, "another method is not paused"

    clock.now += 2  # the pause is over: the channel's budget paces the next turns, no burst
    spacing = 60 / PER_CHANNEL.per_minute  # about a second
    turns = [pacer.reserve("chat.postMessage", "C1") for _ in range(3)]
    assert turns == pytest.approx([spacing, 2 * spacing, 3 * spacing])

    clock.now += QUIET_SECONDS - 1  # a 429 within the minute keeps the key paced
    pacer.rate_limited("chat.postMessage", "C1", retry_after=1)
    clock.now += 1 + QUIET_SECONDS - 0.5
    turns = [pacer.reserve("chat.postMessage", "C1") for _ in range(PER_CHANNEL.burst + 1)]
    assert turns[-1] > 0, "still paced (its burst of 3 at most): the last 429 was under a minute ago"
    clock.now += 1
    assert [pacer.reserve("chat.postMessage", "C1") for _ in range(20)] == [0.0] * 20, "a quiet minute: at once again"


def test_a_method_limited_for_the_workspace_is_paused_in_every_channel() -> None:
    clock = Clock()
    pacer = SlackPacer(clock=clock)
    pacer.rate_limited("chat.update", "C1", retry_after=1)
    assert not pacer.free("chat.update")
    clock.now += 1
    assert pacer.free("chat.update"), "the budget's first turn is free"
    assert pacer.reserve("chat.update", "C2") == 0.0
    assert pacer.reserve("chat.update", "C3") == pytest.approx(60 / TIER_3.per_minute)
    assert not pacer.free("chat.update"), "the next turn has to wait"
    pacer.rate_limited("auth.test", None, retry_after=3)
    assert pacer.reserve("auth.test") == 3.0, "a method without a tier here is still paused by a 429"
    clock.now += 3
    assert [pacer.reserve("auth.test") for _ in range(5)] == [0.0] * 5, "and has no budget to pace it after"


async def test_a_key_has_at_most_a_few_calls_out_at_once() -> None:
    """A burst meeting an unknown limit costs at most `IN_FLIGHT` 429s before the key is paced."""
    pacer = SlackPacer(clock=Clock())
    answered = asyncio.Event()
    sent: list[int] = []

    async def call(number: int) -> None:
        async with pacer.turn("chat.postMessage", "C1"):
            sent.append(number)
            await answered.wait()

    calls = [asyncio.create_task(call(n)) for n in range(IN_FLIGHT + 5)]
    other = asyncio.create_task(call_in_another_channel(pacer))
    await eventually(lambda: len(sent) == IN_FLIGHT and other.done(), what="the first wave")
    for _ in range(10):
        await asyncio.sleep(0)  # give the rest every chance to go out
    assert sent == list(range(IN_FLIGHT)), "the rest wait for an answer, in order"
    answered.set()
    await asyncio.gather(*calls)
    assert sent == list(range(IN_FLIGHT + 5))


async def call_in_another_channel(pacer: SlackPacer) -> None:
    async with pacer.turn("chat.postMessage", "C2"):
        pass


async def test_a_429_holds_back_the_callers_of_its_channel_only(slack: FakeSlack, client: PacedWebClient) -> None:
    slack.fail_next("chat.postMessage", retry_after=1)
    first = asyncio.create_task(client.chat_postMessage(channel="C0GENERAL", text="first"))
    await eventually(lambda: client.pacer.limited == 1, what="the 429")
    same = [client.chat_postMessage(channel="C0GENERAL", text=f"then {i}") for i in range(2)]
    elsewhere = await client.chat_postMessage(channel="C0RANDOM", text="elsewhere")
    await asyncio.gather(first, *same)
    calls = [call for call in slack.calls_to("chat.postMessage") if call.params["channel"] == "C0GENERAL"]
    assert len(calls) == 4 and client.pacer.limited == 1
    assert min(call.at for call in calls[1:]) - calls[0].at >= 0.99, "nothing went out there during Retry-After"
    assert slack.message("C0RANDOM", elsewhere["ts"]).text == "elsewhere"


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


async def test_a_final_state_does_not_wait_out_the_linger_of_the_one_it_replaces(
    slack: FakeSlack, client: PacedWebClient
) -> None:
    message = await client.chat_postMessage(channel="C0GENERAL", text="asked")
    lines = StatusLines(client, linger=60)
    lines.show("C0GENERAL", message["ts"], "generating", {"text": "generating"}, final=False)
    await asyncio.sleep(0.05)  # its sender now waits to see whether "generating" lasts
    lines.show("C0GENERAL", message["ts"], "done", {"text": "done"}, final=True)
    await lines.drain(5)
    assert [update["text"] for update in slack.message("C0GENERAL", message["ts"]).updates] == ["done"]


async def test_while_chat_update_is_rate_limited_only_final_states_go_out(
    slack: FakeSlack, client: PacedWebClient
) -> None:
    message = await client.chat_postMessage(channel="C0GENERAL", text="asked")
    client.pacer.rate_limited("chat.update", None, retry_after=1)  # another message's update met a 429
    lines = StatusLines(client, linger=0)
    lines.show("C0GENERAL", message["ts"], "generating", {"text": "generating"}, final=False)
    await lines.drain(5)
    assert slack.message("C0GENERAL", message["ts"]).updates == [], "dropped: a later state will show"
    lines.show("C0GENERAL", message["ts"], "done", {"text": "done"}, final=True)
    await lines.drain(5)
    assert [update["text"] for update in slack.message("C0GENERAL", message["ts"]).updates] == ["done"]
