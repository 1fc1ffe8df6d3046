"""What an image model can do, as types: sizes (a fixed list or a rule), qualities, formats,
prices and when each provider stops serving it. `bot.domain.catalog` fills them in.

Plain data and small pure functions; no provider, no Slack.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_RATIO = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?):(\d{1,3}(?:\.\d{1,2})?)$")
STANDARD_AREA = 1024 * 1024  # the area a ratio is made at, when the model takes any size


def parse_size(size: str) -> tuple[int, int] | None:
    """`1536x1024` as (1536, 1024); None for anything else (`auto` included)."""
    match = _SIZE.match(size)
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_ratio(text: str) -> float | None:
    """`16:9` as 16/9; None for anything that is not a ratio of two positive numbers."""
    match = _RATIO.match(text)
    if not match:
        return None
    width, height = float(match.group(1)), float(match.group(2))
    return width / height if width > 0 and height > 0 else None


@dataclass(frozen=True, kw_only=True)
class FixedSizes:
    """A model that makes a few sizes only."""

    sizes: tuple[str, ...]
    auto: bool = True

    def refusal(self, size: str) -> str | None:
        """Why `size` is not allowed, or None when it is."""
        if size in self.sizes or (size == "auto" and self.auto):
            return None
        return "this model makes " + ", ".join(self.choices())

    def choices(self) -> tuple[str, ...]:
        return (*self.sizes, "auto") if self.auto else self.sizes

    def closest(self, ratio: float) -> str:
        return min(self.sizes, key=lambda size: _ratio_distance(_ratio_of(size), ratio))

    def experimental(self, size: str) -> bool:
        return False

    def describe(self) -> str:
        return "or auto" if self.auto else "only"


@dataclass(frozen=True, kw_only=True)
class SizeRule:
    """A model that makes any `WIDTHxHEIGHT` within limits (openai `types/image_generate_params.py`)."""

    multiple: int
    min_ratio: float
    max_ratio: float
    max_edge: int
    max_pixels: int
    min_pixels: int
    experimental_above: int  # pixels beyond which OpenAI calls a size experimental
    suggested: tuple[str, ...]  # the sizes offered in menus
    auto: bool = True

    def refusal(self, size: str) -> str | None:
        if size == "auto" and self.auto:
            return None
        parsed = parse_size(size)
        if parsed is None:
            return "a size is WIDTHxHEIGHT, e.g. 1536x864"
        width, height = parsed
        if width % self.multiple or height % self.multiple:
            return f"both sides must be multiples of {self.multiple}"
        if not self.min_ratio <= width / height <= self.max_ratio:
            return f"the sides may differ by at most {self.max_ratio:g}:1"
        if max(width, height) > self.max_edge or width * height > self.max_pixels:
            return f"the largest size is {self.max_edge}x{self.max_pixels // self.max_edge}"
        if width * height < self.min_pixels:
            return f"the smallest sizes have {self.min_pixels:,} pixels, e.g. 1024x640"
        return None

    def choices(self) -> tuple[str, ...]:
        return (*self.suggested, "auto") if self.auto else self.suggested

    def closest(self, ratio: float) -> str:
        """The allowed size of about a megapixel whose shape is nearest `ratio`."""
        ratio = min(max(ratio, self.min_ratio), self.max_ratio)
        width = _round_to(math.sqrt(STANDARD_AREA * ratio), self.multiple)
        height = _round_to(math.sqrt(STANDARD_AREA / ratio), self.multiple)
        while width * height < self.min_pixels:
            width, height = width + self.multiple, height + self.multiple
        return f"{width}x{height}"

    def experimental(self, size: str) -> bool:
        parsed = parse_size(size)
        return parsed is not None and parsed[0] * parsed[1] > self.experimental_above

    def describe(self) -> str:
        return (
            f"any WIDTHxHEIGHT with both sides multiples of {self.multiple}, from 1:{self.max_ratio:g} to "
            f"{self.max_ratio:g}:1, up to {self.max_edge}x{self.max_pixels // self.max_edge} (above "
            f"{_size_of(self.experimental_above)} experimental)" + (", or auto" if self.auto else "")
        )


Sizes = FixedSizes | SizeRule


@dataclass(frozen=True, kw_only=True)
class Prices:
    """USD per 1M tokens, and the per-image estimate by quality at the reference sizes:
    1024x1024 (square) and 1536x1024 or 1024x1536 (other); larger sizes scale by area."""

    text_input: float
    image_input: float
    image_output: float
    per_image: dict[str, tuple[float, float]]  # quality -> (square, other), USD
    source: str  # where and when these were read

    def image_estimate(self, quality: str, size: str) -> float:
        square, other = self.per_image.get(quality, max(self.per_image.values()))
        parsed = parse_size(size) or (1024, 1024)
        is_square = parsed[0] == parsed[1]
        reference = STANDARD_AREA if is_square else 1536 * 1024
        scale = max(1.0, parsed[0] * parsed[1] / reference)
        return (square if is_square else other) * scale


@dataclass(frozen=True, kw_only=True)
class Availability:
    """One provider's lifecycle for a model: when its shutdown was announced, when it stops."""

    announced: date | None = None
    shutdown: date | None = None
    replacements: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Everything Easel needs to know to offer and price a model."""

    id: str
    sizes: Sizes
    qualities: tuple[str, ...] = ("low", "medium", "high")
    formats: tuple[str, ...] = ("png", "webp", "jpeg")
    max_n: int = 10
    edits: bool = True
    masks: bool = True
    input_fidelity: tuple[str, ...] = ()  # values the edit endpoint takes; () = leave it out
    partial_images: bool = True
    transparency: bool = True
    gif: bool = False  # animated GIF output (also needs the account's access to the preview)
    svg: bool = False  # SVG output (also needs the project's access)
    prices: Prices | None = None
    providers: dict[str, Availability] = field(default_factory=dict)  # "openai" / "azure"


def _ratio_of(size: str) -> float:
    width, height = parse_size(size) or (1, 1)
    return width / height


def _ratio_distance(a: float, b: float) -> float:
    """How far apart two shapes are, the same for 2:1 against 1:1 as for 1:2 against 1:1."""
    return abs(math.log(a / b))


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def _size_of(pixels: int) -> str:
    """A 16:9 size of about `pixels`, as the limits are usually written (2560x1440)."""
    height = round(math.sqrt(pixels * 9 / 16))
    return f"{pixels // height}x{height}"
