"""Messages: replies in Easel's threads become edits; mentions and direct messages generate
or edit.

Each subscribed event type has a listener, or Slack would get no ack and deliver the event
again. Mentions come as `message` events (with their files), so `app_mention` is not
subscribed: one path for every message.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.domain.model import Attachment, EditSource, JobRequest, Place
from bot.domain.people import Requester
from bot.domain.requests import HelpWanted, parse_prompt
from bot.errors import BotError, InputRejected
from bot.slack import blocks, replies
from bot.slack.decoding import DisplayNames, decode, mentions, without_mention
from bot.slack.publisher import CANNOT_POST
from bot.slack.workspaces import Membership, of_event
from bot.wiring import Services

logger = logging.getLogger(__name__)
# Message subtypes that carry something a person wrote; edits, deletions and joins do not.
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}
BACKFILL_MESSAGES = 15
IMAGE_FILETYPES = {
    "png",
    "jpg",
    "jpeg",
    "webp",
    "gif",
    "bmp",
    "tiff",
    "tif",
    "heic",
    "heif",
}  # conversations.replies is limited to about 15 messages a minute


def register(app: AsyncApp, services: Services, names: DisplayNames, members: Membership) -> None:
    @app.event("message")
    async def message(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("bot_id") or event.get("subtype") not in _PERSON_SUBTYPES or not event.get("user"):
            return
        await _on_person_message(event, body, client, services, names, members, bot_user_id=context.bot_user_id or "")


async def replay(
    payload: str,
    client: AsyncWebClient,
    services: Services,
    names: DisplayNames,
    members: Membership,
    *,
    bot_user_id: str,
) -> None:
    """A message a stopped process acked but did not handle (Slack will not send it again)."""
    body = json.loads(payload)
    await _on_person_message(
        body["event"], body, client, services, names, members, bot_user_id=bot_user_id, replayed=True
    )


async def _on_person_message(
    event: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    names: DisplayNames,
    members: Membership,
    *,
    bot_user_id: str,
    replayed: bool = False,
) -> None:
    """Decide whether the message is for Easel; if so, keep it (payload and all) until it is
    handled, so that a process dying half-way does not lose it."""
    raw_text = event.get("text") or ""
    quiet = services.settings.quiet_prefix
    if quiet and decode(raw_text).lstrip().startswith(quiet):  # as typed: a `>>` prefix arrives as `&gt;&gt;`
        return
    channel, thread_ts = event["channel"], event.get("thread_ts")
    # A direct message to Easel (its Messages tab) is addressed to it like a mention.
    mentioned = mentions(raw_text, bot_user_id) or event.get("channel_type") == "im"
    known_thread = thread_ts is not None and await services.threads.knows_thread(channel, thread_ts)
    if not mentioned and not known_thread:
        return
    event_id = body.get("event_id")
    if not replayed and not await services.events.first_delivery(event_id, payload=json.dumps(body)):
        return  # Slack delivered this event again (a retry): it was handled the first time
    try:
        text = await names.decode(without_mention(raw_text, bot_user_id))
        await _answer(event, body, client, services, members, text, mentioned=mentioned, known_thread=known_thread)
    finally:
        await services.events.handled(event_id, at=datetime.now(UTC))


async def _answer(
    event: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    services: Services,
    members: Membership,
    text: str,
    *,
    mentioned: bool,
    known_thread: bool,
) -> None:
    """`text` is the message as the person typed it, without Easel's own mention."""
    channel, thread_ts = event["channel"], event.get("thread_ts")
    home = thread_ts or event["ts"]
    if not await members.event_serves(body):
        metrics.declined_visitor()
        await _tell(client, event, home, replies.another_workspace())
        return
    shared = event.get("files") or []
    files = [f for f in shared if _looks_like_an_image(f)]
    if shared and not files:
        names = ", ".join(f"`{f.get('name') or f.get('id')}`" for f in shared)
        problem = InputRejected(f"{names} is not an image I can edit (PNG, JPEG, WebP, HEIC, GIF, BMP or TIFF)")
        metrics.refused(problem)
        await client.chat_postMessage(channel=channel, thread_ts=home, **blocks.message(replies.for_error(problem)))
        return
    if files:
        await services.threads.record_attachments(
            channel,
            home,
            [
                Attachment(
                    file_id=f["id"], name=f.get("name") or f["id"], user_id=event["user"], permalink=f.get("permalink")
                )
                for f in files
            ],
            at=datetime.now(UTC),
        )
    elif mentioned and thread_ts is not None and not known_thread:
        await _backfill(client, services, channel, thread_ts)

    if not text.strip() and files and not mentioned:
        return  # an image shared in the thread, for a later reply to use
    requester = Requester(of_event(body).team_id or event.get("team", ""), event["user"])
    if mentioned and await services.iteration.first_meeting(requester, now=datetime.now(UTC)):
        await _tell(client, event, home, blocks.first_meeting(quiet_prefix=services.settings.quiet_prefix)["text"])
    try:
        parsed = parse_prompt(text, await services.iteration.defaults_for(requester))
    except InputRejected as error:
        metrics.refused(error)
        await client.chat_postMessage(channel=channel, thread_ts=home, **blocks.message(replies.for_error(error)))
        return
    if isinstance(parsed, HelpWanted):
        await client.chat_postMessage(
            channel=channel,
            thread_ts=home,
            **blocks.help_message(services.option_defaults, quiet_prefix=services.settings.quiet_prefix),
        )
        return

    edit: EditSource | None = None
    if files:
        edit = EditSource(file_ids=tuple(f["id"] for f in files))
    elif thread_ts is not None and await services.threads.latest(channel, thread_ts) is not None:
        edit = EditSource()
    elif parsed.region is not None or parsed.version is not None:
        nothing_to_edit = InputRejected("there is no image here to edit yet")
        metrics.refused(nothing_to_edit)
        await client.chat_postMessage(
            channel=channel,
            thread_ts=home,
            **blocks.message(replies.for_error(nothing_to_edit)),
        )
        return
    try:
        await services.intake.submit(
            JobRequest(
                requester=requester,
                prompt=parsed,
                place=Place(conversation=channel, thread=home),
                edit=edit,
                request_key=_request_key(event, body),
            )
        )
    except BotError as error:  # a limit, or a conversation Easel may not post in
        metrics.refused(error)
        await _tell(client, event, home, replies.for_error(error))


async def _tell(client: AsyncWebClient, event: dict[str, Any], thread_ts: str, text: str) -> None:
    """Only the person who asked sees the answer; where Easel cannot post, it goes to them
    directly (the app's messages tab)."""
    try:
        await client.chat_postEphemeral(
            channel=event["channel"], user=event["user"], thread_ts=thread_ts, **blocks.message(text)
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in CANNOT_POST:
            raise
        await client.chat_postMessage(channel=event["user"], **blocks.message(text))


def _request_key(event: dict[str, Any], body: dict[str, Any]) -> str | None:
    """What makes a message one request: its `client_msg_id`, which a redelivery shares, or
    else the event id."""
    if event.get("client_msg_id"):
        return f"message:{event['client_msg_id']}"
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    return None


def _looks_like_an_image(file: dict[str, Any]) -> bool:
    """Slack's own description of a shared file; the bytes are checked when they are used."""
    return str(file.get("mimetype", "")).startswith("image/") or file.get("filetype") in IMAGE_FILETYPES


async def _backfill(client: AsyncWebClient, services: Services, channel: str, thread_ts: str) -> None:
    """Learn the images of a thread Easel has not seen, from Slack's history (a fallback:
    apps outside the Marketplace may call conversations.replies about once a minute)."""
    try:
        history = await client.conversations_replies(channel=channel, ts=thread_ts, limit=BACKFILL_MESSAGES)
    except SlackApiError as exc:
        logger.warning("could not read thread %s in %s: %s", thread_ts, channel, exc.response.get("error"))
        return
    messages: list[dict[str, Any]] = history.get("messages") or []
    attachments = [
        Attachment(
            file_id=f["id"], name=f.get("name") or f["id"], user_id=m.get("user", ""), permalink=f.get("permalink")
        )
        for m in messages
        for f in m.get("files", [])
        if _looks_like_an_image(f)
    ]
    if attachments:
        await services.threads.record_attachments(channel, thread_ts, attachments, at=datetime.now(UTC))
