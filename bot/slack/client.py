"""The Slack Web API client every part of Easel shares."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.config import Settings

_METHOD = re.compile(r"[a-z]+(\.[A-Za-z]+)+")


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
            CountedRateLimitRetries(max_retry_count=3),
        ],
    )


class CountedRateLimitRetries(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's wait-and-retry on 429, counting each 429 by method (also the last one,
    which is not retried) and each retry."""

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            method = urlparse(request.url).path.rsplit("/", 1)[-1]
            metrics.slack_rate_limited(method if _METHOD.fullmatch(method) else "other")
        retrying = await super().can_retry_async(state=state, request=request, response=response, error=error)
        if retrying:
            metrics.retried("slack")
        return retrying
