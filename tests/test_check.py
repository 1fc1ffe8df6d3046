"""`python -m bot check` on the model's lifecycle: current, deprecated and shut down, on a
given day (never the wall clock's), with what OpenAI's models endpoint reports."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from bot.check import run_checks
from bot.config import Secret, Settings
from tests.fakes.fake_images import FakeImagesAPI


async def check(settings: Settings, *, today: date) -> tuple[bool, list[str]]:
    lines: list[str] = []
    ok = await run_checks(settings, out=lines, today=today)
    return ok, lines


def lifecycle(lines: list[str]) -> str:
    (line,) = [line for line in lines if "Lifecycle" in line]
    return line


async def test_a_current_model(settings: Settings) -> None:
    ok, lines = await check(settings, today=date(2027, 6, 1))
    assert ok, lines
    assert lifecycle(lines) == "✓ Lifecycle: `gpt-image-2.5-flare` is current on openai"


async def test_a_deprecated_model_is_named_with_its_date_and_replacements(
    settings: Settings, images: FakeImagesAPI
) -> None:
    images.today = date(2026, 11, 30)  # the day before OpenAI shuts gpt-image-1-mini down
    ok, lines = await check(dataclasses.replace(settings, image_model="gpt-image-1-mini"), today=date(2026, 11, 30))
    assert ok, "it still works today"
    assert lifecycle(lines) == (
        "! Lifecycle: `gpt-image-1-mini` is deprecated on openai: it shuts down on 2026-12-01 (tomorrow); "
        "use `gpt-image-2.6-flare` or `gpt-image-2.6-sunburst` (the models endpoint says 2026-12-01): "
        "set IMAGE_MODEL to a current model before then"
    )


async def test_a_deprecation_further_off_than_30_days_is_not_a_warning(
    settings: Settings, images: FakeImagesAPI
) -> None:
    azure = dataclasses.replace(
        settings, azure_openai_endpoint=images.azure_endpoint, azure_openai_api_key=Secret("az-test")
    )
    _, far = await check(azure, today=date(2027, 3, 1))
    _, near = await check(azure, today=date(2027, 3, 9))
    assert lifecycle(far).startswith("✓") and "in 37 days" in lifecycle(far)
    assert lifecycle(near).startswith("!") and "in 29 days" in lifecycle(near)


async def test_a_shut_down_model_fails_the_check(settings: Settings) -> None:
    ok, lines = await check(dataclasses.replace(settings, image_model="gpt-image-1-mini"), today=date(2026, 12, 1))
    assert not ok
    assert lifecycle(lines).startswith("✗ Lifecycle: `gpt-image-1-mini` was shut down on openai on 2026-12-01")
    assert any(line.startswith("✗ Images") and "`IMAGE_MODEL`" in line for line in lines), "OpenAI refuses it too"


async def test_the_models_endpoint_date_is_read(settings: Settings, images: FakeImagesAPI) -> None:
    """A shutdown OpenAI announced before Easel's catalog knew of it still reaches the admin."""
    images.shutdown_dates["gpt-image-2.5-flare"] = "2027-01-15"
    ok, lines = await check(settings, today=date(2026, 12, 20))
    assert ok
    assert lifecycle(lines).startswith(
        "! Lifecycle: `gpt-image-2.5-flare` is deprecated on openai: it shuts down on 2027-01-15 (in 26 days)"
    )
    assert "the models endpoint says 2027-01-15" in lifecycle(lines)


@pytest.mark.parametrize("model", ["gpt-image-1.5", "a-model-easel-does-not-know"])
async def test_a_model_without_a_price_is_said_to_be_charged_at_the_dearest(
    settings: Settings, images: FakeImagesAPI, model: str
) -> None:
    images.today = date(2026, 11, 1)
    _, lines = await check(dataclasses.replace(settings, image_model=model), today=date(2026, 11, 1))
    assert any(line.startswith("! Prices") and f"`{model}`" in line and "dearest" in line for line in lines)
