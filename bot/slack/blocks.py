"""Block Kit views: pure functions from domain values to Slack message payloads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.iteration import FollowUp
from bot.domain.lifecycle import ModelStatus
from bot.domain.limits import UsageReport, WorkspaceUsage
from bot.domain.model import JobStatus, ThreadImage
from bot.domain.model_options import shape_sizes
from bot.domain.people import Requester
from bot.domain.pricing import usd
from bot.domain.provenance import ParentImage, Provenance
from bot.domain.requests import OptionDefaults, Prompt, usage
from bot.slack.mrkdwn import escape, excerpt, fit, shorten, slack_date

Block = dict[str, Any]

PROMPT_PREVIEW_CHARS = 280
TEXT_CHARS = 3000  # Block Kit's most for a text object (section text, context element, field)
PARENTS_CHARS = 2000  # of a note's first line, for links to the images it was made from
ALT_TEXT_CHARS = 1000
TITLE_CHARS = 120

_STATUS_LABELS = {
    JobStatus.RECEIVED: ":hourglass_flowing_sand: queued",
    JobStatus.QUEUED: ":hourglass_flowing_sand: queued",
    JobStatus.GENERATING: ":art: generating",
    JobStatus.UPLOADING: ":arrow_up: uploading",
    JobStatus.DONE: ":white_check_mark: done, see the thread",
    JobStatus.FAILED: ":x: failed, see the thread",
}


PROVENANCE_ACTION = "show_provenance"
FOLLOW_UP_PREFIX = "follow_up_"  # + a FollowUp value
EDIT_ACTION = "open_edit"
DELETE_ACTION = "delete_images"
EDIT_VIEW = "edit_request"
DEFAULT_ACTIONS = {"default_size": "size", "default_quality": "quality", "default_format": "output_format"}
FOLLOW_UP_LABELS = {
    FollowUp.VARIATIONS: "Variations",
    FollowUp.REGENERATE: "Regenerate",
    FollowUp.HD: "HD",
    FollowUp.SQUARE: "Square",
    FollowUp.PORTRAIT: "Portrait",
    FollowUp.LANDSCAPE: "Landscape",
}
GRID = [f"{column}{row}" for row in (1, 2, 3) for column in "abc"]  # the region grid, row by row


def request_message(
    requester: Requester,
    prompt: Prompt,
    status: JobStatus,
    *,
    model: str,
    editing: bool = False,
    job_id: int | None = None,
    ahead: int | None = None,
    elapsed: float | None = None,
    deleted: str | None = None,
) -> dict[str, Any]:
    """The message that anchors a request's thread (or, for an edit, stands in it) and shows
    how far the job has got (while queued, how many requests are ahead of it)."""
    options = prompt.options
    verb = "asked to edit" if editing else "asked"
    if editing and prompt.version is not None:
        verb += f" image #{prompt.version}"
    asked = f"<@{requester.user_id}> {verb}: {excerpt(prompt.text, PROMPT_PREVIEW_CHARS)}"
    details = (
        f"{model} · {options.size if options.size_given or not editing else 'size of the source'} · {options.quality}"
    )
    if options.n > 1:
        details += f" · {options.n} images"
    return {
        "text": f"{asked} ({status.value})",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": asked}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"{_status_label(status, ahead, elapsed)} · {details}"}],
            },
            *(
                _result_actions(job_id, deleted=bool(deleted))
                if status is JobStatus.DONE and job_id is not None
                else []
            ),
            *([{"type": "context", "elements": [{"type": "mrkdwn", "text": deleted}]}] if deleted else []),
        ],
    }


def _result_actions(job_id: int, *, deleted: bool) -> list[Block]:
    """One click to iterate: each button is a new request by whoever clicks, in this thread.
    Once the images are deleted, only their provenance remains to look at."""

    def button(action_id: str, label: str, *, style: str | None = None) -> Block:
        element: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": str(job_id),
        }
        if style:
            element["style"] = style
        return element

    if deleted:
        return [{"type": "actions", "block_id": "record", "elements": [button(PROVENANCE_ACTION, "Provenance")]}]
    return [
        {
            "type": "actions",
            "block_id": "iterate",
            "elements": [button(FOLLOW_UP_PREFIX + kind.value, label) for kind, label in FOLLOW_UP_LABELS.items()]
            + [button(EDIT_ACTION, "Edit…")],
        },
        {
            "type": "actions",
            "block_id": "record",
            "elements": [
                button(PROVENANCE_ACTION, "Provenance"),
                {
                    **button(DELETE_ACTION, "Delete", style="danger"),
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Delete these images?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": "The images leave Slack; their provenance record stays, marked deleted.",
                        },
                        "confirm": {"type": "plain_text", "text": "Delete"},
                        "deny": {"type": "plain_text", "text": "Keep"},
                    },
                },
            ],
        },
    ]


def _status_label(status: JobStatus, ahead: int | None, elapsed: float | None) -> str:
    label = _STATUS_LABELS[status]
    if status is JobStatus.QUEUED and ahead is not None:
        label += " (next in line)" if ahead == 0 else f" ({ahead} {'request' if ahead == 1 else 'requests'} ahead)"
    if elapsed is not None and status is not JobStatus.QUEUED:
        label += f" · {_seconds(elapsed)}"
    return label


def _seconds(elapsed: float) -> str:
    if elapsed < 90:
        return f"{round(elapsed)} s"
    return f"{int(elapsed // 60)} min {round(elapsed % 60)} s"


def provenance_note(
    provenance: Provenance, *, allowance: str | None = None, cost_micros: int | None = None
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
        spend.append(f"<@{provenance.requester.user_id}>: {allowance}")
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


def strikes_alert(requester: Requester, *, strikes: int, channel: str) -> str:
    return (
        f":rotating_light: <@{requester.user_id}> is paused for the rest of the day: {strikes} requests in a row "
        f"were blocked by the model's safety system (the last in <#{channel}>). "
        f"`/imagine admin exempt <@{requester.user_id}>` lifts their limits."
    )


def file_title(prompt: str) -> str:
    return shorten(prompt, TITLE_CHARS)


def alt_text(prompt: str) -> str:
    return shorten(f"AI-generated image: {prompt}", ALT_TEXT_CHARS)


def message(text: str) -> dict[str, Any]:
    """A plain mrkdwn message with the same words as its notification text (the section cut
    to Block Kit's 3000 characters; the notification text may be longer)."""
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": fit(text, TEXT_CHARS)}}]}


def help_message(defaults: OptionDefaults, *, quiet_prefix: str) -> dict[str, Any]:
    """Examples and every option, as the model in use takes them."""
    quiet = f"Start a reply with `{quiet_prefix}` and Easel leaves it alone." if quiet_prefix else ""
    spec = defaults.model
    transparent = ["• `--transparent`: a transparent background (PNG or WebP)"] if spec.transparency else []
    gif = "• `--gif`: a short animation; `--frames 2-16` (default 9), `--frame-ms` each frame's time (200)"
    svg = "• `--svg`: a vector file, for logos and icons (one at a time)"
    animation = [line for line, offered in ((gif, spec.gif), (svg, spec.svg)) if offered]
    text = "\n".join(
        [
            "*Easel makes images with you, in threads.*",
            "`/imagine a lighthouse at dusk, watercolor`",
            "`/imagine a paper-cut fox logo "
            + ("--transparent --format png`" if spec.transparency else "--size square`"),
            "`/imagine a city skyline at night --size landscape --quality high --n 2`",
            "",
            f"*Options* (`{spec.id}`) `{usage(defaults)}`",
            f"• `--size`: square (1024x1024), portrait (1024x1536), landscape (1536x1024), "
            f"{spec.sizes.describe()}; a ratio (`--size 16:9`, `--aspect 3:2`, widescreen, tall) picks the closest; "
            f"default {defaults.size} (edits keep the shape of their image)",
            f"• `--quality`: {', '.join(spec.qualities)}; default {defaults.quality}",
            "• `--n`: how many images, 1 to 4",
            *transparent,
            *animation,
            f"• `--format`: {', '.join(defaults.formats)}",
            "",
            "*Iterating* Reply in an image's thread to edit its latest image: `make it foggy`. "
            "`#2 make it darker` edits image #2 (numbers are in the notes). Attach images to edit "
            "them instead (up to 16; a second PNG with transparency, or a file named `mask…`, is the mask). "
            f"{quiet}",
            "*Only part of the image* `--region left|right|top|bottom|center|top-left|…|left-third|…` "
            "or cells of a 3x3 grid: `--region a1,b2`",
            "```  a   b   c\n1 ┌───┬───┬───┐\n  │a1 │b1 │c1 │\n2 ├───┼───┼───┤\n  │a2 │b2 │c2 │"
            "\n3 ├───┼───┼───┤\n  │a3 │b3 │c3 │\n  └───┴───┴───┘```",
            "`@Easel` with a prompt generates; with an image (or in a thread with images) it edits.",
            "*Buttons* under each result: Variations, Regenerate, Edit…, HD, Square / Portrait / Landscape, "
            "Provenance, Delete. A click is a request of whoever clicks.",
            "*Limits* Everyone has daily images, monthly spend and jobs at once; `/imagine usage` shows yours. "
            "Your own default size, quality and format are on Easel's Home tab.",
            "Every image is posted with a note saying who asked, for what, with which model, from which image, "
            "and whether its C2PA provenance is intact.",
        ]
    )
    return message(text)


def usage_message(report: UsageReport, *, user_id: str, heading: str = "Usage") -> dict[str, Any]:
    lines = [f"*{heading} for <@{user_id}>*" + (" (exempt from per-user limits)" if report.exempt else "")]
    if report.paused:
        lines.append(":double_vertical_bar: paused for the rest of the day after requests the safety system blocked")
    for line in report.lines:
        resets = f", resets {slack_date(line.resets_at)}" if line.resets_at else ""
        lines.append(f"• {line.name}: {line.used} of {line.allowed}{resets}")
    return message("\n".join(lines))


def workspace_message(usage: WorkspaceUsage) -> dict[str, Any]:
    lines = [
        "*Workspace usage*" + (" · :double_vertical_bar: paused" if usage.paused else ""),
        f"• spend today: {usd(usage.micros_today)} of {usd(usage.allowed_micros_today)}",
        "*This month, by user*" if usage.users_this_month else "No images this month yet.",
    ]
    lines += [f"• <@{user}>: {images} images, {usd(micros)}" for user, images, micros in usage.users_this_month[:20]]
    return message("\n".join(lines))


def home_view(
    report: UsageReport,
    recent: Sequence[tuple[ThreadImage, str]],
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


def edit_modal(
    images: Sequence[ThreadImage], *, chosen: Sequence[int], quality: str, defaults: OptionDefaults, metadata: str
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


def first_meeting(*, quiet_prefix: str) -> dict[str, Any]:
    """The short hello the first time someone mentions Easel."""
    quiet = f" Start a reply with `{quiet_prefix}` and I leave it alone." if quiet_prefix else ""
    return message(
        ":wave: Hi, I'm Easel. I make images from prompts and edit them with you in threads: reply "
        "`make it foggy`, `#2 only the sky --region a1,b1,c1` (a 3x3 grid, a-c left to right, 1-3 top "
        "down), or attach images to edit them. Options: `--size`, `--quality`, `--n`, `--transparent`, "
        f"`--format`.{quiet} Every person has limits (`/imagine usage`), and every image comes with a note "
        "of who asked, with which model, from which image, and its C2PA provenance. `/imagine help` has it all."
    )
