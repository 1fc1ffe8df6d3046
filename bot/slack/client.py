"""The Slack Web API client every part of Easel shares."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler

from bot.config import Settings
from bot.slack.pacing import PacedWebClient, SlackPacer


def build_web_client(settings: Settings, session: aiohttp.ClientSession) -> PacedWebClient:
    """One client, one connection pool and one rate-limit budget for everything, Socket Mode's
    `apps.connections.open` included, so that `SLACK_API_URL` redirects all of it."""
    if settings.slack_bot_token is None:
        raise ValueError("settings.require_slack() must pass before a client is built")
    return PacedWebClient(
        pacer=SlackPacer(),
        rate_limit_wait=settings.slack_rate_limit_wait_seconds,
        token=settings.slack_bot_token.reveal(),
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )
