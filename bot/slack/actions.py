"""Buttons on Easel's results, the Edit… dialog, and the Home tab's defaults.

Every click is acked at once and is a request of whoever clicked: it goes through the same
limits, jobs and provenance as a typed request, in the thread of the result it came from.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.domain.iteration import FollowUp
from bot.domain.model import JobStatus
from bot.domain.numbers import whole_number
from bot.errors import BotError, InputRejected, NothingToEdit, VisitorDeclined
from bot.slack import block_kit, ephemeral, replies, requests
from bot.slack.account import is_admin
from bot.slack.edit_dialog import EDIT_VIEW, edit_modal
from bot.slack.home import publish_home
from bot.slack.home_view import DEFAULT_ACTIONS
from bot.slack.lineage_view import lineage_message
from bot.slack.request_message import DELETE_ACTION, EDIT_ACTION, FOLLOW_UP_PREFIX, PROVENANCE_ACTION, request_message
from bot.slack.visibility import ConversationAccess
from bot.slack.workspaces import Membership
from bot.wiring import Services

EDIT_IMAGE_CHOICES = 10  # the thread's latest images the dialog offers
# files.delete on a file already deleted answers `file_deleted`; one never there, `file_not_found`.
FILE_GONE = {"file_not_found", "file_deleted"}


def register(app: AsyncApp, services: Services, members: Membership, access: ConversationAccess) -> None:
    """`access` answers, before any job is acted on or shown, whether the person clicking may
    see the conversation it lives in: a payload can be forged to name any channel."""

    @app.action(PROVENANCE_ACTION)
    async def show_provenance(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """The full chain behind a request's images, to whoever clicked (only they see it)."""
        await ack()
        job_id, channel = whole_number(str(action.get("value", ""))), _channel(body)
        visible = job_id is not None and await access.may_see(client, body["user"]["id"], channel)
        lineages = await services.lineage.of_job(job_id, channel=channel) if job_id is not None and visible else []
        if not lineages:
            await _answer(respond, replies.NO_RECORD)
            return
        await ephemeral.show(respond, lineage_message(lineages), what="that provenance record")

    @app.action(re.compile(f"^{FOLLOW_UP_PREFIX}"))
    async def follow_up(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """Variations, Regenerate, HD, Square, Portrait, Landscape."""
        await ack()
        kind = FollowUp(str(action["action_id"]).removeprefix(FOLLOW_UP_PREFIX))
        try:
            requester = await requests.requester_of(body, members)
            if not await access.may_see(client, requester.user_id, _channel(body)):
                await _answer(respond, replies.NO_RECORD)
                return
            again = await services.iteration.follow_up(_job_id(action), kind, channel=_channel(body))
            await services.intake.submit(requests.follow_up_request(again, requester=requester, body=body))
        except BotError as error:
            metrics.refused(error)
            await _answer(respond, replies.for_error(error))

    @app.action(EDIT_ACTION)
    async def open_edit(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """The dialog opens at once: its trigger expires three seconds after the click."""
        await ack()
        try:
            await requests.requester_of(body, members)
            job_id = _job_id(action)
        except BotError as error:
            await _answer(respond, replies.for_error(error))
            return
        choices = await services.threads.edit_choices(job_id, channel=_channel(body), most=EDIT_IMAGE_CHOICES)
        if choices is None or not await access.may_see(client, body["user"]["id"], choices.channel):
            await _answer(respond, replies.NO_RECORD)
            return
        if not choices.images:
            await _answer(respond, replies.for_error(NothingToEdit()))
            return
        metadata = json.dumps({"channel": choices.channel, "thread": choices.thread})
        view = edit_modal(
            choices.images,
            chosen=choices.made,
            quality=choices.quality,
            defaults=services.option_defaults,
            metadata=metadata,
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(EDIT_VIEW)
    async def submit_edit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        """Check every field; a bad one is shown next to it and the dialog stays open."""
        place = json.loads(view.get("private_metadata") or "{}")
        channel, thread = str(place.get("channel", "")), str(place.get("thread", ""))
        try:
            requester = await requests.requester_of(body, members)
        except VisitorDeclined as error:
            metrics.refused(error)
            await ack(response_action="errors", errors={"prompt": replies.in_dialog(error)})
            return
        if not await access.may_see(client, requester.user_id, channel):
            await ack(response_action="errors", errors={"prompt": replies.NOT_IN_CONVERSATION})
            return
        try:
            request = await requests.dialog_request(
                view,
                requester=requester,
                place=(channel, thread),
                defaults=await services.iteration.defaults_for(requester),
                threads=services.threads,
            )
        except requests.DialogRefused as refused:
            metrics.refused(InputRejected(" ".join(refused.fields.values())))
            await ack(response_action="errors", errors=refused.fields)
            return
        await ack()
        try:
            await services.intake.submit(request)
        except BotError as error:
            metrics.refused(error)
            await client.chat_postEphemeral(
                channel=channel, user=requester.user_id, thread_ts=thread, **block_kit.message(replies.for_error(error))
            )

    @app.action(DELETE_ACTION)
    async def delete(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """Only the requester or an admin: the files leave Slack, the records stay (marked)."""
        await ack()
        try:
            # An admin of another workspace is no admin here.
            user = (await requests.requester_of(body, members)).user_id
            job_id = _job_id(action)
        except BotError as error:
            await _answer(respond, replies.for_error(error))
            return
        found = await services.deletions.find(job_id, channel=_channel(body))
        if found is None or not await access.may_see(client, user, found.job.place.conversation):
            await _answer(respond, replies.NO_RECORD)
            return
        owner = found.job.requester.user_id
        if user != owner and not await is_admin(client, services, user):
            await _answer(respond, replies.not_yours(owner))
            return
        for file_id in found.files:
            try:
                await client.files_delete(file=file_id)
            except SlackApiError as exc:
                if exc.response.get("error") not in FILE_GONE:
                    raise
        now = datetime.now(UTC)
        await services.deletions.record(found, by=user, at=now)
        if found.job.place.status:
            deleted = replies.images_deleted(user, at=now)
            await client.chat_update(
                channel=found.job.place.conversation,
                ts=found.job.place.status,
                **request_message(found.job, JobStatus.DONE, model=found.model, deleted=deleted),
            )

    @app.action(re.compile("^default_"))
    async def choose_default(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A Home tab choice: saved, and the tab shows it."""
        await ack()
        requester = requests.person(body, members)
        name = DEFAULT_ACTIONS[str(action["action_id"])]
        await services.iteration.set_default(requester, name, action["selected_option"]["value"], now=datetime.now(UTC))
        await publish_home(client, services, requester)


def _channel(body: dict[str, Any]) -> str:
    return str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", ""))


def _job_id(action: dict[str, Any]) -> int:
    job_id = whole_number(str(action.get("value", "")))
    if job_id is None:
        raise InputRejected(replies.BUTTON_OF_NO_REQUEST)
    return job_id


async def _answer(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, **block_kit.message(text))
