"""Text as Slack sends it, back to the text the person typed.

Slack escapes `&` `<` `>` as `&amp;` `&lt;` `&gt;` and writes people, channels, links and
special mentions as `<…>` tokens, in messages and in slash commands alike ("Formatting text
for app surfaces", https://api.slack.com/reference/surfaces/formatting, "Escaping text" and
"Retrieving messages"). Every surface decodes here before its options are parsed, so the model
gets what the person typed and a link or an entity can neither hide nor invent an option.

Text typed into a dialog's `plain_text_input` arrives unescaped (it is a value, not a
message), so it is not decoded.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

# A `<…>` token (a person, a channel, a `!command`, or an address with its scheme; then an
# optional `|label`) or one of the three entities. Anything else is left as it is.
_TOKEN = re.compile(r"<([@#][^<>|\s]*|![^<>|]*|[a-zA-Z][\w+.-]*:[^<>|\s]*)(?:\|([^<>]*))?>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_UNESCAPE = re.compile(r"&(amp|lt|gt);")
_BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@everyone", "group": "@channel"}
NAMES_REMEMBERED = 512


def decode(text: str, names: Mapping[str, str] | None = None, *, keep_people: bool = False) -> str:
    """The text as typed: entities become characters, tokens become what they show.

    `<@U…>` becomes `@` and the person's name (from `names`, else the name in the token, else
    the id), or stays a token with `keep_people` (for commands that name people by id);
    `<#C…|name>` `#name`; `<!here>` the plain word `@here`; `<!subteam^S…|@team>` `@team`;
    `<!date^…|fallback>` the fallback; a link its label, or its address."""
    names = names or {}

    def replace(match: re.Match[str]) -> str:
        if match.group(3):
            return _ENTITIES[match.group(3)]
        target, label = match.group(1), _unescape(match.group(2) or "")
        if target.startswith("@") and keep_people:
            return match.group(0)
        if target.startswith("@"):
            user = target[1:]
            return "@" + (names.get(user) or label or user)
        if target.startswith("#"):
            return "#" + (label or "channel")
        if target.startswith("!"):
            command = target[1:]
            if command in _BROADCASTS:
                return _BROADCASTS[command]
            if command.startswith("subteam^"):
                return label or "@team"
            return label or command.split("^", 1)[0]
        address = _unescape(target)
        return label or address.removeprefix("mailto:")

    return _TOKEN.sub(replace, text)


def mentioned_users(text: str) -> set[str]:
    """Ids of the people `text` mentions without a name (messages carry only the id)."""
    return {match.group(1) for match in re.finditer(r"<@([UW][A-Z0-9]+)>", text)}


def mentions(text: str, user_id: str) -> bool:
    """Whether `text` mentions `user_id` (Slack's token, not the typed characters)."""
    return bool(user_id) and re.search(rf"<@{re.escape(user_id)}[|>]", text) is not None


def without_mention(text: str, user_id: str) -> str:
    """`text` with every mention of `user_id` (Easel's own, in a mention) taken out."""
    return re.sub(rf"<@{re.escape(user_id)}(?:\|[^<>]*)?>", " ", text) if user_id else text


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda match: _ENTITIES[match.group(1)], text)


@dataclass(frozen=True)
class _Profile:
    name: str | None
    organisation: str | None  # on Enterprise Grid: `enterprise_user.enterprise_id`


class DisplayNames:
    """The name Slack shows for a person, from `users.info`, remembered for the next time;
    with it, on Enterprise Grid, the organisation the person belongs to."""

    def __init__(self, client: AsyncWebClient, *, size: int = NAMES_REMEMBERED) -> None:
        self._client = client
        self._size = size
        self._known: OrderedDict[str, _Profile] = OrderedDict()

    async def of(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Names for the ids that have one; an id Slack will not describe is left out (the
        decoder then uses the name in the token, or the id)."""
        found: dict[str, str] = {}
        for user_id in user_ids:
            profile = await self._profile(user_id)
            if profile is not None and profile.name:
                found[user_id] = profile.name
        return found

    async def organisation(self, user_id: str) -> str | None:
        """The Enterprise Grid organisation (`E…`) the person belongs to; None off Grid, or
        when Slack will not describe them."""
        profile = await self._profile(user_id)
        return profile.organisation if profile is not None else None

    async def _profile(self, user_id: str) -> _Profile | None:
        profile = self._known.get(user_id)
        if profile is None:
            profile = await self._look_up(user_id)
            if profile is None:
                return None
            self._known[user_id] = profile
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        self._known.move_to_end(user_id)
        return profile

    async def _look_up(self, user_id: str) -> _Profile | None:
        try:
            user = (await self._client.users_info(user=user_id))["user"]
        except SlackApiError as exc:
            logger.info("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return None
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
        organisation = (user.get("enterprise_user") or {}).get("enterprise_id")
        return _Profile(str(name) if name else None, str(organisation) if organisation else None)

    async def decode(self, text: str) -> str:
        """`decode`, with the names of the people the text mentions looked up."""
        return decode(text, await self.of(sorted(mentioned_users(text))))
