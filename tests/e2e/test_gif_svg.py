"""`--gif` and `--svg` through the local Images API: real GIF and SVG files in the thread,
charged from `usage` (and the SVG author's `svg_usage`), the note saying they carry no C2PA
manifest; an account without the preview gets a clear message and is charged nothing."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from sqlmodel import Session, select

from bot.config import Settings
from bot.domain.pricing import cost_micros
from bot.providers.base import Usage
from bot.storage.tables import JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.e2e.test_failures import failure_reply
from tests.e2e.test_imagine import note_text
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.slow  # animations and SVGs generated and posted

MODEL = "gpt-image-2.6-flare"


@pytest.fixture
async def flare(settings: Settings, slack: FakeSlack) -> AsyncIterator[RunningBot]:
    running = await start_bot(dataclasses.replace(settings, image_model=MODEL, preview_partial_images=2), slack)
    yield running
    await stop_bot(running)


def ledger(bot: RunningBot) -> list[LedgerRow]:
    with Session(bot.database()) as session:
        return list(session.exec(select(LedgerRow)))


async def test_a_gif_is_posted_as_an_animation(flare: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    await slack.slash("a spinning paper lantern --gif --frames 4 --frame-ms 120 --quality low")
    await eventually(lambda: len(slack.files) == 1, what="the GIF")
    uploaded = next(iter(slack.files.values()))
    assert uploaded.content == images.outputs[0] and uploaded.filename.endswith(".gif")
    with Image.open(io.BytesIO(uploaded.content)) as gif:
        assert (gif.format, gif.n_frames, gif.info["duration"], gif.info["loop"]) == ("GIF", 4, 120, 0)
    sent = images.requests[0].fields
    assert (sent["output_format"], sent["frame_count"], sent["frame_duration_ms"]) == ("gif", 4, 120)
    assert "stream" not in sent and "partial_images" not in sent, "GIFs are never streamed or previewed"
    note = note_text(uploaded.blocks)
    assert "GIF" in note and "no manifest: this GIF carries none" in note

    await eventually(lambda: [r.status for r in ledger(flare)] == ["settled"], what="the settlement")
    (row,) = ledger(flare)
    assert row.output_tokens == 4 * 784, "each frame is an image's tokens"
    usage = Usage(input_text_tokens=row.input_text_tokens, output_tokens=row.output_tokens)
    assert row.actual_micros == cost_micros(MODEL, usage) <= row.estimate_micros
    with Session(flare.database()) as session:
        job = session.exec(select(JobRow)).one()
    assert (job.output_format, job.frame_count, job.frame_ms) == ("gif", 4, 120), "kept for a resumed job"


async def test_an_svg_is_posted_and_its_author_is_charged(
    flare: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a fox logo, flat --svg")
    await eventually(lambda: len(slack.files) == 1, what="the SVG")
    uploaded = next(iter(slack.files.values()))
    assert uploaded.content.startswith(b"<svg") and uploaded.filename.endswith(".svg")
    assert images.requests[0].fields["output_format"] == "svg"
    assert "SVG" in note_text(uploaded.blocks) and "this SVG carries none" in note_text(uploaded.blocks)

    await eventually(lambda: [r.status for r in ledger(flare)] == ["settled"], what="the settlement")
    (row,) = ledger(flare)
    assert row.output_tokens == 1756 + 1437 and row.input_text_tokens > 1572, "the SVG author's tokens count"
    usage = Usage(input_text_tokens=row.input_text_tokens, output_tokens=row.output_tokens)
    assert row.actual_micros == cost_micros(MODEL, usage) <= row.estimate_micros


@pytest.mark.parametrize("kind", ["gif", "svg"])
async def test_without_access_the_person_is_told_and_nothing_is_charged(
    flare: RunningBot, slack: FakeSlack, images: FakeImagesAPI, kind: str
) -> None:
    setattr(images, f"{kind}_access", False)
    await slack.slash(f"a fox logo --{kind}")
    reply = await failure_reply(slack)
    assert f"no access to {kind.upper()} output from `{MODEL}`" in reply and "nothing was charged" in reply
    assert images.outputs == [] and len(images.requests) == 1
    assert [r.status for r in ledger(flare)] == ["released"]


async def test_a_model_without_gifs_says_which_models_make_them(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    ack = await slack.slash("a lantern --gif")
    assert ack.payload is not None
    text = ack.payload["text"]
    assert "`gpt-image-2.5-flare` makes no GIF files" in text and "`gpt-image-2.6-flare`" in text
    assert images.requests == []


async def test_variations_of_an_svg_are_declined_in_words(
    flare: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """Variations asks for three images; an SVG comes one at a time (n=1, image_generate_params.py)."""
    await slack.slash("a fox logo --svg")
    await eventually(lambda: "done" in str(slack.messages[0].blocks) if slack.messages else False, what="done")
    message = slack.messages[0]
    found = next(
        element
        for block in message.blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "follow_up_variations"
    )
    payload = slack.block_action("follow_up_variations", found["value"], message_ts=message.ts)
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    await eventually(lambda: bool(slack.responses), what="the answer")
    assert "an SVG is made one at a time" in str(slack.responses[-1])
    assert len(images.requests) == 1, "nothing more was asked of the model"
