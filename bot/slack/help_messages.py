"""Help: every option as the model in use takes them, and the hello at a first mention."""

from __future__ import annotations

from typing import Any

from bot.domain.requests import OptionDefaults, usage
from bot.slack.block_kit import message


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
