"""Input an attacker or a careless person sends: every one gets a clear answer on the surface
it came from, and nothing is generated, charged or shown that should not be."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.storage.tables import JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

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
