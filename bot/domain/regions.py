"""Where an inpainting edit applies, and the mask the Images API needs for it.

A region is a union of rectangles in fractions of the image (0..1), so it fits any size. It
comes from words (`--region left`, `top-third`) or the 3x3 grid (`--region a1,b2`: columns
a to c from the left, rows 1 to 3 from the top).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.errors import InputRejected

Box = tuple[float, float, float, float]  # left, top, right, bottom as fractions

_THIRD = 1 / 3
WORDS: dict[str, Box] = {
    "left": (0, 0, 0.5, 1),
    "right": (0.5, 0, 1, 1),
    "top": (0, 0, 1, 0.5),
    "bottom": (0, 0.5, 1, 1),
    "center": (0.25, 0.25, 0.75, 0.75),
    "top-left": (0, 0, 0.5, 0.5),
    "top-right": (0.5, 0, 1, 0.5),
    "bottom-left": (0, 0.5, 0.5, 1),
    "bottom-right": (0.5, 0.5, 1, 1),
    "left-third": (0, 0, _THIRD, 1),
    "middle-third": (_THIRD, 0, 2 * _THIRD, 1),
    "right-third": (2 * _THIRD, 0, 1, 1),
    "top-third": (0, 0, 1, _THIRD),
    "center-third": (0, _THIRD, 1, 2 * _THIRD),
    "bottom-third": (0, 2 * _THIRD, 1, 1),
}
ALIASES = {
    "centre": "center",
    "middle": "center",
    "left-half": "left",
    "right-half": "right",
    "top-half": "top",
    "bottom-half": "bottom",
}
_CELL = re.compile(r"^([abc])([123])$")


@dataclass(frozen=True)
class Region:
    """The part of the image an edit may change; `label` is what the user typed."""

    label: str
    boxes: tuple[Box, ...]


def parse_region(text: str) -> Region:
    """`left`, `top-right`, `bottom-third`, or grid cells `a1,b2`; raise `InputRejected` otherwise."""
    value = text.strip().lower()
    value = ALIASES.get(value, value)
    if value in WORDS:
        return Region(value, (WORDS[value],))
    cells = [cell.strip() for cell in value.split(",") if cell.strip()]
    boxes = []
    for cell in cells:
        match = _CELL.match(cell)
        if match is None:
            raise InputRejected(
                f"`--region {text}` is not a region; use a word ({', '.join(WORDS)}) "
                "or grid cells like `a1,b2` (columns a to c, rows 1 to 3)",
                fragment=f"--region {text}",
            )
        column, row = "abc".index(match.group(1)), int(match.group(2)) - 1
        boxes.append((column * _THIRD, row * _THIRD, (column + 1) * _THIRD, (row + 1) * _THIRD))
    if not boxes:
        raise InputRejected("`--region` needs a value such as `left` or `a1,b2`", fragment="--region")
    return Region(",".join(cells), tuple(boxes))


def region_mask(region: Region, size: tuple[int, int]) -> bytes:
    """A PNG of `size`, opaque everywhere except the region (alpha 0 = the model edits here)."""
    width, height = size
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    draw = ImageDraw.Draw(mask)
    for left, top, right, bottom in region.boxes:
        draw.rectangle(
            (round(left * width), round(top * height), round(right * width) - 1, round(bottom * height) - 1),
            fill=(0, 0, 0, 0),
        )
    buffer = io.BytesIO()
    mask.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
