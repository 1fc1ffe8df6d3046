"""The Slack Web API client every part of Easel shares."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings


def build_web_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    """One client and one connection pool for everything, Socket Mode's `apps.connections.open`
    included, so that `SLACK_API_URL` redirects all of it; rate-limited calls wait and retry."""
    if settings.slack_bot_token is None:
        raise ValueError("settings.require_slack() must pass before a client is built")
    return AsyncWebClient(
        token=settings.slack_bot_token.reveal(),
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )
