"""Events Easel subscribes to. Each subscribed type has a listener, or Slack would get no
ack and deliver the event again."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncSay
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.people import Requester
from bot.domain.requests import HelpWanted, parse_prompt
from bot.errors import InputRejected
from bot.slack import blocks, replies
from bot.slack.intake import start_job
from bot.wiring import Services

logger = logging.getLogger(__name__)
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_mention")
    async def mentioned(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, say: AsyncSay) -> None:
        """`@Easel a lighthouse at dusk` generates, answering in the mention's thread."""
        if not await services.events.first_delivery(body.get("event_id")):
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        text = _MENTION.sub(" ", event.get("text", ""))
        try:
            parsed = parse_prompt(text, services.option_defaults)
        except InputRejected as error:
            await say(thread_ts=thread_ts, **blocks.message(replies.for_error(error)))
            return
        if isinstance(parsed, HelpWanted):
            defaults = services.option_defaults
            await say(
                thread_ts=thread_ts,
                **blocks.help_message(default_size=defaults.size, default_quality=defaults.quality),
            )
            return
        await start_job(
            client,
            services.jobs,
            requester=Requester(body.get("team_id") or event.get("team", ""), event["user"]),
            prompt=parsed,
            channel=event["channel"],
            thread_ts=thread_ts,
        )

    @app.event("message")
    async def message(event: dict[str, Any]) -> None:
        """Messages are acknowledged; turning thread replies into edits is the threaded-
        iteration work. A mention also arrives here and is handled as `app_mention`."""
        logger.debug("message %s in %s acknowledged", event.get("ts"), event.get("channel"))
