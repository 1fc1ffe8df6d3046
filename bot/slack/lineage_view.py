"""The Provenance view: an image's chain as pictures, newest first.

For each image asked about: a row of the chain's pictures (a context block of image elements
that point at the files already in Slack), then one section per step, with its picture, step,
person, time, prompt and credential state. Within Block Kit's limits (50 blocks a message, 10
elements a context block, 3000 characters a text), a long chain shows its latest steps and
links the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.lineage import Lineage, LineageStep
from bot.slack.block_kit import TEXT_CHARS, Block
from bot.slack.mrkdwn import escape, excerpt, fit, slack_date

MESSAGE_BLOCKS = 50
MOST_STEPS = 20  # per image; older steps are linked
ROW_PICTURES = 9  # a context block holds 10 elements: nine pictures and a caption
STEP_PROMPT_CHARS = 1_000
ALT_TEXT_CHARS = 200
# `slack_file` images take PNG, JPEG and GIF (not WebP): PLATFORM_NOTES.md, Block Kit image docs.
PREVIEWABLE = {"image/png", "image/jpeg", "image/gif"}


def lineage_message(lineages: Sequence[Lineage]) -> dict[str, Any]:
    """Each image's chain back to the first, newest step first."""
    shown = [lineage for lineage in lineages if lineage.steps]
    text = "Provenance of " + ", ".join(f"image #{lineage.steps[0].number}" for lineage in shown)
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}}]
    # Each lineage has a row, a line of older steps and a divider around its steps.
    steps_each = min(MOST_STEPS, max(1, (MESSAGE_BLOCKS - 1) // max(1, len(shown)) - 3))
    for lineage in shown:
        blocks += _lineage_blocks(lineage, steps_each)
    return {"text": text, "blocks": blocks[:MESSAGE_BLOCKS]}


def _lineage_blocks(lineage: Lineage, most_steps: int) -> list[Block]:
    latest, older = lineage.steps[:most_steps], lineage.steps[most_steps:]
    blocks: list[Block] = []
    if row := _row(lineage.steps):
        blocks.append(row)
    blocks += [_step_section(step) for step in latest]
    if older or lineage.truncated:
        links = ", ".join(_link(step) for step in older)
        earlier = f"Earlier steps: {links}" if links else "Earlier steps"
        more = " and older ones not shown" if lineage.truncated else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": fit(earlier + more, TEXT_CHARS)}]})
    blocks.append({"type": "divider"})
    return blocks


def _row(steps: Sequence[LineageStep]) -> Block | None:
    """The chain at a glance: the latest pictures side by side, newest first."""
    pictures = [step for step in steps if _previewable(step)][:ROW_PICTURES]
    if not pictures:
        return None
    elements: list[Block] = [_picture(step) for step in pictures]
    caption = " ← ".join(f"#{step.number}" for step in pictures)
    if len(pictures) < len(steps):
        caption += f" ({len(steps)} steps in all)"
    elements.append({"type": "mrkdwn", "text": caption})
    return {"type": "context", "elements": elements}


def _step_section(step: LineageStep) -> Block:
    lines = [_head(step)]
    if step.prompt:
        lines.append(f"> {excerpt(step.prompt, STEP_PROMPT_CHARS)}")
    if step.c2pa:  # names from certificates are anyone's words
        lines.append(f"C2PA: {escape(step.c2pa)}")
    if step.deleted:
        lines.append("_deleted from Slack; this record stays_")
    elif not _previewable(step) and step.file_id:
        lines.append("_no preview: Slack shows only PNG, JPEG and GIF here_")
    section: Block = {"type": "section", "text": {"type": "mrkdwn", "text": fit("\n".join(lines), TEXT_CHARS)}}
    if _previewable(step):
        section["accessory"] = _picture(step)
    return section


def _head(step: LineageStep) -> str:
    link = f"*{_link(step)}*"
    when = slack_date(step.created_at)
    if step.origin == "attached":
        return f"{link} shared by <@{step.user_id}> · {when}"
    made_from = f" from {', '.join(f'#{n}' for n in step.parents)}" if step.parents else ""
    verb = "edited" if step.parents else "generated"
    return f"{link} {verb}{made_from} for <@{step.user_id}> · `{step.model}` · {when}"


def _link(step: LineageStep) -> str:
    return f"<{step.permalink}|#{step.number}>" if step.permalink else f"#{step.number}"


def _picture(step: LineageStep) -> Block:
    """An image element for the file already in Slack (no bytes leave Easel again)."""
    what = "shared by a person" if step.origin == "attached" else (step.prompt or "generated image")
    return {
        "type": "image",
        "slack_file": {"id": step.file_id},
        "alt_text": " ".join(f"#{step.number}: {what}".split())[:ALT_TEXT_CHARS],
    }


def _previewable(step: LineageStep) -> bool:
    return bool(step.file_id) and not step.deleted and step.mime_type in PREVIEWABLE
