"""The one place that decides between OpenAI and Azure OpenAI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx2
from openai import AsyncAzureOpenAI, AsyncOpenAI

from bot.config import Settings
from bot.errors import ConfigError
from bot.providers.openai_images import OpenAIImageProvider
from bot.providers.retry import RetryPolicy

AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"


def build_provider(settings: Settings) -> OpenAIImageProvider:
    """Azure when `AZURE_OPENAI_ENDPOINT` is set, OpenAI otherwise.

    The client's own retries are off (`max_retries=0`): see `bot.providers.retry`.
    """
    settings.require_provider()
    timeout = httpx2.Timeout(settings.image_timeout_seconds, connect=10.0)
    client: AsyncOpenAI
    if settings.azure_openai_endpoint is not None:
        key = settings.azure_openai_api_key
        client = AsyncAzureOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            api_version=settings.openai_api_version,
            api_key=key.reveal() if key else None,
            azure_ad_token_provider=None if key else _entra_token_provider(),
            max_retries=0,
            timeout=timeout,
        )
        name = "azure"
    else:
        assert settings.openai_api_key is not None  # require_provider() checked
        client = AsyncOpenAI(
            api_key=settings.openai_api_key.reveal(),
            base_url=settings.openai_base_url,
            max_retries=0,
            timeout=timeout,
        )
        name = "openai"
    retry = RetryPolicy(
        max_attempts=settings.image_max_attempts,
        max_retry_after=settings.image_max_retry_after_seconds,
    )
    return OpenAIImageProvider(
        client,
        name=name,
        timeout_seconds=settings.image_timeout_seconds,
        retry=retry,
        stream=settings.image_streaming,
    )


def _entra_token_provider() -> Callable[[], Awaitable[str]]:
    """Entra ID (managed identity, workload identity, az login) when no key is set."""
    try:
        from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider
    except ImportError:
        raise ConfigError(
            "AZURE_OPENAI_API_KEY is not set and azure-identity is not installed: "
            "set the key, or `pip install 'easel[azure]'` to sign in with Entra ID"
        ) from None
    return get_bearer_token_provider(DefaultAzureCredential(), AZURE_SCOPE)
