"""`/imagine usage` for everyone, `/imagine admin …` for admins."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.admin import AdminCommand, Exempt, Pause, SetLimits, ShowMyUsage, ShowProvenance, ShowUsage
from bot.domain.people import Requester
from bot.slack import block_kit, replies
from bot.slack.lineage_view import lineage_message
from bot.slack.usage_messages import usage_message, workspace_message
from bot.slack.visibility import ConversationAccess
from bot.wiring import Services

logger = logging.getLogger(__name__)


async def is_admin(client: AsyncWebClient, services: Services, user_id: str) -> bool:
    """Named in ADMIN_USER_IDS, or a Slack workspace admin or owner."""
    if user_id in services.settings.admin_user_ids:
        return True
    try:
        user = (await client.users_info(user=user_id))["user"]
    except SlackApiError as exc:
        logger.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


async def answer(
    command: ShowMyUsage | ShowProvenance | AdminCommand,
    requester: Requester,
    client: AsyncWebClient,
    services: Services,
    *,
    channel: str,
    access: ConversationAccess,
) -> dict[str, Any]:
    """The ephemeral reply to an account command; provenance only to who may see `channel`
    (a forged command could name any)."""
    limits, now = services.limits, datetime.now(UTC)
    if isinstance(command, ShowMyUsage):
        return usage_message(await limits.usage(requester, now=now), user_id=requester.user_id)
    if isinstance(command, ShowProvenance):
        visible = await access.may_see(client, requester.user_id, channel)
        lineage = await services.lineage.of_file(command.file_id, channel=channel) if visible else None
        if lineage is None:
            return block_kit.message(replies.NO_IMAGE_RECORD)
        return lineage_message([lineage])
    if not await is_admin(client, services, requester.user_id):
        return block_kit.message(replies.ADMINS_ONLY)
    team, by = requester.team_id, requester.user_id
    match command:
        case ShowUsage(user_id=None):
            return workspace_message(await limits.workspace(team, now=now))
        case ShowUsage(user_id=str(user)):
            return usage_message(await limits.usage(Requester(team, user), now=now), user_id=user)
        case SetLimits():
            await limits.set_limits(
                team,
                command.user_id,
                by=by,
                now=now,
                images_per_day=command.images_per_day,
                usd_micros_per_month=command.usd_micros_per_month,
            )
            report = await limits.usage(Requester(team, command.user_id), now=now)
            return usage_message(report, user_id=command.user_id, heading="New limits")
        case Exempt():
            await limits.set_limits(team, command.user_id, by=by, now=now, exempt=True)
            return block_kit.message(replies.exempt(command.user_id))
        case Pause(paused=paused):
            await limits.set_paused(team, paused, by=by, now=now)
            logger.warning("%s %s Easel for team %s", by, "paused" if paused else "resumed", team)
            if paused:
                return block_kit.message(replies.PAUSED)
            return block_kit.message(replies.RESUMED)
    raise AssertionError(f"unhandled command {command!r}")
