"""build_app(settings, services, client, names, identity): the Bolt app with every listener
and one error handler."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot import logs, metrics
from bot.config import Settings
from bot.slack import actions, block_kit, commands, events, home, replies
from bot.slack.decoding import DisplayNames
from bot.slack.visibility import ConversationAccess
from bot.slack.workspaces import Membership
from bot.wiring import Services

logger = logging.getLogger(__name__)


def build_app(
    settings: Settings,
    services: Services,
    client: AsyncWebClient,
    names: DisplayNames,
    identity: AsyncSlackResponse,
    members: Membership,
) -> AsyncApp:
    """`identity` is the `auth.test` answer from start-up: requests are authorized with it, so
    nothing between a request and its ack calls Slack. (Given a token, Bolt's single-team
    authorization calls `auth.test` itself, from every request of a burst until its first
    answer arrives; given an `authorize` and no token, it uses that instead.)"""
    secret = settings.slack_signing_secret
    authorized = AuthorizeResult.from_auth_test_response(auth_test_response=identity, bot_token=client.token)

    async def authorize() -> AuthorizeResult:
        return authorized

    app = AsyncApp(
        client=AsyncWebClient(base_url=client.base_url, session=client.session),  # no token: see above
        authorize=authorize,
        signing_secret=secret.reveal() if secret else None,
        request_verification_enabled=secret is not None,
        logger=logging.getLogger("slack_bolt"),
    )

    @app.middleware
    async def in_context(body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        """Each request's log lines name its workspace and (hashed) person; its metrics, its
        surface. Bolt runs each request in a task of its own, its listeners in tasks started
        from it, so what is set here holds for this request alone. Listeners call Slack through
        the process's one client, and so share its rate-limit budget (Bolt would give each
        request a client of its own)."""
        user = context.user_id
        metrics.set_surface(_surface(body))
        logs.bind(workspace=context.team_id, user=logs.user_hash(user) if user else None)
        context["client"] = client
        await next()

    access = ConversationAccess()  # shared: one cache of who may see what
    commands.register(app, services, names, access)
    events.register(app, services, names, members)
    home.register(app, services)
    actions.register(app, services, members, access)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
        """A bug: the traceback goes to the log, a reference id to the user."""
        reference = uuid.uuid4().hex[:8]
        logger.error(
            "unhandled error in a listener (reference %s)", reference, exc_info=error, extra={"reference": reference}
        )
        if respond is not None and body.get("response_url"):
            await respond(
                response_type="ephemeral",
                replace_original=False,
                **block_kit.message(replies.unexpected(reference)),
            )

    return app


def _surface(body: dict[str, Any]) -> str:
    """Where a request came from, for the requests metric: a bounded set of names."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        event = str((body.get("event") or {}).get("type"))
        return {"message": "message", "app_mention": "message", "app_home_opened": "home"}.get(event, "event")
    return {"block_actions": "button", "view_submission": "dialog"}.get(str(kind), "other")
