"""What images cost: a price table per model, an estimate before the call, the exact cost after.

Money is counted in micro-dollars (integers), so sums in the database are exact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.providers.base import Usage

logger = logging.getLogger(__name__)

MICROS_PER_USD = 1_000_000
# Conservative token guesses for the estimate; the settlement uses the real `usage`.
CHARS_PER_TEXT_TOKEN = 4
TOKENS_PER_INPUT_IMAGE = 1_500


@dataclass(frozen=True, kw_only=True)
class ModelPrices:
    """USD per 1M tokens, and USD per output image by quality and shape."""

    text_input: float
    image_input: float
    image_output: float
    per_image: dict[tuple[str, bool], float]  # (quality, square) -> USD

    def image_estimate(self, quality: str, *, square: bool) -> float:
        return self.per_image[(quality, square)]


def _per_image(
    low: tuple[float, float], medium: tuple[float, float], high: tuple[float, float]
) -> dict[tuple[str, bool], float]:
    table = {}
    for quality, (square, other) in (("low", low), ("medium", medium), ("high", high)):
        table[(quality, True)] = square
        table[(quality, False)] = other
    return table


PRICES: dict[str, ModelPrices] = {
    "gpt-image-1-mini": ModelPrices(
        text_input=2.0,
        image_input=2.5,
        image_output=8.0,
        per_image=_per_image((0.005, 0.006), (0.011, 0.015), (0.036, 0.052)),
    ),
    "gpt-image-1": ModelPrices(
        text_input=5.0,
        image_input=10.0,
        image_output=40.0,
        per_image=_per_image((0.011, 0.016), (0.042, 0.063), (0.167, 0.25)),
    ),
}


def prices_for(model: str) -> ModelPrices:
    """The model's prices; an unknown model is charged as the dearest known one, so a
    budget is never overrun by a missing price."""
    if model in PRICES:
        return PRICES[model]
    logger.warning("no price for model %r: estimating with the dearest known prices", model)
    return max(PRICES.values(), key=lambda prices: prices.image_output)


def estimate_micros(model: str, *, size: str, quality: str, n: int, prompt_chars: int, input_images: int = 0) -> int:
    """What a request will cost at most, before it is made."""
    prices = prices_for(model)
    square = size in ("1024x1024", "auto")
    images = prices.image_estimate(quality, square=square) * n
    text = prompt_chars / CHARS_PER_TEXT_TOKEN * prices.text_input / 1_000_000
    inputs = input_images * TOKENS_PER_INPUT_IMAGE * prices.image_input / 1_000_000
    return round((images + text + inputs) * MICROS_PER_USD)


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
