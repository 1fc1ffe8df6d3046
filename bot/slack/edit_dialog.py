"""The Edit… dialog: a prompt, the thread's images to use, the region grid, size and quality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.domain.model_options import shape_sizes
from bot.domain.requests import OptionDefaults
from bot.slack.block_kit import Block


class OfferedImage(Protocol):
    """What the dialog shows of each image it offers."""

    @property
    def number(self) -> int: ...
    @property
    def origin(self) -> str: ...  # "generated" | "attached"


EDIT_VIEW = "edit_request"
GRID = [f"{column}{row}" for row in (1, 2, 3) for column in "abc"]  # the region grid, row by row


def edit_modal(
    images: Sequence[OfferedImage], *, chosen: Sequence[int], quality: str, defaults: OptionDefaults, metadata: str
) -> dict[str, Any]:
    """Edit… : a prompt, size, quality, the region grid, and which of the thread's images;
    sizes and qualities as the model in use takes them."""
    sizes = {"keep": "as before", **{word: f"{word} {size}" for word, size in shape_sizes(defaults.model).items()}}
    qualities = defaults.model.qualities
    quality = quality if quality in qualities else defaults.quality

    def option(value: str, label: str) -> Block:
        return {"text": {"type": "plain_text", "text": label}, "value": value}

    image_options = [
        option(str(image.number), f"#{image.number} · {'made by Easel' if image.origin == 'generated' else 'attached'}")
        for image in images
    ]
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Edit the image"},
        "submit": {"type": "plain_text", "text": "Edit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "prompt",
                "label": {"type": "plain_text", "text": "What should change?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": 3000,
                    "placeholder": {"type": "plain_text", "text": "make the sky stormy"},
                },
            },
            {
                "type": "input",
                "block_id": "images",
                "label": {"type": "plain_text", "text": "Images from this thread to use"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": image_options,
                    "initial_options": [o for o in image_options if int(o["value"]) in chosen] or image_options[:1],
                },
            },
            {
                "type": "input",
                "block_id": "region",
                "optional": True,
                "label": {"type": "plain_text", "text": "Only change these cells (a-c left to right, 1-3 top down)"},
                "element": {"type": "checkboxes", "action_id": "value", "options": [option(c, c) for c in GRID]},
            },
            {
                "type": "input",
                "block_id": "size",
                "label": {"type": "plain_text", "text": "Size"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [option(value, label) for value, label in sizes.items()],
                    "initial_option": option("keep", sizes["keep"]),
                },
            },
            {
                "type": "input",
                "block_id": "quality",
                "label": {"type": "plain_text", "text": "Quality"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [option(q, q) for q in qualities],
                    "initial_option": option(quality, quality),
                },
            },
        ],
    }
