"""Threaded iteration end to end: replies and attachments become edits of the right image,
with masks, conversions and every refusal a person can run into."""

from __future__ import annotations

import io
import json

import pillow_heif
import pytest
from PIL import Image
from sqlmodel import Session, col, select

from bot.storage.tables import ImageParent, ImageRow
from tests.conftest import RunningBot, eventually
from tests.fakes.fake_images import FakeImagesAPI, RecordedImageRequest
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import ForeignHost

pytestmark = pytest.mark.slow  # each test generates, then edits in the thread

pillow_heif.register_heif_opener()


def encode(size: tuple[int, int], image_format: str = "PNG", *, mode: str = "RGB") -> bytes:
    colour = {"RGB": (200, 120, 40), "RGBA": (200, 120, 40, 255), "CMYK": (10, 80, 200, 0), "P": 3}[mode]
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, image_format)  # type: ignore[arg-type]
    return buffer.getvalue()


def mask_png(size: tuple[int, int], hole: tuple[int, int, int, int]) -> bytes:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), hole)
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    return buffer.getvalue()


async def imagine(slack: FakeSlack, text: str = "a lighthouse at dusk") -> str:
    """Run /imagine to the end; return the thread it made."""
    uploads = len(slack.files)
    await slack.slash(text)
    await eventually(lambda: len(slack.files) == uploads + 1, what="the first image")
    return next(m.ts for m in slack.messages if m.thread_ts is None and m.user == "U0BOT" and m.ts not in _seen(slack))


def _seen(slack: FakeSlack) -> set[str]:
    return {m.thread_ts for m in slack.messages if m.thread_ts and m.files} - {
        f.thread_ts for f in list(slack.files.values())[-1:] if f.thread_ts
    }


async def next_upload(slack: FakeSlack, count: int) -> None:
    await eventually(lambda: len(slack.files) == count, what=f"upload number {count}")


def edits(images: FakeImagesAPI) -> list[RecordedImageRequest]:
    return [request for request in images.requests if request.kind == "edit"]


def thread_replies(slack: FakeSlack, thread_ts: str) -> list[str]:
    return [m.text or "" for m in slack.thread("C0GENERAL", thread_ts) if m.user == "U0BOT" and not m.files]


def note(slack: FakeSlack, index: int = -1) -> str:
    blocks = list(slack.files.values())[index].blocks or []
    return " ".join(element["text"] for block in blocks for element in block.get("elements", []))


def alpha_at(mask: bytes, point: tuple[int, int]) -> int:
    with Image.open(io.BytesIO(mask)) as image:
        return int(image.convert("RGBA").getpixel(point)[3])  # type: ignore[index]


async def test_a_reply_edits_the_latest_image(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    await slack.say("make it foggy", user="U0BOB", thread_ts=thread)
    await next_upload(slack, 2)

    (edit,) = edits(images)
    assert edit.fields["prompt"] == "make it foggy"
    assert [(f.field, f.content_type, f.data) for f in edit.files] == [("image", "image/png", images.outputs[0])]
    assert "input_fidelity" not in edit.fields, "Easel leaves input_fidelity to the model"
    result = list(slack.files.values())[-1]
    assert result.thread_ts == thread and result.content == images.outputs[1]
    assert "Image #2" in note(slack) and "|#1> by <@U0BOB>" in note(slack)
    assert f"/{next(iter(slack.files))}/" in note(slack), "#1 links to the first image's file"
    status = [m for m in slack.thread("C0GENERAL", thread) if m.text and "asked to edit" in m.text]
    assert status and "<@U0BOB>" in (status[0].text or "")
    await eventually(lambda: "done" in json.dumps(status[0].blocks), what="the edit's status: done")
    with Session(bot.database()) as session:
        child = session.exec(select(ImageRow).where(ImageRow.number == 2)).one()
        parent = session.exec(select(ImageParent).where(ImageParent.image_id == child.id)).one()
        first = session.get(ImageRow, parent.parent_id)
    assert first is not None and first.number == 1 and child.slack_file_id == result.id


async def test_hash_n_edits_that_version(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    await slack.say("make it foggy", thread_ts=thread)
    await next_upload(slack, 2)
    await slack.say("#1 make it darker", thread_ts=thread)
    await next_upload(slack, 3)

    last = edits(images)[-1]
    assert last.fields["prompt"] == "make it darker" and last.files[0].data == images.outputs[0]
    assert "|#1> by" in note(slack)


async def test_a_missing_version_is_explained(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    await slack.say("#7 make it darker", thread_ts=thread)
    await eventually(lambda: any("no image #7" in t for t in thread_replies(slack, thread)), what="the refusal")
    assert edits(images) == []


async def test_replies_in_one_thread_run_in_order(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    """The second reply waits for the first and edits its result: nobody forks the picture."""
    thread = await imagine(slack)
    images.latency = 0.3
    await slack.say("make it foggy", thread_ts=thread)
    await eventually(lambda: len(edits(images)) == 1, what="the first edit to be running")
    await slack.say("add a boat", user="U0BOB", thread_ts=thread)
    await next_upload(slack, 3)

    first, second = edits(images)
    assert first.fields["prompt"] == "make it foggy" and first.files[0].data == images.outputs[0]
    assert second.fields["prompt"] == "add a boat" and second.files[0].data == images.outputs[1]


async def test_an_attached_image_is_edited(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    logo = encode((1600, 900))
    file = slack.host_file(logo, name="logo.png", mimetype="image/png", channel="C0GENERAL")
    await slack.say("use the logo I attached", thread_ts=thread, files=[file])
    await next_upload(slack, 2)

    (edit,) = edits(images)
    assert edit.files[0].data == logo, "the attachment is sent as it was shared"
    assert edit.fields["size"] == "1536x1024", "the output follows the input's shape"
    download = slack.file_downloads[-1]
    assert download.headers["Authorization"] == f"Bearer {slack.bot_token}"
    assert "#2 (shared by <@U0ALICE>)" in note(slack)


async def test_several_attachments_make_one_multi_image_edit(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    thread = await imagine(slack)
    files = [
        slack.host_file(encode((512, 512)), name=f"part{i}.png", mimetype="image/png", channel="C0GENERAL")
        for i in range(3)
    ]
    await slack.say("combine these", thread_ts=thread, files=files)
    await next_upload(slack, 2)
    (edit,) = edits(images)
    assert [f.field for f in edit.files] == ["image[]"] * 3
    assert "mask" not in {f.field for f in edit.files}


async def test_an_attached_mask_is_sent_as_the_mask(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    photo = slack.host_file(encode((1024, 1024)), name="photo.png", mimetype="image/png", channel="C0GENERAL")
    mask = slack.host_file(
        mask_png((1024, 1024), (0, 0, 512, 1024)), name="sky.png", mimetype="image/png", channel="C0GENERAL"
    )
    await slack.say("only change the sky", thread_ts=thread, files=[photo, mask])
    await next_upload(slack, 2)

    (edit,) = edits(images)
    assert [f.field for f in edit.files] == ["image", "mask"]
    sent_mask = edit.files[1].data
    assert alpha_at(sent_mask, (10, 10)) == 0 and alpha_at(sent_mask, (900, 10)) == 255


async def test_a_mask_of_the_wrong_size_is_refused(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    photo = slack.host_file(encode((1024, 1024)), name="photo.png", mimetype="image/png", channel="C0GENERAL")
    mask = slack.host_file(
        mask_png((300, 300), (0, 0, 10, 10)), name="mask.png", mimetype="image/png", channel="C0GENERAL"
    )
    await slack.say("only change the sky", thread_ts=thread, files=[photo, mask])
    await eventually(lambda: any("same size" in t for t in thread_replies(slack, thread)), what="the refusal")
    assert edits(images) == []


@pytest.mark.parametrize(
    ("region", "inside", "outside"),
    [
        ("left", (100, 500), (900, 500)),
        ("top-right", (900, 100), (100, 900)),
        ("a1,b2", (500, 500), (900, 900)),
        ("bottom-third", (500, 900), (500, 100)),
    ],
)
async def test_a_region_becomes_a_mask(
    bot: RunningBot,
    slack: FakeSlack,
    images: FakeImagesAPI,
    region: str,
    inside: tuple[int, int],
    outside: tuple[int, int],
) -> None:
    thread = await imagine(slack)
    await slack.say(f"make it snow --region {region}", thread_ts=thread)
    await next_upload(slack, 2)

    (edit,) = edits(images)
    mask = next(f for f in edit.files if f.field == "mask")
    with Image.open(io.BytesIO(mask.data)) as image:
        assert (image.format, image.size) == ("PNG", (1024, 1024))
    assert len(mask.data) < 4 * 1024 * 1024
    assert alpha_at(mask.data, inside) == 0 and alpha_at(mask.data, outside) == 255
    assert f"region {region}" in note(slack)


async def test_a_bad_region_is_explained(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    await slack.say("make it snow --region d4", thread_ts=thread)
    await eventually(lambda: any("--region d4" in t for t in thread_replies(slack, thread)), what="the refusal")
    assert edits(images) == []


@pytest.mark.parametrize(
    ("name", "data", "mimetype"),
    [
        ("photo.heic", encode((800, 600), "HEIF"), "image/heic"),
        ("print.jpg", encode((800, 600), "JPEG", mode="CMYK"), "image/jpeg"),
        ("frame.gif", encode((800, 600), "GIF", mode="P"), "image/gif"),
        ("scan.tiff", encode((800, 600), "TIFF"), "image/tiff"),
    ],
    ids=["heic", "cmyk-jpeg", "gif", "tiff"],
)
async def test_other_formats_are_converted_to_png(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, name: str, data: bytes, mimetype: str
) -> None:
    thread = await imagine(slack)
    file = slack.host_file(data, name=name, mimetype=mimetype, channel="C0GENERAL")
    await slack.say("make it vintage", thread_ts=thread, files=[file])
    await next_upload(slack, 2)

    sent = edits(images)[0].files[0]
    assert sent.content_type == "image/png" and sent.filename and sent.filename.endswith(".png")
    with Image.open(io.BytesIO(sent.data)) as image:
        assert image.format == "PNG" and image.size == (800, 600) and image.mode in ("RGB", "RGBA")


async def test_exif_rotation_is_honoured(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (1, 2, 3)).save(buffer, "JPEG", exif=exif)
    file = slack.host_file(buffer.getvalue(), name="phone.jpg", mimetype="image/jpeg", channel="C0GENERAL")
    await slack.say("make it vintage", thread_ts=thread, files=[file])
    await next_upload(slack, 2)

    sent = edits(images)[0]
    with Image.open(io.BytesIO(sent.files[0].data)) as image:
        assert image.size == (600, 800)
    assert sent.fields["size"] == "1024x1536"


@pytest.mark.parametrize(
    ("name", "data", "mimetype", "words"),
    [
        ("notes.pdf", b"%PDF-1.4 not an image", "application/pdf", "`notes.pdf` is not an image"),
        ("fake.png", b"%PDF-1.4 not an image", "image/png", "`fake.png` is not an image"),
        ("broken.png", encode((800, 600))[:200], "image/png", "`broken.png` is not an image"),
        ("empty.png", b"", "image/png", "`empty.png` is empty"),
    ],
    ids=["not-an-image", "named-like-an-image", "truncated", "empty"],
)
async def test_unusable_files_are_named_and_the_bot_keeps_serving(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, name: str, data: bytes, mimetype: str, words: str
) -> None:
    thread = await imagine(slack)
    file = slack.host_file(data, name=name, mimetype=mimetype, channel="C0GENERAL")
    await slack.say("make it vintage", thread_ts=thread, files=[file])
    await eventually(lambda: any(words in t for t in thread_replies(slack, thread)), what="the refusal")
    assert edits(images) == []

    await slack.say("make it foggy", thread_ts=thread)
    await next_upload(slack, 2)
    assert edits(images)[0].files[0].data == images.outputs[0], "the next reply edits the latest good image"


async def test_a_decompression_bomb_is_refused(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    bomb = encode((12_000, 12_000), mode="RGB")
    file = slack.host_file(bomb, name="huge.png", mimetype="image/png", channel="C0GENERAL")
    await slack.say("make it vintage", thread_ts=thread, files=[file])
    await eventually(lambda: any("too large" in t for t in thread_replies(slack, thread)), what="the refusal")
    assert edits(images) == []


async def test_a_file_from_another_channel_is_refused(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    slack.add_channel("C0SECRET", name="secret", bot_is_member=True)
    secret = slack.host_file(encode((512, 512)), name="secret.png", mimetype="image/png", channel="C0SECRET")
    await slack.say("use this", thread_ts=thread, files=[secret])
    await eventually(lambda: any("another conversation" in t for t in thread_replies(slack, thread)), what="refusal")
    assert edits(images) == []
    assert slack.file_downloads == [], "nothing was downloaded"


async def test_a_foreign_file_host_never_sees_the_token(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    async with ForeignHost() as foreign:
        port = foreign.origin.rsplit(":", 1)[1]
        thread = await imagine(slack)
        file = slack.host_file(encode((64, 64)), name="evil.png", mimetype="image/png", channel="C0GENERAL")
        file["url_private_download"] = f"http://localhost:{port}/steal/evil.png"  # files.info now says this
        await slack.say("use this", thread_ts=thread, files=[file])
        await eventually(lambda: any("outside Slack" in t for t in thread_replies(slack, thread)), what="refusal")
    assert foreign.requests == [], "no request, let alone the token, went to the foreign host"
    assert edits(images) == []


async def test_quiet_replies_and_bot_messages_are_ignored(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    thread = await imagine(slack)
    await slack.say("// just chatting, not for Easel", thread_ts=thread)
    payload = slack.message_event("make it foggy", thread_ts=thread, bot_id="B0OTHER")
    await slack.wait_for_ack(await slack.send_envelope("events_api", payload))
    await slack.say("make it foggy", channel="C0GENERAL")  # not in a thread, no mention
    await slack.say("fine, make it foggy", thread_ts=thread)
    await next_upload(slack, 2)
    assert [r.fields["prompt"] for r in edits(images)] == ["fine, make it foggy"]


async def test_a_mention_with_an_image_edits_it(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    photo = encode((1024, 1536))
    file = slack.host_file(photo, name="me.png", mimetype="image/png", channel="C0GENERAL")
    event = await slack.say("@Easel make this a watercolor", files=[file])
    await next_upload(slack, 1)

    (edit,) = edits(images)
    assert edit.files[0].data == photo and edit.fields["prompt"] == "make this a watercolor"
    assert edit.fields["size"] == "1024x1536"
    assert next(iter(slack.files.values())).thread_ts == event["ts"]


async def test_a_mention_in_a_thread_easel_has_not_seen_edits_its_image(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    photo = encode((1024, 1024))
    file = slack.host_file(photo, name="team.png", mimetype="image/png", channel="C0GENERAL")
    root = await slack.say("our team photo", files=[file])
    await slack.say("@Easel make it look like a painting", user="U0BOB", thread_ts=root["ts"])
    await next_upload(slack, 1)

    assert slack.calls_to("conversations.replies"), "the thread's images came from Slack's history"
    (edit,) = edits(images)
    assert edit.files[0].data == photo


async def test_an_image_shared_without_text_waits_for_instructions(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    thread = await imagine(slack)
    logo = encode((1024, 1024), mode="RGB")
    file = slack.host_file(logo, name="logo.png", mimetype="image/png", channel="C0GENERAL")
    await slack.say("", thread_ts=thread, files=[file])

    def recorded() -> bool:
        with Session(bot.database()) as session:
            return len(session.exec(select(ImageRow)).all()) == 2

    await eventually(recorded, what="the shared image to be recorded")
    await slack.say("put the logo in the corner", thread_ts=thread)
    await next_upload(slack, 2)
    (edit,) = edits(images)
    assert edit.files[0].data == logo, "the latest image in the thread is the one a person shared"
    with Session(bot.database()) as session:
        numbers = [row.number for row in session.exec(select(ImageRow).order_by(col(ImageRow.number)))]
    assert numbers == [1, 2, 3]


async def test_a_file_not_ready_yet_is_fetched_again(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    logo = encode((1024, 1024))
    file = slack.host_file(logo, name="logo.png", mimetype="image/png", channel="C0GENERAL")
    slack.fail_next("download", times=2)
    await slack.say("use the logo", thread_ts=thread, files=[file])
    await next_upload(slack, 2)
    assert edits(images)[0].files[0].data == logo
    assert len(slack.file_downloads) == 3


async def test_an_oversized_image_is_downscaled(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    file = slack.host_file(encode((6000, 3000)), name="pano.png", mimetype="image/png", channel="C0GENERAL")
    await slack.say("make it dusk", thread_ts=thread, files=[file])
    await next_upload(slack, 2)
    with Image.open(io.BytesIO(edits(images)[0].files[0].data)) as image:
        assert image.size == (4096, 2048)


async def test_more_than_sixteen_images_are_refused(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await imagine(slack)
    tiny = encode((64, 64))
    files = [slack.host_file(tiny, name=f"{i}.png", mimetype="image/png", channel="C0GENERAL") for i in range(17)]
    await slack.say("combine all of these", thread_ts=thread, files=files)
    await eventually(lambda: any("at most 16" in t for t in thread_replies(slack, thread)), what="the refusal")
    assert edits(images) == []
