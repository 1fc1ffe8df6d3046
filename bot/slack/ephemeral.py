"""Answers only the asker sees, through a command's or a click's response URL.

`respond()` hands Slack's refusal back (a 400 `invalid_blocks`) instead of raising, so an
answer Slack will not show is logged and replaced by a short note, never left as silence."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncRespond

from bot.slack import block_kit, replies

logger = logging.getLogger(__name__)


async def show(respond: AsyncRespond, reply: dict[str, Any], *, what: str) -> None:
    """Show `reply` to the asker; `what` names it in the note if Slack refuses it."""
    shown = await respond(response_type="ephemeral", replace_original=False, **reply)
    if shown.status_code != 200:
        logger.warning("%s not shown: %s", what, shown.body)
        await respond(response_type="ephemeral", replace_original=False, **block_kit.message(replies.not_shown(what)))
