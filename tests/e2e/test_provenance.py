"""Provenance as posted: the exact bytes, their C2PA state checked for real in each shape real
files come in (fresh, a chain, an expired or self-made certificate, altered, remote, missing),
as outputs and as attached inputs, and a three-step lineage."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from sqlmodel import Session, select

from bot.config import Settings
from bot.storage.tables import ImageParent, ImageRow, JobRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.c2pa_signing import (
    SELF_MADE_OPENAI,
    alter_content,
    chatgpt_chain,
    expired_files,
    expired_timestamped_files,
    identity,
    plain_image,
    sign,
    sign_remote,
    spoil_signature,
    truncate_manifest,
    trust_anchor,
)
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.slow  # signs and checks C2PA manifests across chains of generated images

UNVERIFIED = "claims to be signed by OpenAI (test) (not verified)"
CLAIMED = "claims to be signed by OpenAI (test)"


def note(slack: FakeSlack, index: int = -1) -> str:
    blocks = list(slack.files.values())[index].blocks or []
    return " ".join(element["text"] for block in blocks for element in block.get("elements", []))


async def first_image(slack: FakeSlack) -> str:
    await slack.slash("a lighthouse at dusk")
    await eventually(lambda: len(slack.files) == 1, what="the image")
    return slack.messages[0].ts


async def test_a_signed_output_is_posted_untouched_and_reported_valid(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await first_image(slack)
    uploaded = next(iter(slack.files.values()))
    assert hashlib.sha256(uploaded.content).digest() == hashlib.sha256(images.outputs[0]).digest()
    assert f"C2PA:* intact; {UNVERIFIED}; AI-made with gpt-image-2.5-flare" in note(slack)
    await eventually(lambda: "done" in str(slack.messages[0].blocks), what="done")
    with Session(bot.database()) as session:
        row = session.exec(select(ImageRow)).one()
    assert row.c2pa == f"intact; {UNVERIFIED}; AI-made with gpt-image-2.5-flare"
    assert row.sha256 == hashlib.sha256(uploaded.content).hexdigest()


async def test_an_altered_output_is_reported_altered(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    images.tamper_outputs = True
    await first_image(slack)
    assert "C2PA:* ALTERED: the image no longer matches its manifest" in note(slack)
    assert "signed by" not in note(slack), "the claims of an altered manifest are not repeated"


def _expired(data: bytes, mime_type: str, model: str) -> bytes:
    return expired_files()[mime_type][0]


def _expired_chain(data: bytes, mime_type: str, model: str) -> bytes:
    return expired_files()[mime_type][1]


def _chain(data: bytes, mime_type: str, model: str) -> bytes:
    return chatgpt_chain(data, mime_type, model="GPT-4o")


def _self_made(data: bytes, mime_type: str, model: str) -> bytes:
    return sign(data, mime_type, model=model, signer=identity(SELF_MADE_OPENAI))


def _spoiled(data: bytes, mime_type: str, model: str) -> bytes:
    return spoil_signature(sign(data, mime_type, model=model))


def _truncated(data: bytes, mime_type: str, model: str) -> bytes:
    return truncate_manifest(sign(data, mime_type, model=model))


@pytest.mark.parametrize(
    ("shape", "output_format", "expected"),
    [
        (_chain, "png", f"C2PA:* intact; {UNVERIFIED}; AI-made with GPT-4o ({CLAIMED}), opened in ChatGPT"),
        (_expired, "jpeg", f"C2PA:* intact, certificate expired; {UNVERIFIED}; AI-made with gpt-image-1-mini"),
        (
            _expired_chain,
            "webp",
            f"C2PA:* intact, certificate expired; {UNVERIFIED}; AI-made with GPT-4o ({CLAIMED}), opened in ChatGPT",
        ),
        (_self_made, "png", "C2PA:* intact; claims to be signed by OpenAI (not verified); AI-made with"),
        (_spoiled, "jpeg", "C2PA:* ALTERED: its signature does not match"),
        (_truncated, "webp", "C2PA:* could not be checked: damaged or unreadable manifest"),
    ],
)
async def test_each_shape_of_output_gets_its_own_note(
    bot: RunningBot,
    slack: FakeSlack,
    images: FakeImagesAPI,
    shape: Callable[[bytes, str, str], bytes],
    output_format: str,
    expected: str,
) -> None:
    images.credentials_shape = shape
    await slack.slash(f"a lighthouse at dusk --format {output_format}")
    await eventually(lambda: len(slack.files) == 1, what="the image")
    assert expected in note(slack)
    assert expected.startswith("C2PA:* ALTERED") or "ALTERED" not in note(slack)


async def test_an_output_with_a_remote_manifest_is_not_fetched(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """The file names a URL on a local server; Easel must send it nothing."""
    requests: list[str] = []

    async def record(request: web.Request) -> web.Response:
        requests.append(request.path)
        return web.Response(body=b"")

    app = web.Application()
    app.router.add_get("/{name}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    images.credentials_shape = lambda data, mime, model: sign_remote(
        data, mime, model=model, url=f"http://127.0.0.1:{port}/manifest.c2pa"
    )[0]
    try:
        await first_image(slack)
    finally:
        await runner.cleanup()
    assert "could not be checked: its manifest is stored remotely, and remote manifests are not fetched" in note(slack)
    assert requests == []


async def test_an_output_without_a_manifest_claims_none(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.sign_outputs = False
    await first_image(slack)
    assert "C2PA:* no manifest" in note(slack) and "signed by" not in note(slack)


async def test_each_input_states_its_credentials(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    thread = await first_image(slack)
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), (5, 6, 7)).save(buffer, "PNG")
    plain = buffer.getvalue()
    inputs = {
        "chatgpt.png": (chatgpt_chain(plain, "image/png"), f"AI-made with GPT-4o ({CLAIMED}), opened in ChatGPT"),
        "expired.jpg": (expired_files()["image/jpeg"][1], "intact, certificate expired;"),
        "altered.png": (alter_content(sign(plain, "image/png", model="m")), "ALTERED: the image no longer"),
        "spoiled.jpg": (  # a PNG's chunk checksum would break too, and the file be refused as damaged
            spoil_signature(sign(plain_image("JPEG", 512), "image/jpeg", model="m")),
            "ALTERED: its signature does not",
        ),
        "forged.png": (
            sign(plain, "image/png", model="GPT-4o", signer=identity(SELF_MADE_OPENAI)),
            "claims to be signed by OpenAI (not verified); AI-made with GPT-4o",
        ),
        "remote.png": (
            sign_remote(plain, "image/png", model="m", url="http://127.0.0.1:9/m.c2pa")[0],
            "could not be checked: its manifest is stored remotely",
        ),
    }
    for index, (name, (data, expected)) in enumerate(inputs.items(), start=1):
        mimetype = "image/jpeg" if name.endswith(".jpg") else "image/png"
        person = ("U0ALICE", "U0BOB")[index % 2]  # each stays within six requests a minute
        file = slack.host_file(data, name=name, mimetype=mimetype, channel="C0GENERAL", user=person)
        await slack.say("make it foggy", user=person, thread_ts=thread, files=[file])
        await eventually(lambda n=index: len(slack.files) == n + 1, what=f"the edit of {name}")  # type: ignore[misc]
        assert f"Inputs' C2PA:* #{2 * index} " in note(slack) and expected in note(slack), name
    photo = slack.host_file(plain, name="photo.png", mimetype="image/png", channel="C0GENERAL", user="U0BOB")
    await slack.say("make it foggy", user="U0BOB", thread_ts=thread, files=[photo])
    await eventually(lambda: len(slack.files) == len(inputs) + 2, what="the edit of a plain photo")
    assert "(shared by <@U0BOB>)" in note(slack) and "Inputs' C2PA" not in note(slack), "no manifest: no claim"


async def test_a_three_step_chain_keeps_people_and_parents(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    thread = await first_image(slack)
    for step, person in enumerate(("U0BOB", "U0CAROL"), start=2):
        await slack.say(f"step {step}", user=person, thread_ts=thread)
        await eventually(lambda n=step: len(slack.files) == n, what=f"image {step}")  # type: ignore[misc]
    await eventually(lambda: str(slack.messages[0].blocks).count("done") >= 1, what="done")

    def chain() -> list[tuple[int, str, str, list[int]]]:
        with Session(bot.database()) as session:
            rows = session.exec(select(ImageRow).order_by(ImageRow.number)).all()  # type: ignore[arg-type]
            result = []
            for row in rows:
                job = session.get(JobRow, row.job_id)
                parents = session.exec(select(ImageParent).where(ImageParent.image_id == row.id)).all()
                numbers = [p.number for p in (session.get(ImageRow, link.parent_id) for link in parents) if p]
                result.append((row.number, row.user_id, job.prompt if job else "", numbers))
            return result

    await eventually(lambda: len(chain()) == 3 and chain()[2][3] == [2], what="the recorded chain")
    assert chain() == [
        (1, "U0ALICE", "a lighthouse at dusk", []),
        (2, "U0BOB", "step 2", [1]),
        (3, "U0CAROL", "step 3", [2]),
    ]
    assert "|#2> by <@U0CAROL>" in note(slack) and "edited from <http" in note(slack), "parents link to their files"


async def test_the_provenance_button_and_command_show_the_whole_chain(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    thread = await first_image(slack)
    await slack.say("add a boat", user="U0BOB", thread_ts=thread)
    await eventually(lambda: len(slack.files) == 2, what="the edit")
    edit_status = next(m for m in slack.thread("C0GENERAL", thread) if "asked to edit" in (m.text or ""))
    await eventually(lambda: "show_provenance" in str(edit_status.blocks), what="the Provenance button")
    button = next(
        element
        for block in edit_status.blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "show_provenance"
    )

    click = slack.block_action(button["action_id"], button["value"], user="U0CAROL", message_ts=edit_status.ts)
    ack = await slack.wait_for_ack(await slack.send_envelope("interactive", click))
    assert ack.latency < 3.0
    await eventually(lambda: len(slack.responses) == 1, what="the chain")
    chain = slack.responses[0]
    assert chain["response_type"] == "ephemeral" and "Provenance of image #2" in chain["text"]
    rendered = str(chain["blocks"])
    assert "edited from #1 for <@U0BOB>" in rendered and "generated for <@U0ALICE>" in rendered
    assert "> add a boat" in rendered and "> a lighthouse at dusk" in rendered
    assert rendered.count(f"C2PA: intact; {UNVERIFIED}") == 2
    row = chain["blocks"][1]
    pictures = [element["slack_file"]["id"] for element in row["elements"] if element["type"] == "image"]
    assert pictures == list(reversed(slack.files)), "the files already in Slack, newest first"

    second = list(slack.files)[1]
    await slack.slash(f"provenance <{slack.base_url}/files/U0BOT/{second}/easel.png>", user="U0CAROL")
    await eventually(lambda: len(slack.responses) == 2, what="the command's chain")
    assert "Provenance of image #2" in slack.responses[1]["text"]

    slack.add_channel("C0OTHER", name="other")
    await slack.slash(f"provenance {second}", channel="C0OTHER")
    await eventually(lambda: len(slack.responses) == 3, what="the refusal")
    assert "no record of that image in this conversation" in slack.responses[2]["text"]


async def test_the_view_shows_an_attached_inputs_credentials_and_no_webp_picture(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    thread = await first_image(slack)
    shared = slack.host_file(
        chatgpt_chain(plain_image("WEBP", 512), "image/webp"),
        name="chatgpt.webp",
        mimetype="image/webp",
        channel="C0GENERAL",
    )
    await slack.say("make it foggy", thread_ts=thread, files=[shared])
    await eventually(lambda: len(slack.files) == 2, what="the edit")
    edit = list(slack.files)[1]
    await slack.slash(f"provenance {edit}")
    await eventually(lambda: len(slack.responses) == 1, what="the chain")
    view = slack.responses[0]["blocks"]
    shared_step = next(block for block in view if "shared by <@U0ALICE>" in block.get("text", {}).get("text", ""))
    assert f"AI-made with GPT-4o ({CLAIMED}), opened in ChatGPT" in shared_step["text"]["text"]
    assert "accessory" not in shared_step and "no preview" in shared_step["text"]["text"], "slack_file takes no WebP"
    assert shared["id"] not in str(view[1])


async def test_the_records_export_as_json_lines(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, tmp_path: Path
) -> None:
    thread = await first_image(slack)
    await slack.say("add a boat", user="U0BOB", thread_ts=thread)
    await eventually(lambda: len(slack.files) == 2, what="the edit")
    edit_status = next(m for m in slack.thread("C0GENERAL", thread) if "asked to edit" in (m.text or ""))
    await eventually(lambda: "done" in str(edit_status.blocks), what="the edit recorded")

    env = {"PATH": os.environ["PATH"], "DATABASE_URL": bot.settings.database_url}
    out = tmp_path / "audit.jsonl"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "provenance",
        "export",
        "--channel",
        "C0GENERAL",
        "--since",
        "2026-01-01",
        "-o",
        str(out),
        cwd=tmp_path,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["number"], r["user"], r["parents"]) for r in records] == [(1, "U0ALICE", []), (2, "U0BOB", [1])]
    assert records[1]["job"]["prompt"] == "add a boat" and records[1]["job"]["model"] == "gpt-image-2.5-flare"
    assert [r["sha256"] for r in records] == [hashlib.sha256(f.content).hexdigest() for f in slack.files.values()]
    assert records[0]["c2pa"] == f"intact; {UNVERIFIED}; AI-made with gpt-image-2.5-flare" and records[0]["permalink"]

    bad = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "provenance",
        "export",
        "--since",
        "last week",
        cwd=tmp_path,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await bad.communicate()
    assert bad.returncode == 2 and "--since must be an ISO date" in err.decode()


async def test_the_remote_check_is_off_by_default_and_reported_when_on(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    bot = await start_bot(dataclasses.replace(settings, provenance_remote_check=True), slack)
    try:
        await first_image(slack)
    finally:
        await stop_bot(bot)
    assert "OpenAI's check: C2PA detected (valid), SynthID detected" in note(slack)
    assert [check.detected for check in images.provenance_checks] == [True]


async def test_no_remote_check_unless_asked(bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI) -> None:
    await first_image(slack)
    assert images.provenance_checks == [] and "OpenAI's check" not in note(slack)


async def test_a_trust_list_marks_outputs_trusted(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(trust_anchor())
    configured = Settings.from_environ({"C2PA_TRUST_ANCHORS": str(anchors)})
    bot = await start_bot(dataclasses.replace(settings, c2pa_trust_anchors=configured.c2pa_trust_anchors), slack)
    try:
        await first_image(slack)
    finally:
        await stop_bot(bot)
    assert "C2PA:* intact; signed by OpenAI (test) (verified); AI-made with gpt-image-2.5-flare" in note(slack)


async def test_a_time_stamp_from_a_trusted_tsa_keeps_an_expired_signature_intact(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    files, tsa_root = expired_timestamped_files()
    images.credentials_shape = lambda data, mime, model: files[mime]
    bot = await start_bot(dataclasses.replace(settings, c2pa_trust_anchors=tsa_root), slack)
    try:
        await first_image(slack)
    finally:
        await stop_bot(bot)
    assert f"C2PA:* intact; {UNVERIFIED}; AI-made with gpt-image-1-mini" in note(slack)
