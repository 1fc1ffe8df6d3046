"""The `/imagine` slash command: parse, ack, start a job (or answer an account command)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.domain.admin import parse_account_command
from bot.domain.model import JobRequest, Place
from bot.domain.people import Requester
from bot.domain.requests import HelpWanted, Prompt, parse_prompt
from bot.errors import BotError, InputRejected
from bot.slack import account, block_kit, ephemeral, replies
from bot.slack.decoding import DisplayNames, decode
from bot.slack.help_messages import help_message
from bot.slack.visibility import ConversationAccess
from bot.wiring import Services

# Bolt sends an ack when its poller, which looks every 10 ms, sees it; yielding that long
# before the post-ack work lets a burst of commands be acked before any of them is worked on.
ACK_FLUSH_SECONDS = 0.015


def register(app: AsyncApp, services: Services, names: DisplayNames, access: ConversationAccess) -> None:
    @app.command("/imagine")
    async def imagine(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        """Answer bad input and help in the ack itself; everything else after it."""
        requester = Requester(command["team_id"], command["user_id"])
        try:
            # Account commands name people by their tokens (`<@U…|name>`), so they read the text
            # as typed but for those; a prompt is read as the person typed it.
            account_command = parse_account_command(decode(command.get("text", ""), keep_people=True))
            # The workspace's defaults here: the ack must not wait for the database.
            parsed = None if account_command else parse_prompt(_typed(command), services.option_defaults)
            if isinstance(parsed, Prompt) and (parsed.region is not None or parsed.version is not None):
                raise InputRejected("`--region` and `#N` are for edits: reply in an image's thread with them")
        except InputRejected as error:
            metrics.refused(error)
            await ack(response_type="ephemeral", **block_kit.message(replies.for_error(error)))
            return
        if account_command is not None:
            await ack()
            reply = await account.answer(
                account_command, requester, client, services, channel=command["channel_id"], access=access
            )
            await ephemeral.show(respond, reply, what="that answer")
            return
        if isinstance(parsed, HelpWanted) or parsed is None:
            await ack(
                response_type="ephemeral",
                **help_message(services.option_defaults, quiet_prefix=services.settings.quiet_prefix),
            )
            return
        await ack()
        await asyncio.sleep(ACK_FLUSH_SECONDS)
        key = _request_key(command)
        if not await services.events.first_delivery(key, payload=json.dumps(command)):
            return  # delivered twice
        try:
            await _start(command, services, names, respond)
        finally:
            await services.events.handled(key, at=datetime.now(UTC))


async def replay(payload: str, services: Services, names: DisplayNames) -> None:
    """A command a stopped process acked but did not start: start it now."""
    command = json.loads(payload)
    await _start(command, services, names, AsyncRespond(response_url=command.get("response_url")))


async def _start(command: dict[str, Any], services: Services, names: DisplayNames, respond: AsyncRespond) -> None:
    requester = Requester(command["team_id"], command["user_id"])
    try:
        # Now with the person's own defaults (which can still refuse, e.g. --transparent with JPEG),
        # and the names of the people mentioned without one, looked up now that the ack is sent.
        typed = await names.decode(command.get("text", ""))
        parsed = parse_prompt(typed, await services.iteration.defaults_for(requester))
        assert isinstance(parsed, Prompt)  # the same text parsed to a prompt in the ack
        await services.intake.submit(
            JobRequest(
                requester=requester,
                prompt=parsed,
                place=Place(conversation=command["channel_id"]),
                request_key=_request_key(command),
            )
        )
    except BotError as error:
        metrics.refused(error)
        await respond(response_type="ephemeral", replace_original=False, **block_kit.message(replies.for_error(error)))


def _typed(command: dict[str, Any]) -> str:
    """The command's text as the person typed it, for the ack, which must not wait on Slack: a
    mention with a name (`<@U…|name>`, `should_escape` in manifest.yml) shows it, one without
    (Slack may leave it out) its id until `_start` looks the name up."""
    return decode(command.get("text", ""))


def _request_key(command: dict[str, Any]) -> str | None:
    """A command's own id (Slack gives each a trigger id): kept until handled, one job at most."""
    return f"command:{command['trigger_id']}" if command.get("trigger_id") else None
