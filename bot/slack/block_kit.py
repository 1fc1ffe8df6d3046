"""What every Block Kit view shares: the block type, Slack's text limit, the plain message."""

from __future__ import annotations

from typing import Any

from bot.slack.mrkdwn import fit

Block = dict[str, Any]

TEXT_CHARS = 3000  # Block Kit's most for a text object (section text, context element, field)


def message(text: str) -> dict[str, Any]:
    """A plain mrkdwn message with the same words as its notification text (the section cut
    to Block Kit's 3000 characters; the notification text may be longer)."""
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": fit(text, TEXT_CHARS)}}]}
