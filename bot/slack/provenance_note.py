"""The note under each posted image (who asked, for what, which model, from which image, its
C2PA state, what it cost), and the file's title and alt text."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.model import ImagesLeft
from bot.domain.pricing import usd
from bot.domain.provenance import ParentImage, Provenance
from bot.slack import replies
from bot.slack.block_kit import TEXT_CHARS, Block
from bot.slack.mrkdwn import escape, excerpt, fit, shorten, slack_date
from bot.slack.request_message import PROMPT_PREVIEW_CHARS

PARENTS_CHARS = 2000  # of a note's first line, for links to the images it was made from
ALT_TEXT_CHARS = 1000
TITLE_CHARS = 120


def provenance_note(
    provenance: Provenance, *, allowance: ImagesLeft | None = None, cost_micros: int | None = None
) -> list[Block]:
    """The context block under each image: who, what, which model, how, when."""
    counter = f" · image {provenance.position} of {provenance.of}" if provenance.of > 1 else ""
    title = f"*Image #{provenance.number}* · " if provenance.number is not None else ""
    requester = f"<@{provenance.requester.user_id}>"
    if provenance.parents:
        made = f"edited from {_parent_list(provenance.parents)} by {requester}"
    else:
        made = f"requested by {requester}"
    if provenance.region:
        made += f" · region {provenance.region}"
    lines = [
        f"{title}{made} · {slack_date(provenance.requested_at)}{counter}",
        f"*Prompt:* {excerpt(provenance.prompt, PROMPT_PREVIEW_CHARS)}",
        f"*Model:* `{provenance.model}` · {provenance.size} · {provenance.quality} quality · "
        f"{provenance.output_format.upper()}",
    ]
    if provenance.credentials is not None:  # a certificate's names are anyone's words: escaped
        credentials = escape(provenance.credentials.describe())
        if provenance.credentials.verdict == "absent" and provenance.output_format in ("gif", "svg"):
            credentials += f": this {provenance.output_format.upper()} carries none, so this note is its record"
        lines.append(f"*C2PA:* {credentials}")
    if inputs := _inputs_credentials(provenance.parents):
        lines.append(inputs)
    if provenance.remote_check:
        lines.append(provenance.remote_check)
    spend = [f"cost {usd(cost_micros)}" + (" for all images" if provenance.of > 1 else "")] if cost_micros else []
    if allowance:
        spend.append(f"<@{provenance.requester.user_id}>: {replies.images_left(allowance)}")
    if spend:
        lines.append(" · ".join(spend))
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": fit(line, TEXT_CHARS)} for line in lines]}]


def _parent_list(parents: Sequence[ParentImage]) -> str:
    """The parents' links, as many as fit in a context element; the rest as "+N more"."""
    labels: list[str] = []
    for index, parent in enumerate(parents):
        label = _parent_label(parent)
        if sum(len(kept) + 2 for kept in labels) + len(label) > PARENTS_CHARS:
            return ", ".join(labels) + f" +{len(parents) - index} more"
        labels.append(label)
    return ", ".join(labels)


def note_text(note: list[Block]) -> str:
    """A note's lines as one mrkdwn text, for when Slack will not take its blocks."""
    return "\n".join(element["text"] for block in note for element in block.get("elements", []))


def _inputs_credentials(parents: Sequence[ParentImage]) -> str | None:
    """ "Inputs' C2PA: #2 intact; …": the credentials of each attached input that had any, each
    shortened so that sixteen fit one text element."""
    shared = [parent for parent in parents if parent.origin == "attached" and parent.credentials]
    if not shared:
        return None
    budget = max(60, (TEXT_CHARS - 100) // len(shared) - 10)
    return "*Inputs' C2PA:* " + " · ".join(
        f"#{parent.number} {excerpt(parent.credentials or '', budget)}" for parent in shared
    )


def _parent_label(parent: ParentImage) -> str:
    details = [f"shared by <@{parent.user_id}>"] if parent.origin == "attached" else []
    label = f"<{parent.permalink}|#{parent.number}>" if parent.permalink else f"#{parent.number}"
    return f"{label} ({', '.join(details)})" if details else label


def file_title(prompt: str) -> str:
    return shorten(prompt, TITLE_CHARS)


def alt_text(prompt: str) -> str:
    return shorten(f"AI-generated image: {prompt}", ALT_TEXT_CHARS)
