"""The provider against the local Images API, through the real openai clients."""

from __future__ import annotations

import pytest

from bot.config import Secret, Settings
from bot.errors import ModelRetired, ProviderAuthFailed
from bot.providers.base import ImageCall
from bot.providers.factory import build_provider
from tests.fakes.fake_images import FakeImagesAPI

CALL = ImageCall(
    model="gpt-image-2.5-flare",
    prompt="a lighthouse",
    size="1024x1536",
    quality="low",
    n=1,
    output_format="png",
    background=None,
    safety_identifier="abc",
)


def azure_settings(images: FakeImagesAPI, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "azure_openai_endpoint": images.azure_endpoint,
        "azure_openai_api_key": Secret("az-test"),
        "azure_openai_deployment": "easel-images",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def test_openai_generate_returns_the_bytes_and_usage(images: FakeImagesAPI) -> None:
    provider = build_provider(Settings(openai_api_key=Secret("sk-test"), openai_base_url=images.base_url))
    try:
        result = await provider.generate(CALL)
    finally:
        await provider.close()

    assert [image.data for image in result.images] == images.outputs
    assert result.images[0].mime_type == "image/png"
    assert (result.size, result.quality) == ("1024x1536", "low")
    assert result.usage is not None and result.usage.output_tokens > 0
    assert images.requests[0].headers["Authorization"] == "Bearer sk-test"


async def test_azure_uses_the_deployment_path_and_api_key(images: FakeImagesAPI) -> None:
    provider = build_provider(azure_settings(images))
    try:
        result = await provider.generate(ImageCall(**{**CALL.__dict__, "model": "easel-images"}))
    finally:
        await provider.close()

    request = images.requests[0]
    assert request.provider == "azure" and request.deployment == "easel-images"
    assert request.api_version == "2025-04-01-preview"
    assert request.headers.get("api-key") == "az-test" and "Authorization" not in request.headers
    assert result.images[0].data == images.outputs[0]


async def test_check_model_on_openai_looks_the_model_up(images: FakeImagesAPI) -> None:
    provider = build_provider(Settings(openai_api_key=Secret("sk-test"), openai_base_url=images.base_url))
    try:
        assert await provider.check_model("gpt-image-2.5-flare") is None, "no shutdown announced"
        with pytest.raises(ModelRetired):
            await provider.check_model("gpt-image-1-mini")  # shut down on OpenAI on 2026-12-01
    finally:
        await provider.close()
    assert images.requests == [] and images.outputs == [], "a check generates nothing"


async def test_check_model_on_azure_generates_nothing(images: FakeImagesAPI) -> None:
    images.known_deployments = {"easel-images"}
    provider = build_provider(azure_settings(images))
    try:
        await provider.check_model("easel-images")
        with pytest.raises(ModelRetired):
            await provider.check_model("no-such-deployment")
    finally:
        await provider.close()
    assert images.outputs == []


async def test_a_wrong_key_is_reported_as_such(images: FakeImagesAPI) -> None:
    provider = build_provider(Settings(openai_api_key=Secret("sk-wrong"), openai_base_url=images.base_url))
    try:
        with pytest.raises(ProviderAuthFailed):
            await provider.generate(CALL)
    finally:
        await provider.close()
