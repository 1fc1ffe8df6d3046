"""Bad input the durable-jobs issue lists that the other suites do not already cover: each gets
a clear message to the person who sent it, and nothing is lost or charged.

Covered elsewhere: unknown flags and bad options (test_imagine), unsupported, empty and
truncated files, a mask of the wrong size and more than 16 images (test_threads).
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bot.storage.tables import JobRow, LedgerRow
from tests.conftest import RunningBot, eventually
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

LONG_PROMPT = "a lighthouse " * 3077  # 40,001 characters; the model takes 32,000


def jobs_and_charges(bot: RunningBot) -> tuple[list[JobRow], list[LedgerRow]]:
    with Session(bot.database()) as session:
        return list(session.exec(select(JobRow))), list(session.exec(select(LedgerRow)))


async def test_a_40000_character_prompt_is_refused_with_the_limit(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    ack = await slack.slash(LONG_PROMPT)
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert "40,0" in ack.payload["text"] and "32,000" in ack.payload["text"]

    await slack.say(f"@Easel {LONG_PROMPT}")
    await eventually(lambda: any("32,000" in (m.text or "") for m in slack.messages), what="the reply")
    assert images.requests == [] and jobs_and_charges(bot) == ([], [])


async def test_a_thread_easel_cannot_read_gets_an_answer_in_private(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.add_channel("C0LOCKED", name="locked", bot_is_member=False)
    await slack.say("@Easel a lighthouse", channel="C0LOCKED", thread_ts="1699999999.000001")

    def direct() -> list[str]:
        return [m.text or "" for m in slack.messages if m.channel == "U0ALICE"]

    await eventually(lambda: any("/invite @Easel" in text for text in direct()), what="the direct message")
    jobs, charges = jobs_and_charges(bot)
    assert images.requests == [] and [job.error for job in jobs] == ["NotInChannel"]
    assert [charge.status for charge in charges] == ["released"]


@pytest.mark.slow
async def test_a_deleted_request_message_does_not_lose_the_image(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.latency = 0.5
    await slack.slash("a lighthouse")
    await eventually(lambda: len(images.requests) == 1, what="the model call")
    status = slack.messages[0]
    slack.delete(status.channel, status.ts)  # someone deletes it while the image renders

    await eventually(lambda: len(slack.files) == 1, what="the image")
    [posted] = slack.files.values()
    assert posted.channel == status.channel and posted.thread_ts is None, "in the channel, as the thread is gone"
    assert any("was deleted" in (m.text or "") for m in slack.messages)
    await eventually(lambda: [job.status for job in jobs_and_charges(bot)[0]] == ["done"], what="the job to end")
    assert [charge.status for charge in jobs_and_charges(bot)[1]] == ["settled"]


async def test_a_person_from_another_workspace_is_declined(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    payload = slack.message_event("@Easel a lighthouse", user="U0GUEST")
    payload["event"]["user_team"] = "T0OTHER"  # Slack Connect: a shared channel's visitor
    await slack.wait_for_ack(await slack.send_envelope("events_api", payload))
    await eventually(lambda: len(slack.ephemerals) == 1, what="the answer")
    answer = slack.ephemerals[0]
    assert answer["user"] == "U0GUEST" and "another one" in json.dumps(answer)
    assert images.requests == [] and jobs_and_charges(bot) == ([], [])
