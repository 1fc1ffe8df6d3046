"""The App Home tab: a person's usage against each limit, their defaults and their latest images."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.people import Requester
from bot.slack import requests
from bot.slack.account import is_admin
from bot.slack.home_view import home_view
from bot.wiring import Services, model_status

RECENT_IMAGES = 12


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return  # the Messages tab
        await publish_home(client, services, requests.person(body))


async def publish_home(client: AsyncWebClient, services: Services, requester: Requester) -> None:
    """The person's own Home tab, as it is now; admins also see a model's coming shutdown."""
    report = await services.limits.usage(requester, now=datetime.now(UTC))
    recent = await services.threads.recent_of(requester.user_id, most=RECENT_IMAGES)
    defaults = await services.iteration.defaults_for(requester)
    status = model_status(services.settings, today=services.settings.today())
    warning = status if status.warns and await is_admin(client, services, requester.user_id) else None
    view = home_view(report, recent, user_id=requester.user_id, defaults=defaults, model_warning=warning)
    await client.views_publish(user_id=requester.user_id, view=view)
