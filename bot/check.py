"""`python -m bot check`: try the configuration for real and say what is wrong in plain words."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.errors import ConfigError, ProviderError
from bot.providers.base import ImageProvider
from bot.providers.factory import build_provider
from bot.slack.client import build_web_client
from bot.slack.replies import for_error
from bot.wiring import model_choices


async def run_checks(settings: Settings, *, out: list[str]) -> bool:
    """Append one line per check to `out`; True when everything works."""
    ok = True
    try:
        settings.require_slack()
    except ConfigError as error:
        out.append(f"✗ Slack: {error}")
        ok = False
    else:
        async with aiohttp.ClientSession() as session:
            ok &= await _check_slack(settings, build_web_client(settings, session), out)
    try:
        provider = build_provider(settings)
    except ConfigError as error:
        out.append(f"✗ Images: {error}")
        return False
    try:
        ok &= await _check_models(settings, provider, out)
    finally:
        await provider.close()
    return ok


async def _check_slack(settings: Settings, client: AsyncWebClient, out: list[str]) -> bool:
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        out.append(f"✗ Slack: SLACK_BOT_TOKEN was refused ({exc.response.get('error')})")
        return False
    except aiohttp.ClientError as exc:
        out.append(f"✗ Slack: cannot reach {settings.slack_api_url} ({type(exc).__name__})")
        return False
    out.append(
        f"✓ Slack: bot token works: @{identity.get('user')} in {identity.get('team')} ({identity.get('team_id')})"
    )
    if settings.slack_app_token is None:
        out.append("✓ Slack: HTTP mode (SLACK_SIGNING_SECRET is set, SLACK_APP_TOKEN is not)")
        return True
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token.reveal())
    except SlackApiError as exc:
        out.append(f"✗ Slack: SLACK_APP_TOKEN was refused for Socket Mode ({exc.response.get('error')})")
        return False
    out.append("✓ Slack: app token opens a Socket Mode connection")
    return True


async def _check_models(settings: Settings, provider: ImageProvider, out: list[str]) -> bool:
    ok = True
    where = settings.azure_openai_endpoint or settings.openai_base_url or "api.openai.com"
    for choice in model_choices(settings):
        try:
            await provider.check_model(choice.call_name)
        except ProviderError as error:
            out.append(
                f"✗ Images ({provider.name}, {where}): `{choice.call_name}` ({choice.setting}): {for_error(error)}"
            )
            ok = False
        else:
            out.append(f"✓ Images ({provider.name}, {where}): `{choice.call_name}` ({choice.setting}) is reachable")
    return ok
