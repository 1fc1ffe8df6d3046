"""Slack payloads, as the local Slack builds them, into requests for images (or refusals)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.admin import ShowMyUsage
from bot.domain.model import Attachment, EditSource, Place
from bot.domain.people import Requester
from bot.domain.requests import HelpWanted, OptionDefaults, Prompt, parse_prompt
from bot.domain.threads import Threads
from bot.errors import InputRejected, NothingToEdit, VisitorDeclined
from bot.slack import requests
from bot.slack.decoding import DisplayNames
from bot.slack.workspaces import Installation, Membership
from bot.storage.database import Database
from bot.storage.job_records import JobRepository
from bot.storage.thread_images import ThreadImages
from tests.fakes.fake_slack import FakeSlack

DEFAULTS = OptionDefaults()
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack()  # only its payload builders: nothing here calls Slack


@pytest.fixture
def members(slack: FakeSlack) -> Membership:
    return Membership(Installation(slack.team_id), DisplayNames(AsyncWebClient(token="xoxb-unused")))


@pytest.fixture
async def threads(tmp_path: Path) -> AsyncIterator[Threads]:
    database = Database(f"sqlite:///{tmp_path / 'threads.db'}")
    yield Threads(ThreadImages(database), JobRepository(database))
    database.close()


async def workspace_defaults(_: Requester) -> OptionDefaults:
    return DEFAULTS


def test_the_ack_reads_the_command_as_typed_with_the_workspace_defaults(slack: FakeSlack) -> None:
    asked = requests.command_at_ack(slack.slash_command("a <fox> & a hen --n 2"), DEFAULTS)
    assert isinstance(asked, Prompt) and asked.text == "a <fox> & a hen" and asked.options.n == 2


def test_the_ack_tells_account_commands_and_help_from_prompts(slack: FakeSlack) -> None:
    assert isinstance(requests.command_at_ack(slack.slash_command("usage"), DEFAULTS), ShowMyUsage)
    assert isinstance(requests.command_at_ack(slack.slash_command(""), DEFAULTS), HelpWanted)


@pytest.mark.parametrize("text", ["#2 make it darker", "a fox --region left"])
def test_a_command_refuses_what_only_an_edit_can_use(slack: FakeSlack, text: str) -> None:
    with pytest.raises(InputRejected) as refused:
        requests.command_at_ack(slack.slash_command(text), DEFAULTS)
    assert "for edits" in refused.value.problem


async def test_a_command_becomes_a_request_in_its_channel_keyed_by_its_trigger(slack: FakeSlack) -> None:
    command = slack.slash_command("a lighthouse --quality high", channel="C0ART")
    request = await requests.command_request(command, DisplayNames(AsyncWebClient()), workspace_defaults)
    assert request.requester == Requester(slack.team_id, "U0ALICE")
    assert (request.place, request.edit) == (Place(conversation="C0ART"), None)
    assert request.prompt.text == "a lighthouse" and request.prompt.options.quality == "high"
    assert request.request_key == f"command:{command['trigger_id']}"


async def test_a_member_asks_and_a_visitor_of_another_organisation_is_declined(
    slack: FakeSlack, members: Membership
) -> None:
    message = slack.message_event("@Easel a fox")
    assert await requests.requester_of(message, members) == Requester(slack.team_id, "U0ALICE")
    click = slack.block_action("follow_up_hd", "7", message_ts="1.0")
    assert await requests.requester_of(click, members) == Requester(slack.team_id, "U0ALICE")

    slack.add_person("U0GUEST", "guest", team="T0OTHER")
    with pytest.raises(VisitorDeclined):
        await requests.requester_of(slack.message_event("@Easel a fox", user="U0GUEST"), members)
    with pytest.raises(VisitorDeclined):
        await requests.requester_of(
            slack.block_action("follow_up_hd", "7", message_ts="1.0", user_team="T0OTHER"), members
        )


def test_a_message_sharing_only_other_files_is_refused_by_their_names(slack: FakeSlack) -> None:
    notes = slack.host_file(b"notes", name="notes.txt", mimetype="text/plain")
    with pytest.raises(InputRejected) as refused:
        requests.shared_images(slack.message_event("edit this", files=[notes])["event"])
    assert "`notes.txt` is not an image" in refused.value.problem


def test_the_images_a_message_shares_are_kept_as_attachments_of_who_shared_them(slack: FakeSlack) -> None:
    image = slack.host_file(PNG, name="fox.png", mimetype="image/png")
    notes = slack.host_file(b"notes", name="notes.txt", mimetype="text/plain")
    event = slack.message_event("edit this", files=[image, notes], user="U0BOB")["event"]
    assert requests.shared_images(event) == [Attachment(file_id=image["id"], name="fox.png", user_id="U0BOB")]


@pytest.mark.parametrize(
    ("text", "attached", "thread_has_image", "edit"),
    [
        ("a fox", ["F1", "F2"], False, EditSource(file_ids=("F1", "F2"))),
        ("#2 a fox", ["F1"], True, EditSource(file_ids=("F1",))),
        ("make it darker", [], True, EditSource()),
        ("#2 make it darker", [], True, EditSource()),
        ("a fox", [], False, None),
    ],
)
def test_what_an_edit_starts_from(
    text: str, attached: list[str], thread_has_image: bool, edit: EditSource | None
) -> None:
    prompt = parse_prompt(text, DEFAULTS)
    assert isinstance(prompt, Prompt)
    assert requests.edit_source(prompt, attached=attached, thread_has_image=thread_has_image) == edit


@pytest.mark.parametrize("text", ["#2 make it darker", "make it darker --region left"])
def test_an_edit_with_nothing_to_edit_is_refused(text: str) -> None:
    prompt = parse_prompt(text, DEFAULTS)
    assert isinstance(prompt, Prompt)
    with pytest.raises(NothingToEdit):
        requests.edit_source(prompt, attached=[], thread_has_image=False)


async def test_a_reply_in_a_thread_with_an_image_edits_it(slack: FakeSlack, threads: Threads) -> None:
    shared = Attachment(file_id="F1", name="fox.png", user_id="U0ALICE")
    await threads.remember_shared("C0GENERAL", "1700000000.000001", [shared], now=NOW)
    message = slack.message_event("make it darker", thread_ts="1700000000.000001")
    request = await requests.message_request(
        message["event"],
        message,
        text="make it darker",
        requester=Requester(slack.team_id, "U0ALICE"),
        attached=[],
        defaults=DEFAULTS,
        threads=threads,
    )
    assert not isinstance(request, HelpWanted)
    assert (request.place.thread, request.edit) == ("1700000000.000001", EditSource())
    assert request.request_key == f"message:{message['event']['client_msg_id']}"


async def test_a_mention_in_the_channel_starts_a_thread_or_asks_for_help(slack: FakeSlack, threads: Threads) -> None:
    message = slack.message_event("@Easel a fox")
    event, who = message["event"], Requester(slack.team_id, "U0ALICE")
    request = await requests.message_request(
        event, message, text="a fox", requester=who, attached=[], defaults=DEFAULTS, threads=threads
    )
    assert not isinstance(request, HelpWanted) and (request.place.thread, request.edit) == (event["ts"], None)
    helped = await requests.message_request(
        event, message, text="help", requester=who, attached=[], defaults=DEFAULTS, threads=threads
    )
    assert isinstance(helped, HelpWanted)
    with pytest.raises(NothingToEdit):
        await requests.message_request(
            event, message, text="#3 darker", requester=who, attached=[], defaults=DEFAULTS, threads=threads
        )


def dialog_values(*, prompt: str, images: list[str], cells: tuple[str, ...] = (), size: str = "keep") -> dict[str, Any]:
    def options(values: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]

    return {
        "prompt": {"type": "plain_text_input", "value": prompt},
        "images": {"type": "checkboxes", "selected_options": options(images)},
        "region": {"type": "checkboxes", "selected_options": options(cells)},
        "size": {"type": "static_select", "selected_option": options([size])[0]},
        "quality": {"type": "static_select", "selected_option": options(["high"])[0]},
    }


async def test_the_edit_dialog_refuses_every_bad_field_at_once(slack: FakeSlack, threads: Threads) -> None:
    submission = slack.view_submission({"callback_id": "edit_request"}, dialog_values(prompt="", images=["9"]))
    with pytest.raises(requests.DialogRefused) as refused:
        await requests.dialog_request(
            submission["view"],
            requester=Requester(slack.team_id, "U0ALICE"),
            place=("C0GENERAL", "1700000000.000001"),
            defaults=DEFAULTS,
            threads=threads,
        )
    assert set(refused.value.fields) == {"prompt", "images"}
    assert "say what should change" in refused.value.fields["prompt"]
    assert "no longer" in refused.value.fields["images"]


async def test_the_edit_dialog_becomes_an_edit_of_the_chosen_images(slack: FakeSlack, threads: Threads) -> None:
    thread = "1700000000.000001"
    await threads.remember_shared(
        "C0GENERAL",
        thread,
        [
            Attachment(file_id="F1", name="a.png", user_id="U0ALICE"),
            Attachment(file_id="F2", name="b.png", user_id="U0BOB"),
        ],
        now=NOW,
    )
    values = dialog_values(prompt="stormy sky", images=["2"], cells=("a1", "b1"), size="1536x1024")
    submission = slack.view_submission({"callback_id": "edit_request"}, values)
    request = await requests.dialog_request(
        submission["view"],
        requester=Requester(slack.team_id, "U0BOB"),
        place=("C0GENERAL", thread),
        defaults=DEFAULTS,
        threads=threads,
    )
    assert (request.place, request.edit) == (
        Place(conversation="C0GENERAL", thread=thread),
        EditSource(file_ids=("F2",)),
    )
    options = request.prompt.options
    assert (options.size, options.size_given, options.quality) == ("1536x1024", True, "high")
    assert request.prompt.region is not None and request.request_key == f"view:{submission['view']['id']}"
