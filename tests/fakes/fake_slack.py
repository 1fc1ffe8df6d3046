"""A local Slack: the Web API over HTTP, the Socket Mode WebSocket, and file hosting.

The real `slack_sdk` clients and the real Bolt `AsyncApp` talk to it by URL (`SLACK_API_URL`).
It keeps the state a test asserts on (messages with their updates, uploaded files with their
exact bytes, ephemeral replies, acks with their latency), records every call, and can be told
to fail a method (`ratelimited` with Retry-After, upload errors, …).

What it models, as Slack does it:
- text: tests write what a person types; messages arrive with `text` escaped and tokenised and
  a `rich_text` block, commands as `should_escape` in manifest.yml says (`slack_text.py`);
- Block Kit limits: blocks over them are refused with `invalid_blocks` (messages, uploads,
  response URLs) or `invalid_arguments` (views) (`block_kit.py`);
- Slack Connect and Enterprise Grid payload shapes on request (`SharedChannel`, `enterprise_id`,
  `org_wide`): the outer `team_id` and `enterprise_id` are the host's, `authorizations[0]` the
  installation's, `event.user_team` the person's; an organisation-wide installation's
  interactions say `"team": null`; `users.info` names a Grid person's organisation;
- Slack's rate-limit tiers with `tiers` on: 429 `ratelimited` with `Retry-After`, per method
  per workspace and per channel for `chat.postMessage` (`SlackTiers`);
- `users.info` with display names, `files.delete` answering `file_deleted` for a file already
  gone, direct-message channels (`D…`), membership (`not_in_channel`), deleted threads, the
  three-step upload with asynchronous sharing, private file URLs that need the bot token.

What it does not model: rate limits unless asked (`tiers`, `fail_next`), message formatting
beyond the tokens above (bold, code, emoji names pass through as typed), `app_mention` events
(Easel does not subscribe to them), scopes, token rotation, retries of unacked events, and
the HTML of file previews.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from aiohttp import WSMsgType, web

from tests.fakes.block_kit import message_problems, view_problems
from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack_text import Directory, as_command, as_message

SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


@dataclass
class RecordedCall:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float


@dataclass
class PostedMessage:
    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    user: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class UploadedFile:
    id: str
    filename: str
    title: str | None
    alt_txt: str | None
    content: bytes
    channel: str | None
    thread_ts: str | None
    initial_comment: str | None
    blocks: list[dict[str, Any]] | None
    completed_at: float = 0.0


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    latency: float


@dataclass
class Channel:
    id: str
    name: str
    bot_is_member: bool
    private: bool = False
    members: set[str] = field(default_factory=set)  # people; anyone may see a public channel but guests


@dataclass(frozen=True)
class Person:
    id: str
    name: str  # the display name autocomplete matches and users.info gives
    team: str | None = None  # None: the installing workspace
    enterprise: str | None = None  # their Grid organisation (None with `team` None: the installation's)


@dataclass(frozen=True)
class SharedChannel:
    """A Slack Connect channel hosted by another organisation's workspace `host_team`; a host
    on Enterprise Grid (`host_enterprise`, the default: the harder case) puts its organisation
    in the payload's outer `enterprise_id`, as it does its workspace in `team_id`."""

    host_team: str = "T0HOST"
    host_enterprise: str | None = "E0HOST"


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None


_MIME_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())
# "Escape channels, users, and links sent to your app", per command.
SHOULD_ESCAPE = {c["command"]: bool(c.get("should_escape")) for c in MANIFEST["features"]["slash_commands"]}
# Web API methods that take the app-level token rather than the bot token.
APP_TOKEN_METHODS = {"apps.connections.open"}

# Slack's rate limits (https://docs.slack.dev/apis/web-api/rate-limits): "per API method per app
# per workspace", each method by the tier on its reference page, "windows are per minute" with
# bursts allowed: Tier 3 "50+ per minute", Tier 4 "100+ per minute". chat.postMessage is
# special: "one message per second per channel", "short bursts >1 allowed". Over a limit,
# HTTP 429 with `Retry-After` (whole seconds) and the error `ratelimited`.
TIER_3, TIER_4 = 50, 100
CALLS_PER_MINUTE = {
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "files.delete": TIER_3,
    "conversations.info": TIER_3,
    "conversations.replies": TIER_3,
    "chat.postEphemeral": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "files.info": TIER_4,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.publish": TIER_4,
}
POSTS_PER_SECOND_PER_CHANNEL, POST_BURST = 1.0, 3


class _Bucket:
    """A token bucket: `capacity` calls at once, refilled at `per_second`."""

    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity, self.per_second = capacity, per_second
        self.tokens, self.at = capacity, time.monotonic()

    def take(self) -> float | None:
        """None when the call may go ahead, else the seconds until it may."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.per_second


class SlackTiers:
    """Slack's rate limits for one workspace: a bucket per method, and per channel for
    chat.postMessage."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def wait(self, method: str, params: dict[str, Any]) -> float | None:
        """None when Slack would answer the call, else its Retry-After."""
        if method == "chat.postMessage":
            key, capacity, rate = f"{method}:{params.get('channel')}", POST_BURST, POSTS_PER_SECOND_PER_CHANNEL
        elif method in CALLS_PER_MINUTE:
            key, capacity, rate = method, CALLS_PER_MINUTE[method], CALLS_PER_MINUTE[method] / 60
        else:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, rate)
        return bucket.take()


class FakeSlack(LoopbackServer):
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        team_id: str = "T0TEAM",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        enterprise_id: str | None = None,
        org_wide: bool = False,
        tiers: bool = False,
    ) -> None:
        """`tiers`: enforce Slack's rate limits (off for functional tests, which count calls
        and outcomes rather than wait out a minute's budget)."""
        super().__init__()
        self.enterprise_id = enterprise_id  # an Enterprise Grid organisation
        self.org_wide = org_wide  # installed for the whole organisation
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[RecordedCall] = []
        self.tiers = SlackTiers() if tiers else None
        self.limited: list[RecordedCall] = []  # calls answered 429 by the tiers
        self.messages: list[PostedMessage] = []
        self.files: dict[str, UploadedFile] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.file_downloads: list[RecordedCall] = []
        self.acks: dict[str, Ack] = {}
        self.channels: dict[str, Channel] = {}
        self.workspace_admins: set[str] = set()  # users.info says is_admin for these
        self.guests: set[str] = set()  # users.info says is_restricted: they see only their channels
        # file id: where its download answers 302 to. Slack's file hosts redirect (to sign-in, or
        # to another file host); a client that follows by itself takes its headers along.
        self.download_redirects: dict[str, str] = {}
        self.add_channel("C0GENERAL", name="general")
        self.people: dict[str, Person] = {}
        for person in (("U0ALICE", "alice"), ("U0BOB", "bob"), ("U0CAROL", "carol"), ("U0ADMIN", "admin")):
            self.add_person(*person)
        self.add_person(bot_user_id, "Easel")
        self.groups = {"designers": "S0DESIGN"}  # user groups: handle → id
        self._deleted_files: set[str] = set()
        self._hosted: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._held: dict[str, float] = {}
        self.share_lag = 0.0  # seconds before files.info shows a completed upload's shares, as Slack may
        self._deleted: set[tuple[str, str]] = set()
        self._sent_at: dict[str, float] = {}
        self._ack_events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._socket: web.WebSocketResponse | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._connected = asyncio.Event()
        self.accepting_connections = True  # False: the Socket Mode endpoint answers 503, as in an outage
        self._clock = itertools.count(1)
        self._ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._web_api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{key}/{name}", self._download)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/socket-mode", self._socket_mode)

    async def closing(self) -> None:
        for socket in self._sockets:
            await socket.close()

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # -- state for tests -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def message(self, channel: str, ts: str) -> PostedMessage:
        for posted in self.messages:
            if posted.channel == channel and posted.ts == ts:
                return posted
        raise KeyError(f"no message {ts} in {channel}")

    def thread(self, channel: str, thread_ts: str) -> list[PostedMessage]:
        """The replies in a thread, oldest first (not the parent)."""
        return [m for m in self.messages if m.channel == channel and m.thread_ts == thread_ts and m.ts != thread_ts]

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str = "",
        bot_is_member: bool = True,
        private: bool = False,
        members: tuple[str, ...] = (),
    ) -> None:
        self.channels[channel_id] = Channel(
            channel_id, name or channel_id.lower(), bot_is_member, private, set(members)
        )

    def add_person(self, user_id: str, name: str, *, team: str | None = None, enterprise: str | None = None) -> None:
        self.people[user_id] = Person(user_id, name, team, enterprise)

    def direct_messages(self, user: str) -> str:
        """The conversation between Easel and `user` (the app's Messages tab)."""
        channel = "D" + user[1:]
        self.channels.setdefault(channel, Channel(channel, channel.lower(), bot_is_member=True))
        return channel

    @property
    def directory(self) -> Directory:
        return Directory(
            people={p.name: p.id for p in self.people.values()},
            channels={c.name: c.id for c in self.channels.values() if not c.id.startswith("D")},
            groups=self.groups,
        )

    def host_file(
        self,
        content: bytes,
        *,
        name: str,
        mimetype: str,
        channel: str | None = None,
        user: str = "U0ALICE",
        filetype: str | None = None,
    ) -> dict[str, Any]:
        """Host a file as if a person had shared it; returns Slack's file object."""
        file_id = f"F{next(self._ids):08d}"
        url = f"{self.base_url}/files-pri/{self.team_id}-{file_id}/{name}"
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": filetype or name.rsplit(".", 1)[-1].lower(),
            "size": len(content),
            "user": user,
            "url_private": url,
            "url_private_download": url + "?download=1",
            "shares": {"public": {channel: [{"ts": self._next_ts()}]}} if channel else {},
            "channels": [channel] if channel else [],
        }
        self._hosted[file_id] = (info, content)
        return info

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail ("upload" for the upload URL, answered
        with 500; "download" for hosted files, answered with 404 as a file not ready yet;
        "response" for response URLs, answered with 400 `invalid_blocks`)."""
        for _ in range(times):
            self._failures[method].append(_Failure(error, 429 if retry_after is not None else status, retry_after))

    def hold(self, method: str, seconds: float) -> None:
        """Do what `method` asks, then wait `seconds` before answering ("upload" for the
        upload URL): the caller can be killed after Slack acted but before it heard back."""
        self._held[method] = seconds

    def delete_file(self, file_id: str) -> None:
        """A person deletes a file Easel posted, in Slack."""
        del self.files[file_id]
        self._deleted_files.add(file_id)

    def delete(self, channel: str, ts: str) -> None:
        """A person deletes a message; a thread it started with no replies is gone with it."""
        self.messages.remove(self.message(channel, ts))
        self._deleted.add((channel, ts))

    # -- Socket Mode -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def drop_connections(self) -> None:
        """Close every Socket Mode connection from Slack's side, as a network failure would."""
        for socket in list(self._sockets):
            await socket.close()

    async def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        await self.wait_connected()
        assert self._socket is not None
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": type != "events_api",
        }
        if type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self._sent_at[envelope_id] = time.monotonic()
        await self._socket.send_str(json.dumps(envelope))
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        await asyncio.wait_for(self._ack_events[envelope_id].wait(), timeout)
        return self.acks[envelope_id]

    async def slash(self, text: str, **kwargs: Any) -> Ack:
        envelope_id = await self.send_envelope("slash_commands", self.slash_command(text, **kwargs))
        return await self.wait_for_ack(envelope_id)

    async def say(
        self,
        text: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        shared: SharedChannel | None = None,
    ) -> dict[str, Any]:
        """A person types `text` and posts it; Slack delivers it as a `message` event (a
        mention of Easel too: `app_mention` is not subscribed). Returns the message's event."""
        payload = self.message_event(text, user=user, channel=channel, thread_ts=thread_ts, files=files, shared=shared)
        event = payload["event"]
        self.messages.append(
            PostedMessage(
                channel=channel,
                ts=event["ts"],
                text=event["text"],
                blocks=event["blocks"],
                thread_ts=thread_ts,
                user=user,
                files=[file["id"] for file in files or []],
            )
        )
        await self.wait_for_ack(await self.send_envelope("events_api", payload))
        return dict(event)

    # -- payload builders ------------------------------------------------------------------

    def slash_command(
        self, text: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL", command: str = "/imagine"
    ) -> dict[str, Any]:
        """As Slack sends what the person typed: form fields, the text escaped as the command's
        `should_escape` says, and no thread_ts even when typed in a thread."""
        payload = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "easel-test",
            "channel_id": channel,
            "channel_name": self.channels[channel].name if channel in self.channels else "private",
            "user_id": user,
            "user_name": self._person(user).name,
            "command": command,
            "text": as_command(text, self.directory, should_escape=SHOULD_ESCAPE.get(command, False)),
            "api_app_id": "A0EASEL",
            "is_enterprise_install": str(self.org_wide).lower(),
            "response_url": f"{self.base_url}/response/{uuid.uuid4().hex}",
            "trigger_id": f"{next(self._ids)}.{uuid.uuid4().hex[:12]}",
        }
        if self.enterprise_id:
            payload.update(enterprise_id=self.enterprise_id, enterprise_name="Easel Org")
        return payload

    def message_event(
        self,
        text: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        shared: SharedChannel | None = None,
    ) -> dict[str, Any]:
        """The event for a message a person typed. In a channel shared with another
        organisation (`shared`) the outer `team_id` is the host's, and the person's own team
        (`Person.team`, else the installing workspace) is in `user_team`."""
        typed = as_message(text, self.directory)
        team = self._person(user).team or self.team_id
        event: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": typed.text,
            "blocks": [typed.rich_text],
            "ts": self._next_ts(),
            "channel": channel,
            "channel_type": "im" if channel.startswith("D") else "channel",
            "team": team,
            "user_team": team,
            "source_team": team,
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        if files:
            event["files"] = files
            event.setdefault("subtype", "file_share")
        if bot_id:
            event["bot_id"] = bot_id
        if subtype:
            event["subtype"] = subtype
        return self._event_callback(event, shared=shared)

    def app_home_opened_event(self, *, user: str = "U0ALICE", tab: str = "home") -> dict[str, Any]:
        event = {"type": "app_home_opened", "user": user, "channel": "D0EASEL", "tab": tab, "event_ts": self._next_ts()}
        return self._event_callback(event)

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        message_ts: str = "",
        block_id: str = "b",
        selected: str | None = None,
        user_team: str | None = None,
    ) -> dict[str, Any]:
        """A click on a button, or (`selected`) a choice in a select menu; with no
        `message_ts`, the click comes from the app's Home tab."""
        action: dict[str, Any] = {
            "type": "static_select" if selected is not None else "button",
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": self._next_ts(),
        }
        if selected is not None:
            action["selected_option"] = {"text": {"type": "plain_text", "text": selected}, "value": selected}
        else:
            action["value"] = value
        if not message_ts:
            return {
                "type": "block_actions",
                **self._organisation(),
                "user": self._clicker(user, user_team),
                "api_app_id": "A0EASEL",
                "token": "legacy-verification-token",
                "container": {"type": "view", "view_id": "VHOME"},
                "trigger_id": f"{next(self._ids)}.{uuid.uuid4().hex[:12]}",
                "view": {"id": "VHOME", "type": "home"},
                "actions": [action],
            }
        return {
            "type": "block_actions",
            **self._organisation(),
            "user": self._clicker(user, user_team),
            "api_app_id": "A0EASEL",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "trigger_id": f"{next(self._ids)}.{uuid.uuid4().hex[:12]}",
            "channel": {"id": channel, "name": self.channels[channel].name if channel in self.channels else ""},
            "message": {"ts": message_ts, "type": "message"},
            "response_url": f"{self.base_url}/response/{uuid.uuid4().hex}",
            "actions": [action],
        }

    def view_submission(self, view: dict[str, Any], values: dict[str, Any], *, user: str = "U0ALICE") -> dict[str, Any]:
        """A person submits a modal Easel opened; `values` maps each input block id to its
        element's state (`{"value": …}`, `{"selected_option": …}` or `{"selected_options": […]}`)."""
        return {
            "type": "view_submission",
            **self._organisation(),
            "user": self._clicker(user, None),
            "api_app_id": "A0EASEL",
            "token": "legacy-verification-token",
            "trigger_id": f"{next(self._ids)}.{uuid.uuid4().hex[:12]}",
            "view": {
                **view,
                "id": view.get("id") or f"V{next(self._ids):08d}",
                "state": {"values": {block: {"value": state} for block, state in values.items()}},
            },
        }

    def _event_callback(self, event: dict[str, Any], *, shared: SharedChannel | None = None) -> dict[str, Any]:
        """The Events API envelope ("Events API", "Callback field",
        https://docs.slack.dev/apis/events-api): `authorizations` names the installation the
        event is delivered to; `team_id` is the workspace hosting the conversation."""
        authorization: dict[str, Any] = {
            "enterprise_id": self.enterprise_id,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "is_bot": True,
            "is_enterprise_install": self.org_wide,
        }
        return {
            "token": "legacy-verification-token",
            "team_id": shared.host_team if shared else self.team_id,
            "enterprise_id": shared.host_enterprise if shared else self.enterprise_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": self.enterprise_id,
            "api_app_id": "A0EASEL",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):010d}",
            "event_time": int(time.time()),
            "authorizations": [authorization],
            "is_ext_shared_channel": shared is not None,
        }

    def _organisation(self) -> dict[str, Any]:
        """Interaction payloads name the workspace and the Enterprise Grid organisation, if
        any. An organisation-wide installation belongs to no one workspace, and its payloads
        say `"team": null` (the comment in slack_bolt/request/internals.py, `extract_team_id`;
        oauth.v2.access answers `"team": null` for such an install,
        https://api.slack.com/enterprise/apps/reference)."""
        team = None if self.org_wide else {"id": self.team_id, "domain": "easel-test"}
        if not self.enterprise_id:
            return {"team": team}
        organisation = {"enterprise": {"id": self.enterprise_id, "name": "Easel Org"}}
        return {"team": team, **organisation, "is_enterprise_install": self.org_wide}

    def _clicker(self, user: str, team: str | None) -> dict[str, Any]:
        """The `user` of an interaction payload: their own team (a visitor's is not ours)."""
        return {
            "id": user,
            "username": self._person(user).name,
            "team_id": team or self._person(user).team or self.team_id,
        }

    def _person(self, user: str) -> Person:
        return self.people.get(user) or Person(user, user.lower())

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._clock):06d}"

    # -- HTTP handlers ---------------------------------------------------------------------

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        self.calls.append(RecordedCall(method, params, dict(request.headers), time.monotonic()))
        if self._failures[method]:
            failure = self._failures[method].popleft()
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        if self.tiers is not None and (wait := self.tiers.wait(method, params)) is not None:
            self.limited.append(self.calls[-1])
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
        token = _token(request, params)
        expected = self.app_token if method in APP_TOKEN_METHODS else self.bot_token
        if token is None:
            return _error("not_authed")
        if token != expected:
            return _error("invalid_auth")
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        result: dict[str, Any] = handler(params)
        if method in self._held:
            await asyncio.sleep(self._held[method])
        return web.json_response(result)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        content = await request.read()
        self.calls.append(RecordedCall("upload", {"file_id": file_id}, dict(request.headers), time.monotonic()))
        if self._failures["upload"]:
            self._failures["upload"].popleft()
            return web.Response(status=500, text="upload failed")
        pending = self._pending_uploads.get(file_id)
        if pending is None:
            return web.Response(status=404, text="unknown upload")
        pending["content"] = content
        if "upload" in self._held:
            await asyncio.sleep(self._held["upload"])
        return web.Response(text=f"OK - {len(content)}")

    async def _download(self, request: web.Request) -> web.Response:
        self.file_downloads.append(
            RecordedCall("download", dict(request.query), dict(request.headers), time.monotonic())
        )
        file_id = request.match_info["key"].split("-", 1)[-1]
        if file_id in self.download_redirects:
            raise web.HTTPFound(self.download_redirects[file_id])
        if self._failures["download"]:
            self._failures["download"].popleft()
            return web.Response(status=404, text="not ready")
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        if file_id in self._hosted:
            info, content = self._hosted[file_id]
            return web.Response(body=content, content_type=info["mimetype"])
        if file_id in self.files:
            return web.Response(body=self.files[file_id].content, content_type="application/octet-stream")
        return web.Response(status=404, text="file not found")

    async def _response_url(self, request: web.Request) -> web.Response:
        """A response URL answers in plain text; blocks over the limits are refused with 400."""
        body = await request.json()
        forced = self._failures["response"].popleft() if self._failures["response"] else None
        if forced or message_problems(body.get("blocks")) or self._slack_file_problems(body.get("blocks")):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append(body)
        return web.Response(text="ok")

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        if not self.accepting_connections:
            raise web.HTTPServiceUnavailable()
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._socket = socket
        self._sockets.append(socket)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0EASEL"}}
        await socket.send_str(json.dumps(hello))
        self._connected.set()
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            envelope_id = data.get("envelope_id")
            if envelope_id:
                latency = time.monotonic() - self._sent_at.get(envelope_id, time.monotonic())
                self.acks[envelope_id] = Ack(envelope_id, data.get("payload"), latency)
                self._ack_events[envelope_id].set()
        if self._socket is socket:
            self._socket = None
            self._connected.clear()
        return socket

    # -- Web API methods -------------------------------------------------------------------

    def _api_auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://easel-test.slack.com/",
            "team": "Easel Test",
            "user": "easel",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
            "is_enterprise_install": self.org_wide,
        }

    def _api_apps_connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket-mode?ticket={uuid.uuid4().hex}"}

    def _postable(self, channel: str | None) -> str | None:
        """The error chat.postMessage gives for `channel`, or None when the bot may post.
        A user id opens the app's direct-message conversation with that user."""
        if not channel:
            return "channel_not_found"
        if channel.startswith(("U", "W")):
            return None
        known = self.channels.get(channel)
        if known is None:
            return "channel_not_found"
        return None if known.bot_is_member else "not_in_channel"

    def _thread_gone(self, channel: str | None, thread_ts: str | None) -> bool:
        """Replying to a deleted message that had no replies fails with `thread_not_found`."""
        if not channel or not thread_ts or (channel, thread_ts) not in self._deleted:
            return False
        return not any(m.channel == channel and m.thread_ts == thread_ts for m in self.messages)

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if (error := self._postable(channel)) is not None:
            return {"ok": False, "error": error}
        if self._thread_gone(channel, params.get("thread_ts")):
            return {"ok": False, "error": "thread_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if refused := self._refused_blocks(params):
            return refused
        assert channel is not None
        posted = PostedMessage(
            channel=channel,
            ts=self._next_ts(),
            text=params.get("text"),
            blocks=_json_field(params.get("blocks")),
            thread_ts=params.get("thread_ts") or None,
            user=self.bot_user_id,
        )
        self.messages.append(posted)
        return {"ok": True, "channel": channel, "ts": posted.ts, "message": _message_json(posted, self.bot_id)}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            posted = self.message(params.get("channel", ""), params.get("ts", ""))
        except KeyError:
            return {"ok": False, "error": "message_not_found"}
        if refused := self._refused_blocks(params):
            return refused
        if "text" in params:
            posted.text = params["text"]
        if "blocks" in params:
            posted.blocks = _json_field(params["blocks"])
        posted.updates.append(params)
        return {"ok": True, "channel": posted.channel, "ts": posted.ts, "text": posted.text}

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if (error := self._postable(params.get("channel"))) is not None:
            return {"ok": False, "error": error}
        if refused := self._refused_blocks(params):
            return refused
        self.ephemerals.append(params)
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            posted = self.message(params.get("channel", ""), params.get("ts", ""))
        except KeyError:
            return {"ok": False, "error": "message_not_found"}
        self.delete(posted.channel, posted.ts)
        return {"ok": True, "channel": posted.channel, "ts": posted.ts}

    def _api_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel", ""), params.get("message_ts", "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{self.base_url}/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _visible_channel(self, channel_id: str) -> Channel | None:
        """A private channel the bot is not in does not exist as far as the bot can tell
        (docs.slack.dev, conversations.info and conversations.members: `channel_not_found`)."""
        channel = self.channels.get(channel_id)
        if channel is None or (channel.private and not channel.bot_is_member):
            return None
        return channel

    def _api_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._visible_channel(params.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel.id,
                "name": channel.name,
                "is_channel": True,
                "is_group": channel.private,
                "is_im": False,
                "is_mpim": False,
                "is_private": channel.private,
                "is_member": channel.bot_is_member,
            },
        }

    def _api_conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        """Paginated as Slack does: `limit` (default 100) per page, then `next_cursor`."""
        channel = self._visible_channel(params.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        members = sorted(channel.members | ({self.bot_user_id} if channel.bot_is_member else set()))
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = members[start : start + limit]
        cursor = str(start + limit) if start + limit < len(members) else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel", ""), params.get("ts", "")
        if (error := self._postable(channel)) is not None:
            return {"ok": False, "error": error}
        thread = [m for m in self.messages if m.channel == channel and (m.ts == ts or m.thread_ts == ts)]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        messages = []
        for message in thread:
            body = _message_json(message, self.bot_id)
            if message.files:
                body["files"] = [self._file_json(file_id) for file_id in message.files]
            messages.append(body)
        return {"ok": True, "messages": messages, "has_more": False}

    def _file_json(self, file_id: str) -> dict[str, Any]:
        if file_id in self._hosted:
            return self._hosted[file_id][0]
        return self._uploaded_json(self.files[file_id])

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user", "")
        if not user.startswith(("U", "W")):
            return {"ok": False, "error": "user_not_found"}
        person = self._person(user)
        # On Enterprise Grid a person's organisation is in `enterprise_user`
        # (https://docs.slack.dev/reference/methods/users.info, "enterprise_user").
        enterprise = person.enterprise or (None if person.team else self.enterprise_id)
        grid = (
            {"enterprise_user": {"id": user, "enterprise_id": enterprise, "teams": [person.team or self.team_id]}}
            if enterprise
            else {}
        )
        return {
            "ok": True,
            "user": {
                **grid,
                "id": user,
                "team_id": person.team or self.team_id,
                "name": person.name.lower(),
                "real_name": person.name.title(),
                "is_admin": user in self.workspace_admins,
                "is_owner": False,
                "is_restricted": user in self.guests,
                "is_ultra_restricted": False,
                "is_bot": user == self.bot_user_id,
                "tz": "UTC",
                "tz_offset": 0,
                "profile": {"display_name": person.name, "real_name": person.name.title()},
            },
        }

    def _api_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file", "")
        if file_id in self._hosted:
            return {"ok": True, "file": self._hosted[file_id][0]}
        if file_id in self.files:
            return {"ok": True, "file": self._uploaded_json(self.files[file_id])}
        return {"ok": False, "error": "file_not_found"}

    def _api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self._pending_uploads[file_id] = {"filename": params["filename"], "alt_txt": params.get("alt_txt")}
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _json_field(params.get("files")) or []
        channel = params.get("channel_id") or params.get("channels")
        if channel and (error := self._postable(channel)) is not None:
            return {"ok": False, "error": error}
        if self._thread_gone(channel, params.get("thread_ts")):
            return {"ok": False, "error": "thread_not_found"}
        if refused := self._refused_blocks(params):
            return refused
        uploaded: list[UploadedFile] = []
        for entry in entries:
            pending = self._pending_uploads.pop(entry["id"], None)
            if pending is None or "content" not in pending:
                return {"ok": False, "error": "file_not_found"}
            uploaded.append(
                UploadedFile(
                    id=entry["id"],
                    filename=pending["filename"],
                    title=entry.get("title"),
                    alt_txt=pending.get("alt_txt"),
                    content=pending["content"],
                    channel=channel,
                    thread_ts=params.get("thread_ts") or None,
                    initial_comment=params.get("initial_comment"),
                    blocks=_json_field(params.get("blocks")),
                    completed_at=time.monotonic(),
                )
            )
        for file in uploaded:
            self.files[file.id] = file
        if channel:
            share = PostedMessage(
                channel=channel,
                ts=self._next_ts(),
                text=params.get("initial_comment") or "",
                blocks=_json_field(params.get("blocks")),
                thread_ts=params.get("thread_ts") or None,
                user=self.bot_user_id,
                files=[file.id for file in uploaded],
            )
            self.messages.append(share)
        return {"ok": True, "files": [self._uploaded_json(file) for file in uploaded]}

    def _api_files_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        """A file deleted before answers `file_deleted` (https://docs.slack.dev/reference/methods/files.delete)."""
        file_id = params.get("file", "")
        if file_id in self._deleted_files:
            return {"ok": False, "error": "file_deleted"}
        if self.files.pop(file_id, None) is None:
            return {"ok": False, "error": "file_not_found"}
        self._deleted_files.add(file_id)
        return {"ok": True}

    def _api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._view(params)

    def _api_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._view(params)

    def _api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._view(params)

    def _view(self, params: dict[str, Any]) -> dict[str, Any]:
        view = _json_field(params.get("view")) or {}
        if problems := view_problems(view):
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        self.views.append({**params, "view": view})
        return {"ok": True, "view": {"id": f"V{next(self._ids):08d}", **view}}

    def _refused_blocks(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's answer to message blocks it will not take, or None when it takes them."""
        blocks = _json_field(params.get("blocks"))
        problems = message_problems(blocks) + self._slack_file_problems(blocks)
        return {"ok": False, "error": "invalid_blocks", "errors": problems} if problems else None

    def _slack_file_problems(self, blocks: Any) -> list[str]:
        """Image blocks and elements may point at a file in Slack (`slack_file`), which must
        exist, not be deleted, and be a PNG, JPEG or GIF (Block Kit's image block and element
        reference: "slack_file"; WebP is refused, as PLATFORM_NOTES.md records)."""
        problems = []
        for at, image in _images(blocks or []):
            file_id = (image.get("slack_file") or {}).get("id")
            if file_id is None:
                continue
            if file_id in self.files:
                mimetype = _MIME_TYPES.get(self.files[file_id].filename.rsplit(".", 1)[-1], "")
            elif file_id in self._hosted:
                mimetype = self._hosted[file_id][0]["mimetype"]
            else:
                problems.append(f"invalid slack_file: no such file [json-pointer:{at}/slack_file]")
                continue
            if mimetype not in ("image/png", "image/jpeg", "image/gif"):
                problems.append(f"invalid slack_file: unsupported image type [json-pointer:{at}/slack_file]")
        return problems

    def _uploaded_json(self, file: UploadedFile) -> dict[str, Any]:
        shared = time.monotonic() - file.completed_at >= self.share_lag
        url = f"{self.base_url}/files-pri/{self.team_id}-{file.id}/{file.filename}"
        return {
            "id": file.id,
            "name": file.filename,
            "title": file.title,
            "mimetype": _MIME_TYPES.get(file.filename.rsplit(".", 1)[-1], "application/octet-stream"),
            "size": len(file.content),
            "user": self.bot_user_id,
            "url_private": url,
            "url_private_download": url + "?download=1",
            "permalink": f"{self.base_url}/files/{self.bot_user_id}/{file.id}/{file.filename}",
            "shares": {"public": {file.channel: [{"ts": file.thread_ts or ""}]}} if file.channel and shared else {},
        }


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string, form body (urlencoded or multipart) and JSON body, merged."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl((await request.read()).decode(), keep_blank_values=True))
    elif request.content_type.startswith("multipart/"):
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _token(request: web.Request, params: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ")
    token = params.get("token")
    return token if isinstance(token, str) and token else None


def _json_field(value: Any) -> Any:
    """Fields like `blocks` arrive as JSON strings in form bodies and as lists in JSON bodies."""
    if isinstance(value, str):
        return json.loads(value) if value else None
    return value


def _images(blocks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every image block and image element of a message, with where it sits."""
    found = []
    for index, block in enumerate(blocks):
        at = f"/blocks/{index}"
        if block.get("type") == "image":
            found.append((at, block))
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "image":
            found.append((f"{at}/accessory", accessory))
        for position, element in enumerate(block.get("elements") or []):
            if isinstance(element, dict) and element.get("type") == "image":
                found.append((f"{at}/elements/{position}", element))
    return found


def _error(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})


def _message_json(message: PostedMessage, bot_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "message", "ts": message.ts, "user": message.user, "text": message.text or ""}
    if message.user.startswith("U0BOT"):
        body["bot_id"] = bot_id
    if message.blocks is not None:
        body["blocks"] = message.blocks
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    if message.files:
        body["files"] = [{"id": file_id} for file_id in message.files]
    return body
