"""manifest.yml matches what the bot does: its command, every subscribed event is acked, and
the scopes cover every Web API method a full /imagine run calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunningBot, eventually
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

MANIFEST: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parent.parent / "manifest.yml").read_text())
SCOPES = set(MANIFEST["oauth_config"]["scopes"]["bot"])
BOT_EVENTS = MANIFEST["settings"]["event_subscriptions"]["bot_events"]

# The bot scope each Web API method needs (docs.slack.dev, "Required scopes").
METHOD_SCOPES = {
    "auth.test": None,
    "apps.connections.open": None,  # app-level token, connections:write
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "conversations.replies": "channels:history",
    "users.info": "users:read",
    "conversations.info": "channels:read",  # groups:, im:, mpim:read for the other kinds
    "conversations.members": "channels:read",
    "views.publish": None,  # the Home tab needs no scope
}


def test_socket_mode_and_the_command_are_declared() -> None:
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == ["/imagine"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert {"message.channels", "message.groups", "message.im", "message.mpim"} <= set(BOT_EVENTS)
    assert "app_mention" not in BOT_EVENTS, "mentions arrive as messages: one path, least privilege"
    assert "app_mentions:read" not in SCOPES
    assert "im:history" in SCOPES and MANIFEST["features"]["app_home"]["messages_tab_enabled"], "prompts by DM"


@pytest.mark.parametrize("subscription", BOT_EVENTS)
async def test_every_subscribed_event_is_acked(bot: RunningBot, slack: FakeSlack, subscription: str) -> None:
    """An event without a listener gets no ack, and Slack delivers it again and again."""
    if subscription == "app_home_opened":
        payload = slack.app_home_opened_event()
    else:
        payload = slack.message_event("hello there")
        payload["event"]["channel_type"] = {"message.channels": "channel", "message.groups": "group"}.get(
            subscription, subscription.removeprefix("message.")
        )
    ack = await slack.wait_for_ack(await slack.send_envelope("events_api", payload))
    assert ack.latency < 3.0


async def test_scopes_cover_every_method_the_bot_calls(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    await slack.slash("a lighthouse --n 2")
    await eventually(lambda: len(slack.files) == 2, what="the uploads")
    click = slack.block_action("show_provenance", "1", message_ts=slack.messages[0].ts)
    await slack.wait_for_ack(await slack.send_envelope("interactive", click))
    await eventually(lambda: len(slack.responses) == 1, what="the provenance")
    called = {call.method for call in slack.calls if call.method != "upload"}  # the upload URL is no method
    assert called - METHOD_SCOPES.keys() == set(), "a new Web API method: add its scope to METHOD_SCOPES"
    missing = {method: METHOD_SCOPES[method] for method in called if METHOD_SCOPES[method] not in (None, *SCOPES)}
    assert missing == {}
