"""The catalog's prices in estimates and settlements; an unpriced model pays the dearest."""

from __future__ import annotations

import pytest

from bot.domain.catalog import CATALOG
from bot.domain.pricing import DEAREST, KNOWN_PRICES, cost_micros, estimate_micros, has_price
from bot.providers.base import Usage


def estimate(model: str, *, size: str = "1024x1024", quality: str = "medium", n: int = 1) -> int:
    return estimate_micros(model, size=size, quality=quality, n=n, prompt_chars=40)


def test_estimates_follow_each_models_price() -> None:
    assert estimate("gpt-image-1-mini") == 11_020  # $0.011 an image, $2/1M for ten prompt tokens
    assert estimate("gpt-image-2.5-flare") == 13_220  # 439 tokens at $30/1M, $5/1M for ten prompt tokens
    assert estimate("gpt-image-2.6-flare") == 52_730  # 4x the 2.5 tokens at medium
    assert estimate("gpt-image-2.5-flare", quality="max") > estimate("gpt-image-2.5-flare", quality="xhigh")


def test_a_larger_size_is_estimated_by_its_area() -> None:
    standard = estimate("gpt-image-2.5-flare", size="1536x1024")
    assert estimate("gpt-image-2.5-flare", size="3072x2048") == pytest.approx(4 * standard, rel=0.01)
    assert estimate("gpt-image-2.5-flare", size="1536x864") >= estimate("gpt-image-2.5-flare", size="1024x1024")


def test_settlements_follow_each_models_token_rates() -> None:
    usage = Usage(input_text_tokens=100, input_image_tokens=1_000, output_tokens=439)
    assert cost_micros("gpt-image-1-mini", usage) == round(100 * 2 + 1_000 * 2.5 + 439 * 8)
    assert cost_micros("gpt-image-2.5-flare", usage) == (100 * 5 + 1_000 * 8 + 439 * 30)


@pytest.mark.parametrize("model", ["gpt-image-1.5", "a-model-easel-does-not-know"])
def test_a_model_without_a_price_pays_the_dearest_of_each(model: str) -> None:
    assert not has_price(model)
    usage = Usage(input_text_tokens=10, input_image_tokens=10, output_tokens=1_000)
    for priced in KNOWN_PRICES:
        assert cost_micros(model, usage) >= cost_micros(priced, usage)
        for quality in ("low", "medium", "high"):
            assert estimate(model, quality=quality) >= estimate(priced, quality=quality)
    assert estimate(model, quality="max") >= estimate("gpt-image-2.6-sunburst", quality="max")
    assert DEAREST.image_output == 40.0  # gpt-image-1's


def test_every_price_names_its_source() -> None:
    assert all(spec.prices.source for spec in CATALOG.values() if spec.prices)


def test_a_gif_is_estimated_a_frame_at_a_time_and_an_svg_with_its_author() -> None:
    still = estimate_micros("gpt-image-2.6-flare", size="1024x1024", quality="low", n=1, prompt_chars=0)
    gif = estimate_micros(
        "gpt-image-2.6-flare", size="1024x1024", quality="low", n=1, prompt_chars=0, output_format="gif", frame_count=4
    )
    default_gif = estimate_micros(
        "gpt-image-2.6-flare", size="1024x1024", quality="low", n=1, prompt_chars=0, output_format="gif"
    )
    svg = estimate_micros(
        "gpt-image-2.6-flare", size="1024x1024", quality="low", n=1, prompt_chars=0, output_format="svg"
    )
    assert gif == 4 * still and default_gif == 9 * still
    assert svg == still + 6_000 * 30
