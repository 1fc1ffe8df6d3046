"""The `/imagine` slash command: parse, ack, start a job (or answer an account command)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.domain.requests import HelpWanted, Prompt
from bot.errors import BotError, InputRejected
from bot.slack import account, block_kit, ephemeral, replies, requests
from bot.slack.decoding import DisplayNames
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
        try:
            # The workspace's defaults here: the ack must not wait for the database.
            asked = requests.command_at_ack(command, services.option_defaults)
        except InputRejected as error:
            metrics.refused(error)
            await ack(response_type="ephemeral", **block_kit.message(replies.for_error(error)))
            return
        if isinstance(asked, HelpWanted):
            await ack(
                response_type="ephemeral",
                **help_message(services.option_defaults, quiet_prefix=services.settings.quiet_prefix),
            )
            return
        if not isinstance(asked, Prompt):
            await ack()
            reply = await account.answer(
                asked, requests.person(command), client, services, channel=command["channel_id"], access=access
            )
            await ephemeral.show(respond, reply, what="that answer")
            return
        await ack()
        await asyncio.sleep(ACK_FLUSH_SECONDS)
        key = requests.command_key(command)
        if not await services.deliveries.first(key, payload=json.dumps(command)):
            return  # delivered twice
        try:
            await _start(command, services, names, respond)
        finally:
            await services.deliveries.handled(key)


async def replay(payload: str, services: Services, names: DisplayNames) -> None:
    """A command a stopped process acked but did not start: start it now."""
    command = json.loads(payload)
    await _start(command, services, names, AsyncRespond(response_url=command.get("response_url")))


async def _start(command: dict[str, Any], services: Services, names: DisplayNames, respond: AsyncRespond) -> None:
    try:
        await services.intake.submit(await requests.command_request(command, names, services.iteration.defaults_for))
    except BotError as error:
        metrics.refused(error)
        await respond(response_type="ephemeral", replace_original=False, **block_kit.message(replies.for_error(error)))
