"""Whether a person may see a conversation, asked before a button or a dialog acts on a job
there or shows its provenance.

Slack signs interactive payloads, so only a forged one names a conversation the person is not
in; a leaked signing secret or a bug elsewhere must still not open a private channel. Anyone
in the workspace may see a public channel, except guests, who see only their own channels;
anything else (private channels, group and direct messages) only its members. Answers are
kept for a minute: conversations.info is Tier 3 and a click must stay fast.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
MEMBERS_PER_PAGE = 1000  # conversations.members takes up to 1000 per page
K = TypeVar("K")
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """Answers kept for `seconds`; a missing or stale one is asked for again."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clock = clock
        self._kept: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, ask: Callable[[K], Awaitable[V]]) -> V:
        kept = self._kept.get(key)
        if kept is not None and self._clock() - kept[0] < self._seconds:
            return kept[1]
        value = await ask(key)
        self._kept[key] = (self._clock(), value)
        return value


class ConversationAccess:
    def __init__(self, *, seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._conversations: _Recent[str, dict[str, Any] | None] = _Recent(seconds, clock)
        self._members: _Recent[str, frozenset[str]] = _Recent(seconds, clock)
        self._guests: _Recent[str, bool] = _Recent(seconds, clock)

    async def may_see(self, client: AsyncWebClient, user_id: str, channel: str) -> bool:
        """True when `user_id` may see `channel`; False too when Slack will not say."""
        info = await self._conversations.get(channel, functools.partial(_conversation, client))
        if info is None:
            return False
        if info.get("is_im"):
            return info.get("user") == user_id
        public = info.get("is_channel") and not info.get("is_private")
        if public and not await self._guests.get(user_id, functools.partial(_is_guest, client)):
            return True
        return user_id in await self._members.get(channel, functools.partial(_members, client))


async def _conversation(client: AsyncWebClient, channel: str) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = (await client.conversations_info(channel=channel))["channel"]
        return info
    except SlackApiError as exc:
        logger.warning("conversations.info for %s: %s", channel, exc.response.get("error"))
        return None


async def _is_guest(client: AsyncWebClient, user_id: str) -> bool:
    try:
        info = (await client.users_info(user=user_id))["user"]
    except SlackApiError as exc:
        logger.warning("users.info for %s: %s", user_id, exc.response.get("error"))
        return True  # unknown: treated as someone who sees only their own channels
    return bool(info.get("is_restricted") or info.get("is_ultra_restricted"))


async def _members(client: AsyncWebClient, channel: str) -> frozenset[str]:
    found: set[str] = set()
    cursor = None
    try:
        while True:
            page = await client.conversations_members(channel=channel, limit=MEMBERS_PER_PAGE, cursor=cursor)
            found.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return frozenset(found)
    except SlackApiError as exc:
        logger.warning("conversations.members for %s: %s", channel, exc.response.get("error"))
        return frozenset()
