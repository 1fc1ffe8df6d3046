"""What images cost: an estimate before the call, the exact cost after, from the catalog's prices.

Money is counted in micro-dollars (integers), so sums in the database are exact.
"""

from __future__ import annotations

import logging

from bot.domain.catalog import CATALOG
from bot.domain.model_specs import Prices
from bot.providers.base import Usage

logger = logging.getLogger(__name__)

MICROS_PER_USD = 1_000_000
# Conservative token guesses for the estimate; the settlement uses the real `usage`.
CHARS_PER_TEXT_TOKEN = 4
TOKENS_PER_INPUT_IMAGE = 1_500
# An SVG is written by a second model whose tokens come apart (`svg_usage`): 3,009 in one
# published answer (docs.apiyi.com gpt-image-2.6, 2026-11); twice that is reserved. Its price is
# not published next to the image model's, so the provider adds its tokens to the image's text
# input and output, charged at those rates: dearer than text models' own (gpt-6.1-sol: $2 / $10).
SVG_AUTHOR_TOKENS = 6_000
GIF_DEFAULT_FRAMES = 9  # image_generate_params.py `frame_count`: "Defaults to 9 when omitted"

KNOWN_PRICES: dict[str, Prices] = {model: spec.prices for model, spec in CATALOG.items() if spec.prices}


def _dearest(known: list[Prices]) -> Prices:
    """Each price at its highest across the known models: what an unpriced model is charged."""
    qualities = {quality for prices in known for quality in prices.per_image}
    return Prices(
        text_input=max(p.text_input for p in known),
        image_input=max(p.image_input for p in known),
        image_output=max(p.image_output for p in known),
        per_image={
            quality: (
                max(p.per_image[quality][0] for p in known if quality in p.per_image),
                max(p.per_image[quality][1] for p in known if quality in p.per_image),
            )
            for quality in qualities
        },
        source="the dearest of every known price",
    )


DEAREST = _dearest(list(KNOWN_PRICES.values()))


def has_price(model: str) -> bool:
    return model in KNOWN_PRICES


def prices_for(model: str) -> Prices:
    """The model's prices; a model without one is charged as the dearest known, so a budget is
    never overrun by a missing price."""
    if model in KNOWN_PRICES:
        return KNOWN_PRICES[model]
    logger.warning("no price for model %r: estimating with the dearest known prices", model)
    return DEAREST


def estimate_micros(
    model: str,
    *,
    size: str,
    quality: str,
    n: int,
    prompt_chars: int,
    input_images: int = 0,
    output_format: str = "png",
    frame_count: int | None = None,
) -> int:
    """What a request will cost at most, before it is made: a GIF as one image a frame, an
    SVG as its image and its author's tokens."""
    prices = prices_for(model)
    per_image = prices.image_estimate(quality, size)
    if output_format == "gif":
        per_image *= frame_count or GIF_DEFAULT_FRAMES
    elif output_format == "svg":
        per_image += SVG_AUTHOR_TOKENS * prices.image_output / 1_000_000
    text = prompt_chars / CHARS_PER_TEXT_TOKEN * prices.text_input / 1_000_000
    inputs = input_images * TOKENS_PER_INPUT_IMAGE * prices.image_input / 1_000_000
    return round((per_image * n + text + inputs) * MICROS_PER_USD)


def cost_micros(model: str, usage: Usage) -> int:
    """What a request cost, from the tokens the provider reported."""
    prices = prices_for(model)
    usd = (
        usage.input_text_tokens * prices.text_input
        + usage.input_image_tokens * prices.image_input
        + usage.output_tokens * prices.image_output
    ) / 1_000_000
    return round(usd * MICROS_PER_USD)


def usd(micros: int) -> str:
    return f"${micros / MICROS_PER_USD:,.2f}" if micros >= 10_000 else f"${micros / MICROS_PER_USD:,.3f}"
