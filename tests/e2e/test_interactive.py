"""Interactive iteration end to end: buttons on results, the Edit… dialog, progress, the Home
tab's defaults and the first-mention hello, through the local Slack's interactive envelopes."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.config import LimitSettings, Settings
from bot.storage.tables import ImageRow, JobRow, LedgerRow
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack, PostedMessage

pytestmark = pytest.mark.slow  # a generated image before each click, some through several requests


@pytest.fixture
async def bot(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> AsyncIterator[RunningBot]:
    roomy = LimitSettings(concurrent_jobs=10, requests_per_minute=100)
    running = await start_bot(dataclasses.replace(settings, limits=roomy, admin_user_ids=frozenset({"U0ADMIN"})), slack)
    yield running
    await stop_bot(running)


async def first_result(slack: FakeSlack, text: str = "a lighthouse at dusk --quality low") -> PostedMessage:
    await slack.slash(text)
    await eventually(lambda: "done" in str(slack.messages[0].blocks) if slack.messages else False, what="done")
    return slack.messages[0]


def button(message: PostedMessage, action_id: str) -> dict[str, Any]:
    return next(
        element
        for block in message.blocks or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == action_id
    )


async def click(
    slack: FakeSlack, message: PostedMessage, action_id: str, *, user: str = "U0ALICE", **extra: Any
) -> float:
    found = button(message, action_id)
    payload = slack.block_action(action_id, found["value"], user=user, message_ts=message.ts, **extra)
    ack = await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    return ack.latency


def rows(bot: RunningBot) -> tuple[list[JobRow], list[LedgerRow], list[ImageRow]]:
    with Session(bot.database()) as session:
        return (
            list(session.exec(select(JobRow).order_by(JobRow.id))),  # type: ignore[arg-type]
            list(session.exec(select(LedgerRow).order_by(LedgerRow.id))),  # type: ignore[arg-type]
            list(session.exec(select(ImageRow).order_by(ImageRow.id))),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("action", "expect"),
    [
        ("follow_up_variations", {"n": "3", "quality": "low", "size": "1024x1024"}),
        ("follow_up_regenerate", {"n": "1", "quality": "low", "size": "1024x1024"}),
        ("follow_up_hd", {"n": "1", "quality": "high", "size": "1024x1024"}),
        ("follow_up_square", {"size": "1024x1024"}),
        ("follow_up_portrait", {"size": "1024x1536"}),
        ("follow_up_landscape", {"size": "1536x1024"}),
    ],
)
async def test_each_one_click_button_makes_a_new_request_in_the_thread(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI, action: str, expect: dict[str, str]
) -> None:
    result = await first_result(slack)
    latency = await click(slack, result, action)
    assert latency < 3.0
    await eventually(lambda: len(images.requests) == 2, what="the second model call")
    again = images.requests[1]
    assert again.fields["prompt"] == "a lighthouse at dusk" and again.kind == "generate"
    for field, value in expect.items():
        assert str(again.fields[field]) == value, field
    expected_files = 1 + int(expect.get("n", "1"))
    await eventually(lambda: len(slack.files) == expected_files, what="the new images")
    assert all(file.thread_ts == result.ts for file in slack.files.values()), "in the same thread"
    await eventually(lambda: [j.status for j in rows(bot)[0]] == ["done", "done"], what="both done")
    assert [c.status for c in rows(bot)[1]] == ["settled", "settled"]


async def test_a_click_by_someone_else_is_their_request_and_charged_to_them(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    result = await first_result(slack)
    await click(slack, result, "follow_up_hd", user="U0BOB")
    await eventually(lambda: len(slack.files) == 2, what="Bob's image")
    await eventually(lambda: [j.status for j in rows(bot)[0]] == ["done", "done"], what="both done")
    jobs, charges, _ = rows(bot)
    assert [job.user_id for job in jobs] == ["U0ALICE", "U0BOB"]
    assert [(c.user_id, c.status) for c in charges] == [("U0ALICE", "settled"), ("U0BOB", "settled")]
    bobs = next(m for m in slack.thread("C0GENERAL", result.ts) if "U0BOB" in (m.text or ""))
    assert "<@U0BOB> asked" in (bobs.text or "")


async def test_an_edit_button_on_an_edit_keeps_its_source(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    result = await first_result(slack)
    await slack.say("make it foggy --region top", thread_ts=result.ts)
    await eventually(lambda: len(slack.files) == 2, what="the edit")
    edit_status = next(m for m in slack.thread("C0GENERAL", result.ts) if "asked to edit" in (m.text or ""))
    await eventually(lambda: "follow_up_regenerate" in str(edit_status.blocks), what="its buttons")
    await click(slack, edit_status, "follow_up_regenerate")
    await eventually(lambda: len(images.requests) == 3, what="the regenerated edit")
    again = images.requests[2]
    assert again.kind == "edit" and again.fields["prompt"] == "make it foggy"
    assert again.files[0].data == next(iter(slack.files.values())).content, "it edits the same source image"
    assert any(f.field == "mask" for f in again.files), "with the same region"


async def test_the_edit_dialog_opens_and_its_submission_edits_the_chosen_image(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    result = await first_result(slack)
    latency = await click(slack, result, "open_edit", user="U0BOB")
    assert latency < 3.0
    await eventually(lambda: len(slack.views) == 1, what="the dialog")
    opened = slack.views[0]
    view = opened["view"]
    assert opened["trigger_id"] and view["type"] == "modal"
    assert {b["block_id"] for b in view["blocks"]} == {"prompt", "images", "region", "size", "quality"}

    submission = slack.view_submission(
        view,
        {
            "prompt": {"type": "plain_text_input", "value": "add a red boat"},
            "images": {"type": "checkboxes", "selected_options": [{"value": "1"}]},
            "region": {"type": "checkboxes", "selected_options": [{"value": "a3"}, {"value": "b3"}]},
            "size": {"type": "static_select", "selected_option": {"value": "landscape"}},
            "quality": {"type": "static_select", "selected_option": {"value": "high"}},
        },
        user="U0BOB",
    )
    ack = await slack.wait_for_ack(await slack.send_envelope("interactive", submission))
    assert ack.payload in (None, {}), "accepted: the dialog closes"
    await eventually(lambda: len(images.requests) == 2, what="the edit call")
    edit = images.requests[1]
    assert edit.kind == "edit" and edit.fields["prompt"] == "add a red boat"
    assert (edit.fields["size"], edit.fields["quality"]) == ("1536x1024", "high")
    assert any(f.field == "mask" for f in edit.files), "the grid cells become a mask"
    await eventually(lambda: len(slack.files) == 2, what="the edited image")
    jobs, _, _ = rows(bot)
    assert jobs[1].user_id == "U0BOB" and jobs[1].region == "a3,b3"


async def test_the_edit_dialog_shows_field_errors_and_makes_nothing(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    result = await first_result(slack)
    await click(slack, result, "open_edit")
    await eventually(lambda: len(slack.views) == 1, what="the dialog")
    submission = slack.view_submission(
        slack.views[0]["view"],
        {
            "prompt": {"type": "plain_text_input", "value": "  "},
            "images": {"type": "checkboxes", "selected_options": []},
            "region": {"type": "checkboxes", "selected_options": []},
            "size": {"type": "static_select", "selected_option": {"value": "keep"}},
            "quality": {"type": "static_select", "selected_option": {"value": "low"}},
        },
    )
    ack = await slack.wait_for_ack(await slack.send_envelope("interactive", submission))
    assert ack.payload is not None and ack.payload["response_action"] == "errors"
    assert set(ack.payload["errors"]) == {"prompt", "images"}
    assert "say what should change" in ack.payload["errors"]["prompt"]

    bad_option = slack.view_submission(
        slack.views[0]["view"],
        {
            "prompt": {"type": "plain_text_input", "value": "add a boat --n 9"},
            "images": {"type": "checkboxes", "selected_options": [{"value": "7"}]},
            "region": {"type": "checkboxes", "selected_options": []},
            "size": {"type": "static_select", "selected_option": {"value": "keep"}},
            "quality": {"type": "static_select", "selected_option": {"value": "low"}},
        },
    )
    ack = await slack.wait_for_ack(await slack.send_envelope("interactive", bad_option))
    assert ack.payload is not None and set(ack.payload["errors"]) == {"prompt", "images"}
    assert "--n 9" in ack.payload["errors"]["prompt"] and "no longer" in ack.payload["errors"]["images"]
    assert len(images.requests) == 1 and len(rows(bot)[0]) == 1


async def test_delete_by_the_requester_removes_the_files_and_keeps_the_record(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    result = await first_result(slack)
    [file_id] = list(slack.files)
    await click(slack, result, "delete_images")
    await eventually(lambda: file_id not in slack.files, what="the file to go")
    await eventually(lambda: "deleted by <@U0ALICE>" in str(result.blocks), what="the status")
    assert "follow_up_regenerate" not in str(result.blocks) and "show_provenance" in str(result.blocks)
    _, charges, [image] = rows(bot)
    assert image.slack_file_id == file_id and image.deleted_by == "U0ALICE" and not image.usable
    assert [c.status for c in charges] == ["settled"], "a deleted image was still made and paid for"

    await slack.say("make it foggy", thread_ts=result.ts)
    await eventually(lambda: len(images.requests) == 2, what="the reply's request")
    assert images.requests[1].kind == "generate", "a deleted image is never edited again"


async def test_delete_of_files_someone_already_deleted_still_marks_the_record(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """files.delete answers `file_deleted` for a file already gone: it counts as deleted."""
    result = await first_result(slack)
    [file_id] = list(slack.files)
    slack.delete_file(file_id)
    await click(slack, result, "delete_images")
    await eventually(lambda: "deleted by <@U0ALICE>" in str(result.blocks), what="the status")
    [image] = rows(bot)[2]
    assert image.deleted_by == "U0ALICE" and not image.usable


async def test_provenance_slack_will_not_show_is_explained(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """respond() returns Slack's refusal instead of raising: the click must not end in silence."""
    result = await first_result(slack)
    slack.fail_next("response")
    await click(slack, result, "show_provenance")
    await eventually(lambda: len(slack.responses) == 1, what="an answer")
    assert "Slack would not show that provenance record" in slack.responses[0]["text"]

    [file_id] = list(slack.files)
    slack.fail_next("response")
    await slack.slash(f"provenance {file_id}")
    await eventually(lambda: len(slack.responses) == 2, what="the command's answer")
    assert "Slack would not show that answer" in slack.responses[1]["text"]


async def test_delete_by_someone_else_is_refused_unless_they_are_an_admin(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    result = await first_result(slack)
    await click(slack, result, "delete_images", user="U0BOB")
    await eventually(lambda: len(slack.responses) == 1, what="the refusal")
    assert slack.responses[0]["response_type"] == "ephemeral" and "Only <@U0ALICE>" in slack.responses[0]["text"]
    assert len(slack.files) == 1

    await click(slack, result, "delete_images", user="U0ADMIN")
    await eventually(lambda: not slack.files, what="the admin's delete")
    await eventually(lambda: "deleted by <@U0ADMIN>" in str(result.blocks), what="the status")  # marked by then
    assert rows(bot)[2][0].deleted_by == "U0ADMIN"


async def test_a_visitor_from_another_workspace_cannot_spend_this_one(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    result = await first_result(slack)
    for action in ("follow_up_variations", "open_edit", "delete_images"):
        await click(slack, result, action, user="U0GUEST", user_team="T0OTHER")
    await eventually(lambda: len(slack.responses) == 3, what="the refusals")
    assert all("members of the workspace" in response["text"] for response in slack.responses)
    assert len(images.requests) == 1 and slack.views == [] and len(slack.files) == 1


async def test_the_status_shows_generating_then_done_with_the_time_taken(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    images.latency = 0.3
    result = await first_result(slack)
    assert "generating" in json.dumps(slack.calls_to("chat.postMessage")[0].params), "posted as its worker starts it"
    [update] = result.updates  # chat.update is rate limited: uploading lasts too short a time to be shown
    assert re.search(r"done, see the thread · \d+ s ·", json.dumps(update["blocks"], ensure_ascii=False))


async def test_previews_stream_into_the_thread_and_are_replaced_by_the_image(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    bot = await start_bot(dataclasses.replace(settings, preview_partial_images=2), slack)
    try:
        images.latency = 0.6
        await first_result(slack)
    finally:
        await stop_bot(bot)
    request = images.requests[0]
    assert str(request.fields["stream"]).lower() == "true" and str(request.fields["partial_images"]) == "2"
    previews = [c for c in slack.calls_to("files.getUploadURLExternal") if "preview" in c.params["filename"]]
    assert len(previews) == 2
    assert len(slack.files) == 1 and "preview" not in next(iter(slack.files.values())).filename, "previews removed"
    with Session(bot.database()) as session:
        [charge] = session.exec(select(LedgerRow)).all()
        [job] = session.exec(select(JobRow)).all()
    assert job.output_tokens == charge.output_tokens and charge.output_tokens > 200, "previews are counted"


async def test_personal_defaults_from_the_home_tab_apply_to_later_requests(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.wait_for_ack(await slack.send_envelope("events_api", slack.app_home_opened_event()))
    await eventually(lambda: len(slack.views) == 1, what="the home tab")
    home = json.dumps(slack.views[0]["view"])
    assert "Your defaults" in home and "default_size" in home

    for action, choice in (("default_size", "1536x1024"), ("default_quality", "low"), ("default_format", "webp")):
        payload = slack.block_action(action, "", selected=choice)
        ack = await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
        assert ack.latency < 3.0
    await eventually(lambda: len(slack.views) == 4, what="the tab shown again after each choice")
    assert '"value": "webp"' in json.dumps(slack.views[-1]["view"]["blocks"][-0:])

    await slack.slash("a lighthouse")
    await eventually(lambda: len(images.requests) == 1, what="the call")
    fields = images.requests[0].fields
    assert (fields["size"], fields["quality"], fields["output_format"]) == ("1536x1024", "low", "webp")
    await slack.slash("a lighthouse --size square", user="U0BOB")
    await eventually(lambda: len(images.requests) == 2, what="Bob's call")
    assert images.requests[1].fields["quality"] == "medium", "Alice's defaults are hers alone"


async def test_help_and_the_first_mention_explain_easel(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    ack = await slack.slash("help")
    assert ack.payload is not None
    text = ack.payload["text"]
    for expected in ("--size", "--region", "a1", "`//`", "/imagine usage", "Variations", "provenance"):
        assert expected.lower() in text.lower(), expected

    await slack.say("@Easel a lighthouse")
    await eventually(lambda: len(slack.ephemerals) == 1, what="the hello")
    hello = json.dumps(slack.ephemerals[0])
    assert slack.ephemerals[0]["user"] == "U0ALICE" and "Hi, I'm Easel" in hello and "C2PA" in hello
    await slack.say("@Easel a second lighthouse")
    await eventually(lambda: len(images.requests) == 2, what="both images")
    assert len(slack.ephemerals) == 1, "only the first mention"


async def test_a_request_that_clashes_with_a_personal_default_is_explained(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    payload = slack.block_action("default_format", "", selected="jpeg")
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))
    await eventually(lambda: len(slack.views) == 1, what="the choice saved")
    await slack.slash("a fox logo --transparent")
    await eventually(lambda: len(slack.responses) == 1, what="the answer")
    assert "JPEG has no transparency" in slack.responses[0]["text"]
    assert images.requests == []
