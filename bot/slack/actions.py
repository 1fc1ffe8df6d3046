"""Buttons on Easel's results, the Edit… dialog, and the Home tab's defaults.

Every click is acked at once and is a request of whoever clicked: it goes through the same
limits, jobs and provenance as a typed request, in the thread of the result it came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.domain.iteration import FollowUp
from bot.domain.model import EditSource, JobRequest, JobStatus, Place
from bot.domain.numbers import whole_number
from bot.domain.people import Requester
from bot.domain.regions import parse_region
from bot.domain.requests import HelpWanted, parse_prompt
from bot.errors import BotError, InputRejected, VisitorDeclined
from bot.slack import blocks, ephemeral, replies
from bot.slack.account import is_admin
from bot.slack.home import publish_home
from bot.slack.lineage_view import lineage_message
from bot.slack.mrkdwn import slack_date
from bot.slack.visibility import ConversationAccess
from bot.slack.workspaces import Membership, of_interaction
from bot.wiring import Services

NO_RECORD = ":mag: No record of that."  # also for what exists but is not the person's to see
EDIT_IMAGE_CHOICES = 10  # the thread's latest images the dialog offers
THREAD_LOOKUP = 500  # images of a thread searched for the ones a submitted dialog names
# files.delete on a file already deleted answers `file_deleted`; one never there, `file_not_found`.
FILE_GONE = {"file_not_found", "file_deleted"}


def register(app: AsyncApp, services: Services, members: Membership, access: ConversationAccess) -> None:
    """`access` answers, before any job is acted on or shown, whether the person clicking may
    see the conversation it lives in: a payload can be forged to name any channel."""

    @app.action(blocks.PROVENANCE_ACTION)
    async def show_provenance(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """The full chain behind a request's images, to whoever clicked (only they see it)."""
        await ack()
        job_id, channel = whole_number(str(action.get("value", ""))), _channel(body)
        visible = job_id is not None and await access.may_see(client, body["user"]["id"], channel)
        lineages = await services.lineage.of_job(job_id, channel=channel) if job_id is not None and visible else []
        if not lineages:
            await _answer(respond, NO_RECORD)
            return
        await ephemeral.show(respond, lineage_message(lineages), what="that provenance record")

    @app.action(re.compile(f"^{blocks.FOLLOW_UP_PREFIX}"))
    async def follow_up(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """Variations, Regenerate, HD, Square, Portrait, Landscape."""
        await ack()
        kind = FollowUp(str(action["action_id"]).removeprefix(blocks.FOLLOW_UP_PREFIX))
        try:
            requester = await _requester(body, members)
            if not await access.may_see(client, requester.user_id, _channel(body)):
                await _answer(respond, NO_RECORD)
                return
            again = await services.iteration.follow_up(_job_id(action), kind, channel=_channel(body))
            await services.intake.submit(
                JobRequest(
                    requester=requester,
                    prompt=again.prompt,
                    place=Place(conversation=again.channel, thread=again.thread),
                    edit=again.edit,
                    request_key=f"action:{body['trigger_id']}",
                )
            )
        except BotError as error:
            metrics.refused(error)
            await _answer(respond, replies.for_error(error))

    @app.action(blocks.EDIT_ACTION)
    async def open_edit(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """The dialog opens at once: its trigger expires three seconds after the click."""
        await ack()
        try:
            await _requester(body, members)
            job_id = _job_id(action)
        except BotError as error:
            await _answer(respond, replies.for_error(error))
            return
        job = await services.job_records.get(job_id)
        if (
            job is None
            or job.channel_id != _channel(body)
            or job.thread_ts is None
            or not await access.may_see(client, body["user"]["id"], job.channel_id)
        ):
            await _answer(respond, NO_RECORD)
            return
        images = await services.threads.in_thread(job.channel_id, job.thread_ts, limit=EDIT_IMAGE_CHOICES)
        if not images:
            await _answer(respond, replies.for_error(InputRejected("there is no image in this thread to edit")))
            return
        mine = {image.number for image in await services.threads.of_job(job.id or 0)}
        metadata = json.dumps({"channel": job.channel_id, "thread": job.thread_ts})
        view = blocks.edit_modal(
            images, chosen=sorted(mine), quality=job.quality, defaults=services.option_defaults, metadata=metadata
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(blocks.EDIT_VIEW)
    async def submit_edit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        """Check every field; a bad one is shown next to it and the dialog stays open."""
        place = json.loads(view.get("private_metadata") or "{}")
        channel, thread = str(place.get("channel", "")), str(place.get("thread", ""))
        values = view["state"]["values"]
        errors: dict[str, str] = {}
        try:
            requester = await _requester(body, members)
        except InputRejected as error:
            metrics.refused(error)
            await ack(response_action="errors", errors={"prompt": error.problem})
            return
        if not await access.may_see(client, requester.user_id, channel):
            await ack(response_action="errors", errors={"prompt": "That thread is in a conversation you are not in."})
            return
        size = values["size"]["value"]["selected_option"]["value"]
        defaults = await services.iteration.defaults_for(requester)
        defaults = replace(
            defaults,
            size=defaults.size if size == "keep" else size,
            quality=values["quality"]["value"]["selected_option"]["value"],
        )
        prompt = None
        try:
            parsed = parse_prompt(values["prompt"]["value"].get("value") or "", defaults)
            if isinstance(parsed, HelpWanted):
                raise InputRejected("say what should change")
            prompt = parsed
        except InputRejected as error:
            errors["prompt"] = error.problem
        numbers = [whole_number(str(o["value"])) for o in values["images"]["value"].get("selected_options") or []]
        present = {i.number: i for i in await services.threads.in_thread(channel, thread, limit=THREAD_LOOKUP)}
        chosen = [present.get(number) if number is not None else None for number in numbers]
        if not numbers:
            errors["images"] = "Pick at least one image."
        elif any(image is None for image in chosen):
            errors["images"] = "One of these images is no longer in the thread."
        cells = [o["value"] for o in values["region"]["value"].get("selected_options") or []]
        region = None
        try:
            region = parse_region(",".join(cells)) if cells else None
        except InputRejected as error:
            errors["region"] = error.problem
        if errors or prompt is None:
            metrics.refused(InputRejected(" ".join(errors.values())))
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        if size != "keep":
            prompt = replace(prompt, options=replace(prompt.options, size_given=True))
        prompt = replace(prompt, region=region or prompt.region, version=None)
        edit = EditSource(file_ids=tuple(image.slack_file_id for image in chosen if image and image.slack_file_id))
        try:
            await services.intake.submit(
                JobRequest(
                    requester=requester,
                    prompt=prompt,
                    place=Place(conversation=channel, thread=thread),
                    edit=edit,
                    request_key=f"view:{view['id']}",
                )
            )
        except BotError as error:
            metrics.refused(error)
            await client.chat_postEphemeral(
                channel=channel, user=requester.user_id, thread_ts=thread, **blocks.message(replies.for_error(error))
            )

    @app.action(blocks.DELETE_ACTION)
    async def delete(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """Only the requester or an admin: the files leave Slack, the records stay (marked)."""
        await ack()
        try:
            user = (await _requester(body, members)).user_id  # an admin of another workspace is no admin here
            job_id = _job_id(action)
        except BotError as error:
            await _answer(respond, replies.for_error(error))
            return
        row = await services.job_records.get(job_id)
        if (
            row is None
            or row.id is None
            or row.channel_id != _channel(body)
            or not await access.may_see(client, user, row.channel_id)
        ):
            await _answer(respond, NO_RECORD)
            return
        if user != row.user_id and not await is_admin(client, services, user):
            await _answer(
                respond,
                f":no_entry_sign: Only <@{row.user_id}>, who asked for these images, or an admin can delete them.",
            )
            return
        images = [i for i in await services.threads.of_job(row.id) if i.slack_file_id and i.deleted_at is None]
        for image in images:
            try:
                await client.files_delete(file=image.slack_file_id or "")
            except SlackApiError as exc:
                if exc.response.get("error") not in FILE_GONE:
                    raise
        now = datetime.now(UTC)
        await services.threads.mark_deleted([i.id for i in images if i.id is not None], by=user, at=now)
        job = await services.pipeline.load(row)
        if row.status_ts:
            await client.chat_update(
                channel=row.channel_id,
                ts=row.status_ts,
                **blocks.request_message(
                    job.requester,
                    job.prompt,
                    JobStatus.DONE,
                    model=row.model,
                    editing=job.edit is not None,
                    job_id=row.id,
                    deleted=f":wastebasket: images deleted by <@{user}> {slack_date(now)}",
                ),
            )

    @app.action(re.compile("^default_"))
    async def choose_default(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A Home tab choice: saved, and the tab shows it."""
        await ack()
        requester = Requester(_team(body, members), body["user"]["id"])
        name = blocks.DEFAULT_ACTIONS[str(action["action_id"])]
        await services.iteration.set_default(requester, name, action["selected_option"]["value"], now=datetime.now(UTC))
        await publish_home(client, services, requester)


async def _requester(body: dict[str, Any], members: Membership) -> Requester:
    """Whoever clicked; a visitor from another organisation is declined, as in messages."""
    if not await members.interaction_serves(body):
        raise VisitorDeclined("Easel makes images for members of the workspace that installed it")
    return Requester(_team(body, members), body["user"]["id"])


def _team(body: dict[str, Any], members: Membership) -> str:
    return of_interaction(body, members.installed).team_id


def _channel(body: dict[str, Any]) -> str:
    return str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", ""))


def _job_id(action: dict[str, Any]) -> int:
    job_id = whole_number(str(action.get("value", "")))
    if job_id is None:
        raise InputRejected("that button belongs to no request")
    return job_id


async def _answer(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, **blocks.message(text))
