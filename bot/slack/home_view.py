"""The Home tab's view: usage first, the person's defaults, then their latest images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.domain.lifecycle import ModelStatus
from bot.domain.limits import UsageReport
from bot.domain.model_options import shape_sizes
from bot.domain.requests import OptionDefaults
from bot.slack.block_kit import Block
from bot.slack.mrkdwn import excerpt, shorten
from bot.slack.usage_messages import usage_message


class ListedImage(Protocol):
    """What the tab shows of each of the person's images."""

    @property
    def number(self) -> int: ...
    @property
    def permalink(self) -> str | None: ...
    @property
    def slack_file_id(self) -> str | None: ...
    @property
    def mime_type(self) -> str | None: ...


DEFAULT_ACTIONS = {"default_size": "size", "default_quality": "quality", "default_format": "output_format"}


def home_view(
    report: UsageReport,
    recent: Sequence[tuple[ListedImage, str]],
    *,
    user_id: str,
    defaults: OptionDefaults,
    model_warning: ModelStatus | None = None,
) -> dict[str, Any]:
    """Usage first (what people come to check), their defaults, then their latest images; for
    an admin, first of all, a model that is shutting down."""
    warning: list[Block] = []
    if model_warning is not None:
        text = f":warning: *For admins:* {model_warning.describe()}. Set `IMAGE_MODEL` to a current model."
        warning = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    view_blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Easel"}},
        *warning,
        *usage_message(report, user_id=user_id, heading="Your usage")["blocks"],
        {"type": "divider"},
        *defaults_section(defaults),
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Your latest images*"}},
    ]
    if not recent:
        view_blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "None yet: try `/imagine a lighthouse at dusk`."}],
            }
        )
    for image, prompt in recent:
        link = f"<{image.permalink}|open in its thread>" if image.permalink else ""
        section: Block = {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*#{image.number}* {excerpt(prompt, 150)}\n{link}"},
        }
        if image.slack_file_id and image.mime_type in ("image/png", "image/jpeg"):  # slack_file takes no WebP
            section["accessory"] = {
                "type": "image",
                "slack_file": {"id": image.slack_file_id},
                "alt_text": shorten(prompt, 200),
            }
        view_blocks.append(section)
    return {"type": "home", "blocks": view_blocks}


def defaults_section(defaults: OptionDefaults) -> list[Block]:
    """The Home tab's choices that later requests start from."""

    def select(action_id: str, placeholder: str, values: dict[str, str], current: str) -> Block:
        options = [{"text": {"type": "plain_text", "text": label}, "value": value} for value, label in values.items()]
        element: Block = {
            "type": "static_select",
            "action_id": action_id,
            "placeholder": {"type": "plain_text", "text": placeholder},
            "options": options,
        }
        element["initial_option"] = next((o for o in options if o["value"] == current), options[0])
        return element

    sizes = {size: f"{name} {size}" for name, size in shape_sizes(defaults.model).items()}
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Your defaults* (an option in a request wins)"}},
        {
            "type": "actions",
            "block_id": "defaults",
            "elements": [
                select("default_size", "Size", sizes, defaults.size),
                select("default_quality", "Quality", {q: q for q in defaults.model.qualities}, defaults.quality),
                select("default_format", "Format", {f: f.upper() for f in defaults.formats}, defaults.output_format),
            ],
        },
    ]
