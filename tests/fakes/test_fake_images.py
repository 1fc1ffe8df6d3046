"""The local Images API behaves like the real one where the bot depends on it."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator

import openai
import pytest
from PIL import Image

from tests.fakes.fake_images import FakeImagesAPI, Fault


@pytest.fixture
async def client(images: FakeImagesAPI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk-test", base_url=images.base_url, max_retries=0) as client:
        yield client


def png(size: tuple[int, int], *, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 20, 30, 0) if mode == "RGBA" else (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("output_format", "pillow_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
async def test_generate_returns_real_images(
    client: openai.AsyncOpenAI, images: FakeImagesAPI, output_format: str, pillow_format: str
) -> None:
    response = await client.images.generate(
        model="gpt-image-2.5-flare",
        prompt="x",
        size="1024x1536",
        quality="low",
        output_format=output_format,  # type: ignore[arg-type]
    )
    assert response.data is not None and response.data[0].b64_json is not None
    data = base64.b64decode(response.data[0].b64_json)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == (pillow_format, (1024, 1536))
    assert images.outputs == [data]


async def test_edit_takes_several_images_and_a_mask(client: openai.AsyncOpenAI, images: FakeImagesAPI) -> None:
    first, second = png((1024, 1024)), png((512, 512))
    await client.images.edit(
        model="gpt-image-2.5-flare",
        prompt="make it foggy",
        image=[("a.png", first, "image/png"), ("b.png", second, "image/png")],
        mask=("mask.png", png((1024, 1024), mode="RGBA"), "image/png"),
    )
    recorded = images.requests[0]
    assert [(f.field, f.filename, f.data) for f in recorded.files[:2]] == [
        ("image[]", "a.png", first),
        ("image[]", "b.png", second),
    ]
    assert recorded.files[2].field == "mask"


@pytest.mark.parametrize(
    ("image", "mask", "param"),
    [
        (png((64, 64)), None, "image"),  # bare bytes go out as octet-stream
        (("a.png", png((64, 64)), "image/png"), ("m.png", png((32, 32), mode="RGBA"), "image/png"), "mask"),
    ],
    ids=["bare-bytes", "mask-size"],
)
async def test_bad_edits_are_refused_like_the_real_api(
    client: openai.AsyncOpenAI, image: object, mask: object, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await client.images.edit(
            model="gpt-image-2.5-flare",
            prompt="x",
            image=image,  # type: ignore[arg-type]
            mask=mask if mask is not None else openai.omit,  # type: ignore[arg-type]
        )
    assert refused.value.param == param


async def test_stream_sends_partials_then_completed(client: openai.AsyncOpenAI) -> None:
    stream = await client.images.generate(model="gpt-image-2.5-flare", prompt="x", stream=True, partial_images=2)
    assert [event.type async for event in stream] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]


async def test_a_cut_stream_has_no_completed_event(client: openai.AsyncOpenAI, images: FakeImagesAPI) -> None:
    images.inject(Fault("stream_cut"))
    stream = await client.images.generate(model="gpt-image-2.5-flare", prompt="x", stream=True, partial_images=1)
    assert [event.type async for event in stream] == ["image_generation.partial_image"]
    assert images.outputs == []


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (Fault("moderation"), openai.BadRequestError, "moderation_blocked"),
        (Fault("rate_limit", retry_after=7), openai.RateLimitError, "rate_limit_exceeded"),
        (Fault("insufficient_quota"), openai.RateLimitError, "insufficient_quota"),
        (Fault("server_error"), openai.InternalServerError, None),
        (Fault("model_not_found"), openai.NotFoundError, "model_not_found"),
        (Fault("content_filter"), openai.BadRequestError, "content_policy_violation"),
    ],
)
async def test_faults_map_to_the_clients_exceptions(
    client: openai.AsyncOpenAI, images: FakeImagesAPI, fault: Fault, error: type[Exception], code: str | None
) -> None:
    images.inject(fault)
    with pytest.raises(error) as raised:
        await client.images.generate(model="gpt-image-2.5-flare", prompt="x")
    assert getattr(raised.value, "code", None) == code
    if fault.retry_after is not None:
        assert isinstance(raised.value, openai.RateLimitError)
        assert raised.value.response.headers["retry-after"] == "7"
