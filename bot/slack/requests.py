"""Slack payloads into requests for images: who asks, what they typed, what an edit starts from.

Every surface comes through here (the slash command; a message: a thread reply, a mention, a
direct message; a button; the Edit dialog), so each question is answered once: the requester
is built here, a person of another organisation declined here (`VisitorDeclined`), Slack's
text decoded here (`decoding` is the helper), and what an edit starts from decided here
(`NothingToEdit` when there is nothing). The result is the domain's `JobRequest`: a handler
then acks, hands it to the intake (`services.intake.submit`), and renders what comes back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.domain.admin import AdminCommand, ShowMyUsage, ShowProvenance, parse_account_command
from bot.domain.iteration import Again
from bot.domain.model import Attachment, EditSource, JobRequest, Place
from bot.domain.numbers import whole_number
from bot.domain.people import Requester
from bot.domain.regions import Region, parse_region
from bot.domain.requests import HelpWanted, OptionDefaults, Prompt, parse_prompt
from bot.domain.threads import Threads
from bot.errors import InputRejected, NothingToEdit, VisitorDeclined
from bot.slack import replies
from bot.slack.decoding import DisplayNames, decode
from bot.slack.workspaces import Membership, of_event, of_interaction

AccountCommand = ShowMyUsage | ShowProvenance | AdminCommand
DefaultsFor = Callable[[Requester], Awaitable[OptionDefaults]]
THREAD_LOOKUP = 500  # images of a thread searched for the ones a submitted dialog names
IMAGE_FILETYPES = {"png", "jpg", "jpeg", "webp", "gif", "bmp", "tiff", "tif", "heic", "heif"}


class DialogRefused(Exception):
    """The Edit dialog's fields that cannot be used, each with its words; the dialog stays open."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields)
        self.fields = fields


def person(body: dict[str, Any], members: Membership | None = None) -> Requester:
    """Who sent a payload (a command, a message event, a click, a dialog, the Home tab
    opening), counted under the installation it was delivered to, never their own team; an
    interaction needs `members` to know that installation."""
    if "command" in body:
        return Requester(body["team_id"], body["user_id"])
    event = body.get("event")
    if event is not None:
        return Requester(of_event(body).team_id or event.get("team", ""), event["user"])
    assert members is not None, "a click or a dialog is read against the installation"
    return Requester(of_interaction(body, members.installed).team_id, body["user"]["id"])


async def requester_of(body: dict[str, Any], members: Membership) -> Requester:
    """Who asks for images; a person of another organisation is declined, since their
    requests would spend this workspace's allowance."""
    serves = await (members.event_serves(body) if "event" in body else members.interaction_serves(body))
    if not serves:
        raise VisitorDeclined()
    return person(body, members)


def command_at_ack(command: dict[str, Any], defaults: OptionDefaults) -> AccountCommand | Prompt | HelpWanted:
    """What the ack answers, without waiting for the database or Slack: an account command
    (which names people by their `<@U…>` tokens), help, or a prompt with the workspace's
    defaults. A mention typed with a name shows it; one without, its id until `command_request`."""
    text = command.get("text", "")
    account = parse_account_command(decode(text, keep_people=True))
    if account is not None:
        return account
    parsed = parse_prompt(decode(text), defaults)
    if isinstance(parsed, Prompt) and (parsed.region is not None or parsed.version is not None):
        raise InputRejected(replies.EDIT_OPTIONS_IN_A_COMMAND)
    return parsed


async def command_request(command: dict[str, Any], names: DisplayNames, defaults_for: DefaultsFor) -> JobRequest:
    """The command once acked: with the person's own defaults (which can still refuse, e.g.
    `--transparent` with JPEG) and the names of the people mentioned without one."""
    requester = person(command)
    parsed = parse_prompt(await names.decode(command.get("text", "")), await defaults_for(requester))
    assert isinstance(parsed, Prompt)  # the same text parsed to a prompt in the ack
    place = Place(conversation=command["channel_id"])
    return JobRequest(requester=requester, prompt=parsed, place=place, request_key=command_key(command))


def shared_images(event: dict[str, Any]) -> list[Attachment]:
    """The images a message shares; a message that shares only other files is refused."""
    shared: list[dict[str, Any]] = event.get("files") or []
    images = [file for file in shared if looks_like_an_image(file)]
    if shared and not images:
        raise InputRejected(replies.not_an_image([str(f.get("name") or f.get("id")) for f in shared]))
    return [shared_file(file, user_id=event["user"]) for file in images]


def shared_file(file: dict[str, Any], *, user_id: str) -> Attachment:
    return Attachment(
        file_id=file["id"], name=file.get("name") or file["id"], user_id=user_id, permalink=file.get("permalink")
    )


def looks_like_an_image(file: dict[str, Any]) -> bool:
    """Slack's own description of a shared file; the bytes are checked when they are used."""
    return str(file.get("mimetype", "")).startswith("image/") or file.get("filetype") in IMAGE_FILETYPES


async def message_request(
    event: dict[str, Any],
    body: dict[str, Any],
    *,
    text: str,
    requester: Requester,
    attached: list[Attachment],
    defaults: OptionDefaults,
    threads: Threads,
) -> JobRequest | HelpWanted:
    """A message as a request, in the thread it was written in (a new one for a message in the
    channel). `text` is the message as typed, without Easel's own mention."""
    parsed = parse_prompt(text, defaults)
    if isinstance(parsed, HelpWanted):
        return parsed
    channel, thread = event["channel"], event.get("thread_ts")
    has_image = thread is not None and not attached and await threads.has_image(channel, thread)
    return JobRequest(
        requester=requester,
        prompt=parsed,
        place=Place(conversation=channel, thread=thread or event["ts"]),
        edit=edit_source(parsed, attached=[file.file_id for file in attached], thread_has_image=has_image),
        request_key=message_key(event, body),
    )


def edit_source(prompt: Prompt, *, attached: list[str], thread_has_image: bool) -> EditSource | None:
    """What an edit starts from: the attached files, or the thread's images (`#N`, else the
    latest, found in the job's turn). None: a new image; `#N` or `--region` then name nothing."""
    if attached:
        return EditSource(file_ids=tuple(attached))
    if thread_has_image:
        return EditSource()
    if prompt.region is not None or prompt.version is not None:
        raise NothingToEdit()
    return None


def follow_up_request(again: Again, *, requester: Requester, body: dict[str, Any]) -> JobRequest:
    """A button's request: the one it follows, changed, in its thread, by whoever clicked."""
    return JobRequest(
        requester=requester,
        prompt=again.prompt,
        place=Place(conversation=again.channel, thread=again.thread),
        edit=again.edit,
        request_key=f"action:{body['trigger_id']}",
    )


async def dialog_request(
    view: dict[str, Any], *, requester: Requester, place: tuple[str, str], defaults: OptionDefaults, threads: Threads
) -> JobRequest:
    """The Edit dialog's submission; every field is checked, and those that cannot be used
    are refused together (`DialogRefused`). Its text is a value typed into a plain-text
    input, which Slack does not escape: it is not decoded."""
    channel, thread = place
    values = view["state"]["values"]
    size = values["size"]["value"]["selected_option"]["value"]
    defaults = replace(
        defaults,
        size=defaults.size if size == "keep" else size,
        quality=values["quality"]["value"]["selected_option"]["value"],
    )
    refused: dict[str, str] = {}
    prompt = None
    try:
        parsed = parse_prompt(values["prompt"]["value"].get("value") or "", defaults)
        if isinstance(parsed, HelpWanted):
            raise InputRejected(replies.SAY_WHAT_CHANGES)
        prompt = parsed
    except InputRejected as error:
        refused["prompt"] = replies.in_dialog(error)
    numbers = [whole_number(str(o["value"])) for o in values["images"]["value"].get("selected_options") or []]
    chosen = await threads.by_numbers(channel, thread, [n for n in numbers if n is not None], among=THREAD_LOOKUP)
    if not numbers:
        refused["images"] = replies.PICK_AN_IMAGE
    elif None in numbers or any(image is None for image in chosen):
        refused["images"] = replies.IMAGE_GONE
    region: Region | None = None
    cells = [o["value"] for o in values["region"]["value"].get("selected_options") or []]
    try:
        region = parse_region(",".join(cells)) if cells else None
    except InputRejected as error:
        refused["region"] = replies.in_dialog(error)
    if refused or prompt is None:
        raise DialogRefused(refused)
    if size != "keep":
        prompt = replace(prompt, options=replace(prompt.options, size_given=True))
    prompt = replace(prompt, region=region or prompt.region, version=None)
    files = tuple(image.slack_file_id for image in chosen if image and image.slack_file_id)
    return JobRequest(
        requester=requester,
        prompt=prompt,
        place=Place(conversation=channel, thread=thread),
        edit=EditSource(file_ids=files),
        request_key=f"view:{view['id']}",
    )


def command_key(command: dict[str, Any]) -> str | None:
    """A command's own id (Slack gives each a trigger id): kept until handled, one job at most."""
    return f"command:{command['trigger_id']}" if command.get("trigger_id") else None


def message_key(event: dict[str, Any], body: dict[str, Any]) -> str | None:
    """What makes a message one request: its `client_msg_id`, which a redelivery shares, or
    else the event id."""
    if event.get("client_msg_id"):
        return f"message:{event['client_msg_id']}"
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    return None
