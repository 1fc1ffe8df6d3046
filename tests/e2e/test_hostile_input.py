"""Input an attacker or a careless person sends: every one gets a clear answer on the surface
it came from, and nothing is generated, charged or shown that should not be."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.storage.tables import JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import ForeignHost
from tests.fakes.large_png import solid_png

pytestmark = pytest.mark.slow  # many bot runs over hostile files and text

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


def forged_click(slack: FakeSlack, action: str, job_id: int, *, user: str, channel: str) -> dict[str, Any]:
    """A click as a leaked signing secret would allow: any button value, any channel."""
    return slack.block_action(action, str(job_id), user=user, channel=channel, message_ts="1700000000.000001")


async def private_result(slack: FakeSlack) -> tuple[int, str]:
    """Alice's image in a private channel that Eve is not in: its job id and thread."""
    slack.add_channel("C0PRIVATE", name="board", private=True, members=("U0ALICE", "U0BOB"))
    await slack.slash("the secret logo, draft 3 --quality low", channel="C0PRIVATE")
    await eventually(lambda: len(slack.files) == 1, what="the private image")
    [status] = [m for m in slack.messages if m.channel == "C0PRIVATE" and m.thread_ts is None]
    return 1, status.ts


@pytest.mark.parametrize("action", ["show_provenance", "follow_up_regenerate", "open_edit", "delete_images"])
async def test_a_forged_button_for_a_private_channel_shows_and_does_nothing(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, action: str
) -> None:
    job_id, _ = await private_result(slack)
    payload = forged_click(slack, action, job_id, user="U0EVE", channel="C0PRIVATE")
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    await eventually(lambda: len(slack.responses) == 1, what="the answer")
    assert "secret logo" not in json.dumps(slack.responses), "nothing of the private channel is shown"
    assert "No record" in slack.responses[0]["text"]
    assert len(images.requests) == 1 and len(slack.files) == 1 and slack.views == []


async def test_a_member_of_the_private_channel_may_see_its_provenance(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    job_id, _ = await private_result(slack)
    payload = forged_click(slack, "show_provenance", job_id, user="U0BOB", channel="C0PRIVATE")
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    await eventually(lambda: len(slack.responses) == 1, what="the chain")
    assert "secret logo" in json.dumps(slack.responses[0])


async def test_a_guest_outside_a_public_channel_may_not_see_it(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a public lighthouse --quality low")
    await eventually(lambda: len(slack.files) == 1, what="the image")
    slack.guests.add("U0GUEST")
    payload = forged_click(slack, "show_provenance", 1, user="U0GUEST", channel="C0GENERAL")
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    await eventually(lambda: len(slack.responses) == 1, what="the answer")
    assert "No record" in slack.responses[0]["text"] and "lighthouse" not in json.dumps(slack.responses)


async def test_a_forged_edit_dialog_for_a_private_thread_edits_nothing(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    _, private_thread = await private_result(slack)
    await slack.slash("a public lighthouse --quality low")  # Eve opens Edit… on an image she may see
    await eventually(lambda: len(slack.files) == 2, what="the public image")
    [public] = [m for m in slack.messages if m.channel == "C0GENERAL" and m.thread_ts is None]
    payload = slack.block_action("open_edit", "2", user="U0EVE", message_ts=public.ts)
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    await eventually(lambda: len(slack.views) == 1, what="the dialog")
    view = {
        **slack.views[0]["view"],
        "private_metadata": json.dumps({"channel": "C0PRIVATE", "thread": private_thread}),
    }
    submission = slack.view_submission(
        view,
        {
            "prompt": {"type": "plain_text_input", "value": "write EVE WAS HERE"},
            "images": {"type": "checkboxes", "selected_options": [{"value": "1"}]},
            "region": {"type": "checkboxes", "selected_options": []},
            "size": {"type": "static_select", "selected_option": {"value": "keep"}},
            "quality": {"type": "static_select", "selected_option": {"value": "low"}},
        },
        user="U0EVE",
    )
    ack = await slack.wait_for_ack(await slack.send_envelope("interactive", submission))
    assert ack.payload is not None and ack.payload["response_action"] == "errors"
    assert [r.kind for r in images.requests] == ["generate", "generate"]
    assert not any("EVE" in (m.text or "") for m in slack.messages if m.channel == "C0PRIVATE")


@pytest.fixture
async def elsewhere() -> AsyncIterator[ForeignHost]:
    """A server on Slack's own host (127.0.0.1, like the local Slack) but another port: another origin."""
    async with ForeignHost() as server:
        yield server


@pytest.mark.parametrize("route", ["download URL", "redirect"])
async def test_the_token_never_goes_to_another_port_of_slacks_host(
    bot: RunningBot,
    slack: FakeSlack,
    images: FakeImagesAPI,
    elsewhere: ForeignHost,
    route: str,
) -> None:
    base = elsewhere.origin
    thread = await first_image(slack)
    file = slack.host_file(solid_png(64, 64, mode="RGB"), name="logo.png", mimetype="image/png", channel="C0GENERAL")
    if route == "download URL":
        file["url_private_download"] = f"{base}/files-pri/logo.png"  # what files.info says now
    else:
        slack.download_redirects[file["id"]] = f"{base}/files-pri/logo.png"
    await slack.say("use this", thread_ts=thread, files=[file])
    await eventually(lambda: any("outside Slack" in t for t in bot_replies(slack, thread)), what="the refusal")
    assert not any("Authorization" in headers for headers in elsewhere.requests), "the bot token stayed home"
    assert [r.kind for r in images.requests] == ["generate"]


async def test_a_forged_provenance_command_for_a_private_channel_shows_nothing(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await private_result(slack)
    [file_id] = list(slack.files)
    await slack.slash(
        f"provenance <{slack.base_url}/files/U0BOT/{file_id}/easel.png>", user="U0EVE", channel="C0PRIVATE"
    )
    await eventually(lambda: len(slack.responses) == 1, what="the answer")
    assert "no record" in slack.responses[0]["text"] and "secret logo" not in json.dumps(slack.responses)
