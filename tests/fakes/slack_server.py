"""A local Slack for tests: the Web API, Socket Mode and file hosting on one aiohttp server.

The real `slack_sdk` clients and Bolt's `AsyncApp` reach it over HTTP and WebSocket, so tests
exercise the requests, tokens and acks production sends, not a mock of them. Where Slack has
rules a bot trips over, this server keeps them too: channel membership, token types, Block Kit
limits, single-use trigger ids, a sign-in page instead of file bytes for a missing token, and
an upload's blocks dropped when it also has an initial comment.

Wire format, as slack_sdk 3.48 sends it: `chat.*` and `views.*` arrive as JSON bodies (blocks
as lists), `files.*`, `auth.test` and `apps.connections.open` as POSTs with every argument in
the query string and an empty body, reads (`conversations.*`, `users.info`, `files.info`) as
GETs. The upload URL gets the raw bytes, with no token.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import mimetypes
import re
import secrets
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, WSCloseCode, WSMsgType, web

APP_ID = "A0EASEL"
TEAM_NAME = "Easel Test"
TEAM_DOMAIN = "easel-test"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated, but Slack still puts it in payloads
SIGN_IN_PAGE = (
    "<!DOCTYPE html><html><head><title>Slack</title></head>"
    "<body><h1>Sign in to Easel Test</h1><form action='/signin' method='post'></form></body></html>"
)
TRIGGER_LIFETIME = 3.0  # seconds a trigger_id can open a modal
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MAX_MESSAGE_TEXT = 40_000
MAX_VIEW_TITLE = 24
CLOSE_TIMEOUT = 2.0  # seconds to wait for a client to answer our close frame
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
RETIRED_METHODS = frozenset({"files.upload"})  # sunset in favour of the external-upload flow
OFF_API_FAILURES = {"upload": 500, "download": 404}  # default statuses for failing the file URLs
MENTION = re.compile(r"(<@[UW][A-Z0-9]+>)")


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
    files: list[dict[str, Any]] = field(default_factory=list)
    bot_id: str | None = None


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
    share_ts: str | None = None  # ts of the message that shared it


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    latency: float


@dataclass
class _Channel:
    id: str
    name: str
    bot_is_member: bool
    user: str | None = None  # the other person in a direct message

    @property
    def is_im(self) -> bool:
        return self.id.startswith("D")

    @property
    def is_private(self) -> bool:
        return self.is_im or self.id.startswith("G")


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None


@dataclass
class _PendingUpload:
    filename: str
    alt_txt: str | None
    content: bytes | None = None


class _SlackError(Exception):
    """A Web API method's `{"ok": false, "error": ...}` answer, with Slack's extra fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class FakeSlack:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        team_id: str = "T0TEAM",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = APP_ID
        self.calls: list[RecordedCall] = []
        self.messages: list[PostedMessage] = []
        self.files: dict[str, UploadedFile] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.file_downloads: list[RecordedCall] = []
        self.acks: dict[str, Ack] = {}
        self._history: list[PostedMessage] = []  # everything in every channel: posts, people, file shares
        self._channels: dict[str, _Channel] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._file_objects: dict[str, dict[str, Any]] = {}
        self._contents: dict[str, bytes] = {}
        self._pending: dict[str, _PendingUpload] = {}
        self._failures: defaultdict[str, deque[_Failure]] = defaultdict(deque)
        self._triggers: dict[str, float] = {}
        self._response_urls: set[str] = set()
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._sent_at: dict[str, float] = {}
        self._changed = asyncio.Event()
        self._clock = itertools.count(1_700_000_000_000_100, 100)
        self._serial = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._stopping = False
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "files.info": self._files_info,
            "files.delete": self._files_delete,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            **dict.fromkeys(RETIRED_METHODS, _retired),
        }
        self.add_channel("C0GENERAL", name="general")

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/api/{method}", self._web_api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{key}/{name}", self._download)
        app.router.add_get("/files-pri/{key}/download/{name}", self._download)
        app.router.add_get("/", self._sign_in_page)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/socket-mode", self._socket_mode)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=CLOSE_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close Socket Mode connections the way Slack does on a deploy (going away), then the server."""
        self._stopping = True
        for socket in list(self._sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # -- state for tests ---------------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def message(self, channel: str, ts: str) -> PostedMessage:
        """Any message in the channel: the bot's posts, file shares, and people's messages from the builders."""
        found = self._find(channel, ts)
        if found is None:
            raise KeyError(f"no message {ts} in {channel}")
        return found

    def thread(self, channel: str, thread_ts: str) -> list[PostedMessage]:
        """The replies as Slack shows them (bot posts, file shares, people), oldest first, not the parent."""
        return sorted(
            (m for m in self._history if m.channel == channel and m.thread_ts == thread_ts and m.ts != thread_ts),
            key=lambda m: m.ts,
        )

    def add_channel(self, channel_id: str, *, name: str = "", bot_is_member: bool = True) -> None:
        """Add or replace a channel; a `G…` id makes a private channel."""
        self._channels[channel_id] = _Channel(channel_id, name or channel_id.lower(), bot_is_member)

    def dm_channel(self, user: str) -> str:
        """The id of the bot's direct-message conversation with `user` (where posting to a user id lands)."""
        return self._im(user).id

    def add_user(
        self, user_id: str, *, name: str = "", is_admin: bool = False, is_owner: bool = False, tz: str = "UTC"
    ) -> None:
        """Give `users.info` something other than its default person (not an admin, in UTC)."""
        self._users[user_id] = {"name": name or user_id.lower(), "is_admin": is_admin, "is_owner": is_owner, "tz": tz}

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
        """A file a person uploaded, served under /files-pri/; returns Slack's file object for events."""
        file_id = self._new_id("F")
        info = self._file_object(file_id, name=name, title=name, mimetype=mimetype, user=user, size=len(content))
        if filetype is not None:
            info["filetype"] = filetype
            info["pretty_type"] = filetype.upper()
        self._file_objects[file_id] = info
        self._contents[file_id] = content
        if channel is not None:
            self._share(file_id, self._describe(channel), self._next_ts(), None)
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
        """Make the next `times` calls of `method` fail: `{"ok": false, "error": error}` with `status`,
        or 429 and Retry-After when `retry_after` is given. "upload" fails the upload URL (HTTP 500
        unless `status` says otherwise); "download" fails hosted-file downloads (404, as Slack
        answers for a moment right after an upload, unless `status` says otherwise)."""
        if method in OFF_API_FAILURES and status == 200:
            status = OFF_API_FAILURES[method]
        failure = _Failure(error, 429 if retry_after is not None else status, retry_after)
        self._failures[method].extend([failure] * times)

    # -- Socket Mode -------------------------------------------------------------------------

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await self._until(lambda: bool(self._open_sockets()), timeout, "Socket Mode connection")

    async def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Deliver an envelope to the newest connection. Like Slack, only events carry retry fields,
        and only slash commands and modal/suggestion interactions accept a response payload."""
        await self.wait_connected()
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "payload": payload, "type": type}
        if type == "events_api":
            envelope.update(accepts_response_payload=False, retry_attempt=retry_attempt, retry_reason=retry_reason)
        else:
            envelope["accepts_response_payload"] = type == "slash_commands" or payload.get("type") in (
                "view_submission",
                "block_suggestion",
            )
        self._sent_at[envelope_id] = time.monotonic()
        await self._open_sockets()[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        await self._until(lambda: envelope_id in self.acks, timeout, f"ack of {envelope_id}")
        return self.acks[envelope_id]

    async def slash(self, text: str, **kwargs: Any) -> Ack:
        envelope_id = await self.send_envelope("slash_commands", self.slash_command(text, **kwargs))
        return await self.wait_for_ack(envelope_id)

    async def request_reconnect(self, timeout: float = 5.0) -> None:
        """Send Slack's `disconnect` (refresh_requested) and wait until the client has reconnected."""
        await self.wait_connected(timeout)
        old = self._open_sockets()[-1]
        await old.send_json({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}})

        def replaced() -> bool:
            sockets = self._open_sockets()
            return bool(sockets) and sockets[-1] is not old

        await self._until(replaced, timeout, "a new connection")

    # -- payload builders --------------------------------------------------------------------

    def slash_command(
        self, text: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL", command: str = "/imagine"
    ) -> dict[str, Any]:
        """As Slack sends it over Socket Mode: all strings, and no thread_ts even when typed in a thread."""
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": self._user(user)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self._new_response_url(),
            "trigger_id": self._new_trigger(),
        }

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
        ts: str | None = None,
    ) -> dict[str, Any]:
        """A `message` event. The message now exists in the channel (conversations.replies shows
        it); pass the `ts` of an app_mention_event to describe the same message twice, as Slack does."""
        event = self._person_message("message", text, user, channel, thread_ts, files, ts, bot_id)
        event["channel_type"] = "im" if self._describe(channel).is_im else "group" if channel[0] == "G" else "channel"
        if files and subtype is None:
            subtype = "file_share"
        if bot_id is not None:
            event["bot_id"] = bot_id
        if subtype is not None:
            event["subtype"] = subtype
        return self._event_callback(event)

    def app_mention_event(
        self,
        text: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        ts: str | None = None,
    ) -> dict[str, Any]:
        return self._event_callback(self._person_message("app_mention", text, user, channel, thread_ts, files, ts))

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0GENERAL",
        message_ts: str = "",
        block_id: str = "b",
    ) -> dict[str, Any]:
        """A button click; carries the clicked message as Slack does when the message exists here."""
        clicked = self._find(channel, message_ts)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if clicked is not None and clicked.thread_ts:
            container["thread_ts"] = clicked.thread_ts
        return {
            "type": "block_actions",
            "user": {"id": user, "username": self._user(user)["name"], "name": self._user(user)["name"]},
            "api_app_id": self.app_id,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": self._new_trigger(),
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": self._channel_name(channel)},
            "message": self._message_json(clicked) if clicked else {"type": "message", "ts": message_ts},
            "state": {"values": {}},
            "response_url": self._new_response_url(),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": {"type": "plain_text", "text": action_id, "emoji": True},
                    "value": value,
                    "type": "button",
                    "action_ts": self._next_ts(),
                }
            ],
        }

    def _person_message(
        self,
        kind: str,
        text: str,
        user: str,
        channel: str,
        thread_ts: str | None,
        files: list[dict[str, Any]] | None,
        ts: str | None,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        ts = ts or self._next_ts()
        event: dict[str, Any] = {
            "type": kind,
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.team_id,
            "channel": channel,
            "event_ts": ts,
            "client_msg_id": str(uuid.uuid4()),
        }
        if text:
            event["blocks"] = _rich_text(text)
        if thread_ts:
            event["thread_ts"] = thread_ts
            parent = self._find(channel, thread_ts)
            if parent is not None:
                event["parent_user_id"] = parent.user
        if files:
            event.update(files=files, upload=False, display_as_bot=False)
        if self._find(channel, ts) is None:
            self._history.append(
                PostedMessage(channel, ts, text, None, thread_ts, user, files=list(files or []), bot_id=bot_id)
            )
            for file in files or []:
                if file.get("id") in self._file_objects:
                    self._share(file["id"], self._describe(channel), ts, thread_ts)
        return event

    def _event_callback(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": self._new_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(16)}",
        }

    # -- HTTP handlers -----------------------------------------------------------------------

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        self.calls.append(RecordedCall(method, params, dict(request.headers), time.monotonic()))
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method", "req_method": method})
        if (error := self._auth_error(method, request, params)) is not None:
            return web.json_response({"ok": False, "error": error})
        if failure := self._take_failure(method):
            headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        try:
            body = handler(params)
        except _SlackError as refused:
            body = {"ok": False, "error": refused.error, **refused.extra}
        return web.json_response(body)

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: slack_sdk POSTs the raw bytes with no token; a multipart form works too."""
        content = await _upload_body(request)
        self.calls.append(RecordedCall("upload", dict(request.query), dict(request.headers), time.monotonic()))
        if failure := self._take_failure("upload"):
            return web.Response(status=failure.status, text=failure.error)
        pending = self._pending.get(request.match_info["file_id"])
        if pending is None:
            return web.Response(status=404, text="not found")
        pending.content = content
        return web.Response(text=f"OK - {len(content)}")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """Hosted files need the bot token; without it Slack redirects to its sign-in page (HTML, 200)."""
        self.file_downloads.append(
            RecordedCall(request.path, dict(request.query), dict(request.headers), time.monotonic())
        )
        if failure := self._take_failure("download"):
            return web.Response(status=failure.status, text=failure.error)
        file_id = request.match_info["key"].removeprefix(f"{self.team_id}-")
        info = self._file_objects.get(file_id)
        if info is None or request.match_info["name"] != info["name"]:
            return web.Response(status=404, text="file not found")
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            raise web.HTTPFound(f"/?redir={quote(request.path_qs, safe='')}")
        headers = (
            {"Content-Disposition": f'attachment; filename="{info["name"]}"'} if "/download/" in request.path else {}
        )
        return web.Response(body=self._contents[file_id], content_type=info["mimetype"], headers=headers)

    async def _sign_in_page(self, _: web.Request) -> web.Response:
        return web.Response(text=SIGN_IN_PAGE, content_type="text/html")

    async def _response_url(self, request: web.Request) -> web.Response:
        """Slack shows a response only if it is valid; every POST is still in `calls` for debugging."""
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError:
            body = None
        recorded = body if isinstance(body, dict) else {}
        self.calls.append(RecordedCall("response_url", recorded, dict(request.headers), time.monotonic()))
        if request.match_info["id"] not in self._response_urls:
            return web.Response(status=404, text="no_service")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks") or "delete_original" in body):
            return web.Response(status=400, text="no_text")
        if "blocks" in body and _block_errors(body["blocks"], limit=MESSAGE_BLOCK_LIMIT, at="/blocks"):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append(body)
        return web.Response(text="ok")

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        """Only URLs from apps.connections.open connect; `hello` first, then envelopes and acks."""
        if self._stopping or request.query.get("ticket") not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid_ticket")
        socket = web.WebSocketResponse(timeout=CLOSE_TIMEOUT)  # autoping answers the client's pings
        await socket.prepare(request)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._open_sockets()) + 1,
                "debug_info": {"host": "fake-applink", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._sockets.append(socket)
        self._notify()
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    self._receive(frame.data)
        finally:
            self._sockets.remove(socket)
            self._notify()
        return socket

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if isinstance(envelope_id, str) and envelope_id not in self.acks:
            sent = self._sent_at.get(envelope_id, time.monotonic())
            self.acks[envelope_id] = Ack(envelope_id, message.get("payload"), time.monotonic() - sent)
            self._notify()

    # -- Web API methods ---------------------------------------------------------------------

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": "easel",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket-mode?ticket={ticket}&app_id={self.app_id}"}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable(params.get("channel"))
        text, blocks = _message_content(params)
        if not text and not blocks and not params.get("attachments"):
            raise _SlackError("no_text")
        posted = PostedMessage(
            channel.id,
            self._next_ts(),
            text,
            blocks,
            params.get("thread_ts") or None,
            self.bot_user_id,
            bot_id=self.bot_id,
        )
        self.messages.append(posted)
        self._history.append(posted)
        return {"ok": True, "channel": channel.id, "ts": posted.ts, "message": self._message_json(posted)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Fields left out keep their value, as in Slack; `blocks: []` removes the blocks."""
        posted = self._existing(params.get("channel"), params.get("ts"))
        if posted.user != self.bot_user_id:
            raise _SlackError("cant_update_message")
        text, blocks = _message_content(params)
        if "text" in params:
            posted.text = text
        if "blocks" in params:
            posted.blocks = blocks or None
        posted.updates.append(dict(params))
        return {
            "ok": True,
            "channel": posted.channel,
            "ts": posted.ts,
            "text": posted.text or "",
            "message": self._message_json(posted),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        self._postable(params.get("channel"))
        if not params.get("user"):
            raise _SlackError("user_not_found")
        text, blocks = _message_content(params)
        if not text and not blocks and not params.get("attachments"):
            raise _SlackError("no_text")
        self.ephemerals.append(params)
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        posted = self._existing(params.get("channel"), params.get("ts"))
        if posted.user != self.bot_user_id:
            raise _SlackError("cant_delete_message")
        self._history.remove(posted)
        if posted in self.messages:
            self.messages.remove(posted)
        return {"ok": True, "channel": posted.channel, "ts": posted.ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        posted = self._existing(params.get("channel"), params.get("message_ts"))
        permalink = f"{self.base_url}/archives/{posted.channel}/p{posted.ts.replace('.', '')}"
        if posted.thread_ts and posted.thread_ts != posted.ts:
            permalink += f"?thread_ts={posted.thread_ts}&cid={posted.channel}"
        return {"ok": True, "channel": posted.channel, "permalink": permalink}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        info: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_im and not channel.is_private,
            "is_group": channel.is_private and not channel.is_im,
            "is_im": channel.is_im,
            "is_private": channel.is_private,
            "is_archived": False,
            "is_member": channel.bot_is_member,
            "context_team_id": self.team_id,
        }
        if channel.is_im:
            info["user"] = channel.user
        return {"ok": True, "channel": info}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """The parent and its replies, oldest first, in pages of `limit` (Slack's cursor protocol)."""
        channel = self._channel(params.get("channel"))
        if not channel.bot_is_member:
            raise _SlackError("not_in_channel")
        found = self._find(channel.id, params.get("ts"))
        if found is None:
            raise _SlackError("thread_not_found")
        root = found.thread_ts or found.ts
        thread = sorted(
            (m for m in self._history if m.channel == channel.id and root in (m.ts, m.thread_ts)),
            key=lambda m: m.ts,
        )
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 1000)
        more = start + limit < len(thread)
        return {
            "ok": True,
            "messages": [self._message_json(m) for m in thread[start : start + limit]],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if not user_id.startswith(("U", "W")):
            raise _SlackError("user_not_found")
        person = self._user(user_id)
        is_bot = user_id == self.bot_user_id
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": person["name"],
                "real_name": person["name"].title(),
                "deleted": False,
                "is_admin": person["is_admin"],
                "is_owner": person["is_owner"],
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "tz": person["tz"],
                "tz_label": person["tz"],
                "tz_offset": 0 if person["tz"] == "UTC" else None,
                "profile": {
                    "display_name": person["name"],
                    "real_name": person["name"].title(),
                    "team": self.team_id,
                    **({"bot_id": self.bot_id} if is_bot else {}),
                },
            },
        }

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info = self._file_objects.get(str(params.get("file") or ""))
        if info is None:
            raise _SlackError("file_not_found")
        return {"ok": True, "file": info, "comments": [], "response_metadata": {"next_cursor": ""}}

    def _files_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file") or "")
        info = self._file_objects.get(file_id)
        if info is None:
            raise _SlackError("file_not_found")
        if info["user"] != self.bot_user_id:
            raise _SlackError("cant_delete_file")
        del self._file_objects[file_id], self._contents[file_id]
        self.files.pop(file_id, None)
        return {"ok": True}

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length") or "").isdigit():
            raise _SlackError("invalid_arguments")
        file_id = self._new_id("F")
        self._pending[file_id] = _PendingUpload(params["filename"], params.get("alt_txt"))
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        """Shares the uploaded files in one message. Slack ignores `blocks` when `initial_comment` is given."""
        entries = _json_arg(params.get("files"), "invalid_arguments")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise _SlackError("invalid_arguments")
        uploads: list[tuple[dict[str, Any], _PendingUpload, bytes]] = []
        for entry in entries:
            pending = self._pending.get(str(entry.get("id")))
            if pending is None or pending.content is None:
                raise _SlackError("file_not_found")
            uploads.append((entry, pending, pending.content))
        target = params.get("channel_id") or str(params.get("channels") or "").split(",")[0]
        channel = self._postable(target) if target else None
        comment = params.get("initial_comment") or None
        blocks = None if comment else _json_arg(params.get("blocks"), "invalid_blocks_format")
        if blocks is not None and (errors := _block_errors(blocks, limit=MESSAGE_BLOCK_LIMIT, at="/blocks")):
            raise _blocks_refused(errors)
        thread_ts = params.get("thread_ts") or None
        share_ts = self._next_ts() if channel else None
        objects = []
        for entry, pending, content in uploads:
            file_id = entry["id"]
            del self._pending[file_id]
            title = entry.get("title") or pending.filename
            mimetype = mimetypes.guess_type(pending.filename)[0] or "application/octet-stream"
            info = self._file_object(
                file_id, name=pending.filename, title=title, mimetype=mimetype, user=self.bot_user_id, size=len(content)
            )
            if pending.alt_txt:
                info["alt_txt"] = pending.alt_txt
            self._file_objects[file_id] = info
            self._contents[file_id] = content
            self.files[file_id] = UploadedFile(
                file_id,
                pending.filename,
                title,
                pending.alt_txt,
                content,
                channel.id if channel else None,
                thread_ts,
                comment,
                blocks,
                share_ts,
            )
            objects.append(info)
        if channel is not None and share_ts is not None:
            for info in objects:
                self._share(info["id"], channel, share_ts, thread_ts)
            share = PostedMessage(
                channel.id,
                share_ts,
                comment or "",
                blocks,
                thread_ts,
                self.bot_user_id,
                files=objects,
                bot_id=self.bot_id,
            )
            self._history.append(share)
        return {"ok": True, "files": objects}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(params.get("trigger_id"))
        return {"ok": True, "view": self._store_view(_view_arg(params, "modal"))}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Needs a known view_id or external_id; a stale `hash` is refused as hash_conflict."""
        current = self.views.get(str(params.get("view_id") or "")) or next(
            (
                v
                for v in self.views.values()
                if params.get("external_id") and v.get("external_id") == params["external_id"]
            ),
            None,
        )
        if current is None:
            raise _SlackError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        return {"ok": True, "view": self._store_view(_view_arg(params, current["type"]), view_id=current["id"])}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        if not str(params.get("user_id") or "").startswith(("U", "W")):
            raise _SlackError("user_not_found")
        return {"ok": True, "view": self._store_view(_view_arg(params, "home"))}

    # -- helpers -----------------------------------------------------------------------------

    def _auth_error(self, method: str, request: web.Request, params: dict[str, Any]) -> str | None:
        """Slack's answers: no token, a token of the wrong kind (bot vs app-level), or an unknown one."""
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else params.get("token")
        if not token:
            return "not_authed"
        if token == (self.app_token if method in APP_TOKEN_METHODS else self.bot_token):
            return None
        return "not_allowed_token_type" if token in (self.bot_token, self.app_token) else "invalid_auth"

    def _take_failure(self, name: str) -> _Failure | None:
        queue = self._failures.get(name)
        return queue.popleft() if queue else None

    def _channel(self, ref: Any) -> _Channel:
        channel = self._channels.get(str(ref or ""))
        if channel is None:
            raise _SlackError("channel_not_found")
        return channel

    def _postable(self, ref: Any) -> _Channel:
        """Where the bot may post: a user id opens its DM; `#name` and names work as in Slack."""
        ref = str(ref or "")
        if ref.startswith(("U", "W")):
            return self._im(ref)
        named = next((c for c in self._channels.values() if c.name == ref.removeprefix("#")), None)
        channel = named or self._channel(ref)
        if not channel.bot_is_member:
            raise _SlackError("not_in_channel")
        return channel

    def _im(self, user: str) -> _Channel:
        channel_id = f"D{user[1:]}"
        if channel_id not in self._channels:
            self._channels[channel_id] = _Channel(channel_id, channel_id.lower(), True, user)
        return self._channels[channel_id]

    def _describe(self, channel_id: str) -> _Channel:
        """A known channel, or how an unregistered id looks from its prefix."""
        return self._channels.get(channel_id) or _Channel(channel_id, channel_id.lower(), bot_is_member=False)

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        known = self._channels.get(channel_id)
        return known.name if known else "privategroup"

    def _user(self, user_id: str) -> dict[str, Any]:
        default = {"name": user_id.lower(), "is_admin": False, "is_owner": False, "tz": "UTC"}
        return self._users.get(user_id, default)

    def _find(self, channel: Any, ts: Any) -> PostedMessage | None:
        return next((m for m in self._history if m.channel == channel and m.ts == ts), None)

    def _existing(self, channel: Any, ts: Any) -> PostedMessage:
        self._channel(channel)
        found = self._find(channel, ts)
        if found is None:
            raise _SlackError("message_not_found")
        return found

    def _message_json(self, message: PostedMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "ts": message.ts,
            "user": message.user,
            "text": message.text or "",
            "team": self.team_id,
        }
        if message.bot_id:
            body["bot_id"] = message.bot_id
        if message.user == self.bot_user_id:
            body["app_id"] = self.app_id
        if message.blocks:
            body["blocks"] = message.blocks
        if message.files:
            body.update(files=message.files, upload=message.user == self.bot_user_id, display_as_bot=False)
        replies = self.thread(message.channel, message.ts)
        if replies:
            body.update(
                thread_ts=message.ts,
                reply_count=len(replies),
                reply_users=sorted({r.user for r in replies}),
                reply_users_count=len({r.user for r in replies}),
                latest_reply=replies[-1].ts,
            )
        elif message.thread_ts:
            body["thread_ts"] = message.thread_ts
            parent = self._find(message.channel, message.thread_ts)
            if parent is not None:
                body["parent_user_id"] = parent.user
        return body

    def _file_object(
        self, file_id: str, *, name: str, title: str, mimetype: str, user: str, size: int
    ) -> dict[str, Any]:
        private = f"{self.base_url}/files-pri/{self.team_id}-{file_id}"
        filetype = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        now = int(time.time())
        return {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": self.team_id,
            "editable": False,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{private}/{quote(name)}",
            "url_private_download": f"{private}/download/{quote(name)}",
            "permalink": f"{self.base_url}/files/{user}/{file_id}/{quote(name)}",
            "channels": [],
            "groups": [],
            "ims": [],
            "shares": {},
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def _share(self, file_id: str, channel: _Channel, ts: str, thread_ts: str | None) -> None:
        """Record where a file was shared the way files.info shows it: `shares` and the channel lists."""
        info = self._file_objects[file_id]
        entry: dict[str, Any] = {
            "ts": ts,
            "channel_name": channel.name,
            "team_id": self.team_id,
            "share_user_id": info["user"],
        }
        if thread_ts:
            entry.update(thread_ts=thread_ts, reply_count=0, reply_users=[], reply_users_count=0)
        info["shares"].setdefault("private" if channel.is_private else "public", {})[channel.id] = [entry]
        listing = info["ims"] if channel.is_im else info["groups"] if channel.is_private else info["channels"]
        if channel.id not in listing:
            listing.append(channel.id)
        info["is_public"] = info["is_public"] or not channel.is_private

    def _use_trigger(self, trigger_id: Any) -> None:
        """Trigger ids work once, within three seconds of the interaction that issued them."""
        if not trigger_id:
            raise _SlackError("invalid_arguments")
        issued = self._triggers.pop(str(trigger_id), None)
        if issued is None:
            raise _SlackError("invalid_trigger_id")
        if time.monotonic() - issued > TRIGGER_LIFETIME:
            raise _SlackError("expired_trigger_id")

    def _store_view(self, view: dict[str, Any], *, view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or self._new_id("V")
        stored = {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

    async def _until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"no {what} within {timeout}s") from None

    def _notify(self) -> None:
        """Wake everything waiting in `_until`; each wait then takes the fresh event."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _open_sockets(self) -> list[web.WebSocketResponse]:
        return [socket for socket in self._sockets if not socket.closed]

    def _next_ts(self) -> str:
        micros = next(self._clock)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial):010d}"

    def _new_trigger(self) -> str:
        trigger_id = f"{next(self._serial)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    def _new_response_url(self) -> str:
        key = secrets.token_hex(12)
        self._response_urls.add(key)
        return f"{self.base_url}/response/{key}"


def _retired(_: dict[str, Any]) -> dict[str, Any]:
    raise _SlackError("method_deprecated")


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string, then a form (urlencoded or multipart; file parts as bytes) or a JSON object body."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            params[key] = value if isinstance(value, str) else value.file.read()
    return params


async def _upload_body(request: web.Request) -> bytes:
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.filename is not None:
            return bytes(await part.read())
    return b""


def _json_arg(value: Any, error: str) -> Any:
    """Form and query arguments carry JSON as strings; JSON bodies carry it as-is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value) if value else None
    except json.JSONDecodeError:
        raise _SlackError(error) from None


def _message_content(params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]] | None]:
    """The text and blocks of a message, refused as Slack refuses them (too long, bad Block Kit)."""
    text = params.get("text")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        raise _SlackError("msg_too_long")
    blocks = _json_arg(params.get("blocks"), "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise _SlackError("invalid_blocks_format")
    if blocks and (errors := _block_errors(blocks, limit=MESSAGE_BLOCK_LIMIT, at="/blocks")):
        raise _blocks_refused(errors)
    return text, blocks


def _blocks_refused(errors: list[str]) -> _SlackError:
    return _SlackError(
        "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
    )


def _view_arg(params: dict[str, Any], kind: str) -> dict[str, Any]:
    """A modal needs a title of at most 24 characters; any view holds at most 100 valid blocks."""
    view = _json_arg(params.get("view"), "invalid_arguments")
    if not isinstance(view, dict) or view.get("type") != kind:
        raise _SlackError("invalid_arguments")
    errors = _block_errors(view.get("blocks", []), limit=VIEW_BLOCK_LIMIT, at="/view/blocks")
    if kind == "modal":
        errors += _text_errors(view.get("title"), "/view/title", max_length=MAX_VIEW_TITLE, plain=True)
        for button in ("submit", "close"):
            if button in view:
                errors += _text_errors(view[button], f"/view/{button}", max_length=MAX_VIEW_TITLE, plain=True)
    if errors:
        raise _SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
    return view


def _rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack adds to every typed message, mentions as user elements."""
    elements: list[dict[str, Any]] = []
    for part in MENTION.split(text):
        if MENTION.fullmatch(part):
            elements.append({"type": "user", "user_id": part[2:-1]})
        elif part:
            elements.append({"type": "text", "text": part})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": secrets.token_hex(2), "elements": [section]}]


# -- Block Kit limits, as Slack enforces them -------------------------------------------------

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)


def _block_errors(blocks: Any, *, limit: int, at: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{at}]"]
    errors = [f"must contain at most {limit} items [json-pointer:{at}]"] if len(blocks) > limit else []
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{at}/{index}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            errors.append(f"unsupported type [json-pointer:{where}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
                errors.append(f"must be 1-255 characters [json-pointer:{where}/block_id]")
            elif block_id in block_ids:
                errors.append(f"duplicate block_id [json-pointer:{where}/block_id]")
            else:
                block_ids.add(block_id)
        check = BLOCK_CHECKS.get(block["type"])
        if check is not None:
            errors += check(block, where)
    return errors


def _text_errors(obj: Any, at: str, *, max_length: int = 3000, plain: bool = False) -> list[str]:
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"must be a {' or '.join(kinds)} text object [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > max_length:
        return [f"must be less than {max_length + 1} characters [json-pointer:{at}/text]"]
    return []


def _longer_than(obj: dict[str, Any], key: str, max_length: int, at: str) -> list[str]:
    value = obj.get(key)
    if isinstance(value, str) and len(value) > max_length:
        return [f"must be less than {max_length + 1} characters [json-pointer:{at}/{key}]"]
    return []


def _image_errors(image: dict[str, Any], at: str) -> list[str]:
    errors = _longer_than(image, "image_url", 3000, at) + _longer_than(image, "alt_text", 2000, at)
    if not image.get("image_url") and not image.get("slack_file"):
        errors.append(f"must provide either image_url or slack_file [json-pointer:{at}]")
    if not image.get("alt_text"):
        errors.append(f"must be more than 0 characters [json-pointer:{at}/alt_text]")
    return errors


def _element_errors(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict) or not element.get("type"):
        return [f"must be an element [json-pointer:{at}]"]
    errors = _longer_than(element, "action_id", 255, at)
    if element["type"] == "button":
        errors += _text_errors(element.get("text"), f"{at}/text", max_length=75, plain=True)
        errors += _longer_than(element, "value", 2000, at) + _longer_than(element, "url", 3000, at)
    elif element["type"] == "image":
        errors += _image_errors(element, at)
    return errors


def _section(block: dict[str, Any], at: str) -> list[str]:
    errors = [] if "text" in block or "fields" in block else [f"must provide text or fields [json-pointer:{at}]"]
    if "text" in block:
        errors += _text_errors(block["text"], f"{at}/text")
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not 0 < len(fields) <= 10:
            errors.append(f"must contain 1-10 items [json-pointer:{at}/fields]")
        else:
            for index, item in enumerate(fields):
                errors += _text_errors(item, f"{at}/fields/{index}", max_length=2000)
    if "accessory" in block:
        errors += _element_errors(block["accessory"], f"{at}/accessory")
    return errors


def _header(block: dict[str, Any], at: str) -> list[str]:
    return _text_errors(block.get("text"), f"{at}/text", max_length=150, plain=True)


def _context(block: dict[str, Any], at: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 0 < len(elements) <= 10:
        return [f"must contain 1-10 items [json-pointer:{at}/elements]"]
    errors: list[str] = []
    for index, element in enumerate(elements):
        where = f"{at}/elements/{index}"
        is_image = isinstance(element, dict) and element.get("type") == "image"
        errors += _image_errors(element, where) if is_image else _text_errors(element, where)
    return errors


def _actions(block: dict[str, Any], at: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 0 < len(elements) <= 25:
        return [f"must contain 1-25 items [json-pointer:{at}/elements]"]
    errors: list[str] = []
    action_ids: set[str] = set()
    for index, element in enumerate(elements):
        where = f"{at}/elements/{index}"
        errors += _element_errors(element, where)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in action_ids:
                errors.append(f"duplicate action_id [json-pointer:{where}/action_id]")
            action_ids.add(action_id)
    return errors


def _image(block: dict[str, Any], at: str) -> list[str]:
    errors = _image_errors(block, at)
    if "title" in block:
        errors += _text_errors(block["title"], f"{at}/title", max_length=2000, plain=True)
    return errors


BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "actions": _actions,
    "context": _context,
    "header": _header,
    "image": _image,
    "section": _section,
}
