"""Input an attacker or a careless person sends: every one gets a clear answer on the surface
it came from, and nothing is generated, charged or shown that should not be."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.storage.tables import JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.large_png import solid_png

# `²` is what AltGr+2 types on a German keyboard: `str.isdigit` takes it, `int()` does not.
# `٣` is an Arabic-Indic three, which `int()` would quietly read as 3.
NOT_ASCII_DIGITS = ["²", "٣", "1²"]


@pytest.fixture
async def bot(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> AsyncIterator[RunningBot]:
    running = await start_bot(dataclasses.replace(settings, admin_user_ids=frozenset({"U0ADMIN"})), slack)
    yield running
    await stop_bot(running)


def nothing_made(bot: RunningBot, images: FakeImagesAPI) -> bool:
    with Session(bot.database()) as session:
        jobs, charges = session.exec(select(JobRow)).all(), session.exec(select(LedgerRow)).all()
    return images.requests == [] and not jobs and not charges


@pytest.mark.parametrize("digits", NOT_ASCII_DIGITS)
async def test_a_count_in_other_digits_is_refused_in_the_ack(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, digits: str
) -> None:
    ack = await slack.slash(f"a red fox --n {digits}")
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert f"`--n {digits}` is not a number of images" in ack.payload["text"]
    assert nothing_made(bot, images)


async def test_other_digits_in_a_message_get_an_answer(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.say("@Easel make it foggy --n ²")
    await eventually(lambda: any("I can't use that" in (m.text or "") for m in slack.messages), what="the answer")
    assert nothing_made(bot, images)


@pytest.mark.parametrize("action", ["show_provenance", "follow_up_regenerate", "open_edit", "delete_images"])
async def test_a_button_whose_value_is_not_a_number_is_acked_and_answered(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, action: str
) -> None:
    payload = slack.block_action(action, "²", message_ts="1700000000.000001")
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    await eventually(lambda: len(slack.responses) == 1, what="the answer")
    assert "went wrong" not in slack.responses[0]["text"]
    assert nothing_made(bot, images)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("admin limit @alice images=99999999999999999999999/day", "at most 1,000,000 images a day"),
        ("admin limit @alice usd=99999999999999999999999/month", "at most $1,000,000 a month"),
        ("admin limit @alice usd=1e309/month", "is not a limit"),
        ("admin limit @alice images=²/day", "is not a limit"),
        ("admin limit @alice images=" + "9" * 5000, "at most 1,000,000 images a day"),
    ],
)
async def test_admin_numbers_out_of_range_are_refused_in_the_ack(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, text: str, words: str
) -> None:
    ack = await slack.slash(text, user="U0ADMIN")
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert words in ack.payload["text"]

    await slack.slash("admin usage @alice", user="U0ADMIN")
    await eventually(lambda: len(slack.responses) == 1, what="the usage report")
    assert "images today: 0 of 50" in slack.responses[0]["text"], "the limits did not change"


async def first_image(slack: FakeSlack) -> str:
    """Run /imagine to the end; return the thread it made."""
    await slack.slash("a lighthouse --quality low")
    await eventually(lambda: len(slack.files) == 1, what="the first image")
    return next(m.ts for m in slack.messages if m.thread_ts is None and m.user == "U0BOT")


def bot_replies(slack: FakeSlack, thread: str) -> list[str]:
    return [m.text or "" for m in slack.thread("C0GENERAL", thread) if m.user == "U0BOT" and not m.files]


@pytest.mark.parametrize("name", ["huge.png", "mask.png"])
async def test_a_bomb_in_second_place_or_as_the_mask_is_named(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, name: str
) -> None:
    thread = await first_image(slack)
    photo = slack.host_file(
        solid_png(512, 512, mode="RGB"), name="photo.png", mimetype="image/png", channel="C0GENERAL"
    )
    bomb = slack.host_file(solid_png(30_000, 30_000, mode="1"), name=name, mimetype="image/png", channel="C0GENERAL")
    await slack.say("make it vintage", thread_ts=thread, files=[photo, bomb])
    await eventually(lambda: any(f"`{name}` is too large" in t for t in bot_replies(slack, thread)), what="refusal")
    assert [r.kind for r in images.requests] == ["generate"], "nothing was sent to the model"


async def test_one_edit_has_a_pixel_budget(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await first_image(slack)
    big = solid_png(6_000, 6_000, mode="RGB", fill=90)  # 36 megapixels each, 108 together
    files = [slack.host_file(big, name=f"photo{i}.png", mimetype="image/png", channel="C0GENERAL") for i in range(3)]
    await slack.say("combine these", thread_ts=thread, files=files)
    await eventually(lambda: any("megapixels together" in t for t in bot_replies(slack, thread)), what="refusal")
    assert [r.kind for r in images.requests] == ["generate"]


async def test_the_event_loop_keeps_running_while_a_heavy_attachment_is_checked(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """The bot runs in this test's event loop: a ticker beside it sees every moment the loop is
    held. Checking a 49-megapixel overlay for transparency decodes it; that must happen in the
    image pool, so the longest pause between ticks is a small part of the whole wait, however
    loaded the machine is (both stretch together)."""
    thread = await first_image(slack)
    photo = slack.host_file(
        solid_png(512, 512, mode="RGB"), name="photo.png", mimetype="image/png", channel="C0GENERAL"
    )
    overlay = solid_png(7_000, 7_000, mode="RGBA", fill=0)  # transparent, so it is taken as the mask
    heavy = slack.host_file(overlay, name="overlay.png", mimetype="image/png", channel="C0GENERAL")
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.005)

    ticking = asyncio.create_task(ticker())
    try:
        started = time.monotonic()
        await slack.say("add a moon", thread_ts=thread, files=[photo, heavy])
        await eventually(lambda: any("overlay.png" in t for t in bot_replies(slack, thread)), what="the answer")
        ended = time.monotonic()
    finally:
        ticking.cancel()
    assert "must be the same size" in bot_replies(slack, thread)[-1]
    window = [started, *(t for t in ticks if started < t < ended), ended]
    longest = max(later - earlier for earlier, later in itertools.pairwise(window))
    assert longest < (ended - started) / 4, f"the loop stood still {longest:.2f} s of {ended - started:.2f} s"
