"""`python -m bot check`: try the configuration for real and say what is wrong in plain words."""

from __future__ import annotations

from datetime import date

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.domain.lifecycle import Stage, status_of
from bot.domain.pricing import has_price
from bot.errors import ConfigError, ProviderError
from bot.providers.base import ImageProvider
from bot.providers.factory import build_provider
from bot.slack.client import build_web_client
from bot.slack.replies import for_error
from bot.wiring import model_choices


async def run_checks(settings: Settings, *, out: list[str], today: date) -> bool:
    """Append one line per check to `out`; True when everything works. `today` decides where
    each model stands in its lifecycle."""
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
        ok &= await _check_models(settings, provider, out, today=today)
    finally:
        await provider.close()
    return ok


async def _check_slack(settings: Settings, client: AsyncWebClient, out: list[str]) -> bool:
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        out.append(f"✗ Slack: SLACK_BOT_TOKEN was refused ({exc.response.get('error')})")
        return False
    except (aiohttp.ClientError, TimeoutError) as exc:
        out.append(f"✗ Slack: {slack_unreachable(settings, exc)}")
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


def slack_unreachable(settings: Settings, error: Exception) -> str:
    return f"could not reach Slack's Web API at {settings.slack_api_url} (SLACK_API_URL): {_reason(error)}"


def provider_unreachable(settings: Settings, provider: ImageProvider) -> str:
    return f"could not reach the image service ({provider.name}) at {provider_location(settings)}"


def provider_location(settings: Settings) -> str:
    """Where the image requests go, and the setting that says so."""
    if settings.azure_openai_endpoint:
        return f"{settings.azure_openai_endpoint} (AZURE_OPENAI_ENDPOINT)"
    if settings.openai_base_url:
        return f"{settings.openai_base_url} (OPENAI_BASE_URL)"
    return "https://api.openai.com/v1 (OpenAI's own; OPENAI_BASE_URL is not set)"


def _reason(error: Exception) -> str:
    """A short cause, on one line: no traceback, no nested exception text."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect to {error.host}:{error.port}"
    return type(error).__name__


async def _check_models(settings: Settings, provider: ImageProvider, out: list[str], *, today: date) -> bool:
    """Each model: can it be reached, where it stands in its lifecycle (the catalog's dates,
    and what OpenAI's models endpoint reports), and whether Easel knows its price."""
    ok = True
    where = provider_location(settings)
    if settings.image_model is None:
        out.append(f"✓ Images: IMAGE_MODEL is not set: using `{settings.model_id}`, the {provider.name} default")
    for choice in model_choices(settings):
        try:
            reported = await provider.check_model(choice.call_name)
        except ProviderError as error:
            out.append(
                f"✗ Images ({provider.name}, {where}): `{choice.call_name}` ({choice.setting}): {for_error(error)}"
            )
            ok = False
            reported = None
        else:
            out.append(f"✓ Images ({provider.name}, {where}): `{choice.call_name}` ({choice.setting}) is reachable")
        status = status_of(choice.model_id, settings.provider_name, today=today, reported_shutdown=reported)
        if status.stage is Stage.SHUT_DOWN:
            out.append(f"✗ Lifecycle: {status.describe()}: set {choice.setting} to a current model")
            ok = False
        elif status.warns or status.stage is Stage.UNKNOWN:
            out.append(f"! Lifecycle: {status.describe()}: set {choice.setting} to a current model before then")
        else:
            out.append(f"✓ Lifecycle: {status.describe()}")
        if not has_price(choice.model_id):
            out.append(
                f"! Prices: Easel has no price for `{choice.model_id}`: its images are charged at the dearest "
                "known prices, so limits hold but bills read high"
            )
    return ok
