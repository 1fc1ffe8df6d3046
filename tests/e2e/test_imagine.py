"""/imagine end to end: the real Bolt app over Socket Mode, the real slack_sdk and openai
clients, the local Slack and Images API servers, a real SQLite file."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from sqlmodel import Session, select

from bot.config import Secret, Settings
from bot.domain.people import Requester
from bot.storage.tables import ImageRow, JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI, Fault
from tests.fakes.fake_slack import FakeSlack


def note_text(blocks: list[dict] | None) -> str:
    assert blocks, "the upload carries no note"
    return " ".join(element["text"] for block in blocks for element in block.get("elements", []))


async def test_imagine_posts_the_exact_image_in_a_thread_with_its_note(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    ack = await slack.slash("a lighthouse at dusk, watercolor")

    assert ack.payload in (None, {}), "a valid request is acked silently"
    assert ack.latency < 3.0
    await eventually(lambda: len(slack.files) == 1, what="the image upload")

    parent = slack.messages[0]
    assert parent.channel == "C0GENERAL" and parent.thread_ts is None
    assert "<@U0ALICE> asked: a lighthouse at dusk, watercolor" in (parent.text or "")
    uploaded = next(iter(slack.files.values()))
    assert uploaded.thread_ts == parent.ts and uploaded.channel == "C0GENERAL"
    assert uploaded.content == images.outputs[0], "the upload must be the API's bytes, untouched"
    assert uploaded.title == "a lighthouse at dusk, watercolor"
    assert "a lighthouse at dusk, watercolor" in (uploaded.alt_txt or "")
    note = note_text(uploaded.blocks)
    for expected in (
        "<@U0ALICE>",
        "gpt-image-2.5-flare",
        "a lighthouse at dusk, watercolor",
        "1024x1024",
        "medium",
        "<!date^",
    ):
        assert expected in note
    await eventually(lambda: "done" in json.dumps(slack.message("C0GENERAL", parent.ts).blocks), what="status done")

    sent = images.requests[0].fields
    assert sent["model"] == "gpt-image-2.5-flare"
    assert sent["quality"] == "medium" and sent["size"] == "1024x1024" and sent["n"] == 1
    assert sent["safety_identifier"] == Requester("T0TEAM", "U0ALICE").safety_identifier
    assert "U0ALICE" not in json.dumps(sent) and "user" not in sent

    with Session(bot.database()) as session:
        job = session.exec(select(JobRow)).one()
        image = session.exec(select(ImageRow)).one()
    assert job.status == "done" and job.user_id == "U0ALICE" and job.thread_ts == parent.ts
    assert job.output_tokens > 0 and job.input_text_tokens > 0, "usage tokens are recorded with the job"
    assert image.slack_file_id == uploaded.id
    assert image.sha256 == hashlib.sha256(images.outputs[0]).hexdigest()


@pytest.mark.slow
async def test_options_reach_the_model_and_every_image_is_posted(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a city skyline at night --size landscape --quality=high --n 2 --format jpeg")
    await eventually(lambda: len(slack.files) == 2, what="two uploads")

    sent = images.requests[0].fields
    assert (sent["size"], sent["quality"], sent["n"], sent["output_format"]) == ("1536x1024", "high", 2, "jpeg")
    uploads = list(slack.files.values())
    assert [f.content for f in uploads] == images.outputs
    assert all(f.filename.endswith(".jpg") for f in uploads)
    assert "image 1 of 2" in note_text(uploads[0].blocks) and "image 2 of 2" in note_text(uploads[1].blocks)


@pytest.mark.slow
async def test_transparent_asks_for_a_transparent_background(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a paper-cut fox logo --transparent")
    await eventually(lambda: len(slack.files) == 1, what="the upload")
    assert images.requests[0].fields["background"] == "transparent"


async def test_bad_option_is_refused_in_the_ack_and_nothing_is_generated(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    ack = await slack.slash("a lighthouse --size huge")

    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert "--size huge" in ack.payload["text"] and "/imagine <prompt>" in ack.payload["text"]
    assert images.requests == [] and slack.calls_to("chat.postMessage") == []


async def test_edit_only_options_are_refused_for_a_new_image(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    for text in ("a lighthouse --region left", "#2 a lighthouse"):
        ack = await slack.slash(text)
        assert ack.payload is not None and "are for edits" in ack.payload["text"]
    assert images.requests == []


async def test_unknown_flag_is_quoted(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    ack = await slack.slash("a lighthouse --style noir")
    assert ack.payload is not None and "`--style`" in ack.payload["text"]
    assert images.requests == []


async def test_help_and_empty_command_show_examples(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    for text in ("help", ""):
        ack = await slack.slash(text)
        assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
        assert "/imagine a lighthouse at dusk" in ack.payload["text"] and "--quality" in ack.payload["text"]
    assert images.requests == []


async def test_channel_without_easel_gets_an_invite_hint_and_nothing_is_generated(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    slack.add_channel("C0SECRET", name="secret", bot_is_member=False)
    await slack.slash("a lighthouse", channel="C0SECRET")

    await eventually(lambda: len(slack.responses) == 1, what="the response_url reply")
    reply = slack.responses[0]
    assert reply["response_type"] == "ephemeral" and "/invite @Easel" in reply["text"]
    assert images.requests == []
    with Session(bot.database()) as session:
        [job] = session.exec(select(JobRow)).all()
        [charge] = session.exec(select(LedgerRow)).all()
    assert (job.status, job.error) == ("failed", "NotInChannel")
    assert charge.status == "released"


async def test_a_mention_generates_in_the_mention_thread(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    event = await slack.say("@Easel a lighthouse at dusk --quality low")
    await eventually(lambda: len(slack.files) == 1, what="the upload")

    mention_ts = event["ts"]
    assert next(iter(slack.files.values())).thread_ts == mention_ts
    assert images.requests[0].fields["prompt"] == "a lighthouse at dusk"
    assert images.requests[0].fields["quality"] == "low"


@pytest.mark.slow
async def test_a_retried_event_is_handled_once(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    payload = slack.message_event("@Easel a lighthouse")
    for attempt in range(3):
        envelope = await slack.send_envelope("events_api", payload, retry_attempt=attempt, retry_reason="timeout")
        await slack.wait_for_ack(envelope)
    await eventually(lambda: len(slack.files) == 1, what="the upload")
    assert len(images.requests) == 1


@pytest.mark.slow
async def test_azure_openai_serves_the_same_flow(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> None:
    azure = dataclasses.replace(
        settings,
        openai_api_key=None,
        openai_base_url=None,
        azure_openai_endpoint=images.azure_endpoint,
        azure_openai_api_key=Secret("az-test"),
        azure_openai_deployment="easel-images",
    )
    bot = await start_bot(azure, slack)
    try:
        ack = await slack.slash("a lighthouse --format webp")
        assert ack.payload is not None and "png, jpeg" in ack.payload["text"], "Azure returns no WebP"
        images.inject(Fault("content_filter"))
        await slack.slash("something Azure's content filter refuses")
        await eventually(
            lambda: bool(slack.messages) and len(slack.thread("C0GENERAL", slack.messages[0].ts)) == 1,
            what="the refusal",
        )
        await slack.slash("a lighthouse --format jpeg")
        await eventually(lambda: len(slack.files) == 1, what="the Azure upload")
    finally:
        await stop_bot(bot)

    assert [r.deployment for r in images.requests] == ["easel-images", "easel-images"]
    assert images.requests[0].headers["api-key"] == "az-test"
    blocked = slack.thread("C0GENERAL", slack.messages[0].ts)
    assert "blocked by the model's safety system" in (blocked[0].text or "")
    uploaded = next(iter(slack.files.values()))
    assert uploaded.content == images.outputs[0]
    assert "gpt-image-1-mini" in note_text(uploaded.blocks), "the note names the model, not the deployment"
