"""build_app(settings, services): the Bolt app with every listener and one error handler."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.slack import actions, blocks, commands, events, home, replies
from bot.slack.decoding import DisplayNames
from bot.wiring import Services

logger = logging.getLogger(__name__)


def build_app(settings: Settings, services: Services, client: AsyncWebClient, names: DisplayNames) -> AsyncApp:
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        signing_secret=secret.reveal() if secret else None,
        request_verification_enabled=secret is not None,
        logger=logging.getLogger("slack_bolt"),
    )
    commands.register(app, services)
    events.register(app, services, names)
    home.register(app, services)
    actions.register(app, services)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
        """A bug: the traceback goes to the log, a reference id to the user."""
        reference = uuid.uuid4().hex[:8]
        logger.error("unhandled error in a listener (reference %s)", reference, exc_info=error)
        if respond is not None and body.get("response_url"):
            await respond(
                response_type="ephemeral",
                replace_original=False,
                **blocks.message(replies.unexpected(reference)),
            )

    return app
