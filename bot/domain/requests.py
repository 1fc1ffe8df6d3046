"""What a person asked for: the prompt and its options, parsed from command text.

Pure functions and frozen dataclasses; no Slack, no provider. The same parser serves
`/imagine`, mentions and `python -m bot generate`, so every surface accepts the same flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from bot.config import Quality
from bot.domain.catalog import DEFAULT_MODELS, spec_for
from bot.domain.model_options import check_quality, fit_to_model, is_shape
from bot.domain.model_specs import ModelSpec
from bot.domain.numbers import whole_number
from bot.domain.regions import Region, parse_region
from bot.errors import InputRejected
from bot.providers.base import OutputFormat

if TYPE_CHECKING:
    from bot.domain.model import JobRecord

FORMATS: tuple[OutputFormat, ...] = ("png", "webp", "jpeg")
MAX_IMAGES = 4
MAX_PROMPT_CHARS = 32_000
# image_generate_params.py: `frame_count` 2-16; `frame_duration_ms` rounded to 10 ms, at most 655,350.
FRAMES = (2, 16)
FRAME_MS = (10, 655_350)
# Slack clients (and macOS) turn a typed "--" into an em or en dash; accept those too.
_DASHES = ("\u2014", "\u2013")

# The short form for refusals, which name the allowed values themselves; help shows `usage()`.
USAGE = "/imagine <prompt> [--size …] [--aspect 3:2] [--quality …] [--n 1-4] [--transparent] [--format …]"


def usage(defaults: OptionDefaults) -> str:
    """The command's synopsis, with what the model in use takes."""
    spec = defaults.model
    sizes = "|".join(("square", "portrait", "landscape", *spec.sizes.choices()))
    ratio = "|16:9" if len(spec.sizes.choices()) > 4 else ""
    transparent = " [--transparent]" if spec.transparency else ""
    return (
        f"/imagine <prompt> [--size {sizes}{ratio}] [--aspect 3:2] [--quality {'|'.join(spec.qualities)}] "
        f"[--n 1-{MAX_IMAGES}]{transparent} [--format {'|'.join(defaults.formats)}]"
    )


_VERSION = re.compile(r"^#([0-9]{1,4})$")


@dataclass(frozen=True, kw_only=True)
class ImageOptions:
    size: str
    quality: Quality
    n: int = 1
    transparent: bool = False
    output_format: OutputFormat = "png"
    size_given: bool = False  # edits follow the input's shape unless --size says otherwise
    frame_count: int | None = None  # --gif: frames (None: the model's default, 9)
    frame_ms: int | None = None  # --gif: each frame's delay (None: the model's default, 200 ms)

    @property
    def still(self) -> bool:
        """A still image (not a GIF or an SVG): only those stream and preview."""
        return self.output_format not in ("gif", "svg")


@dataclass(frozen=True, kw_only=True)
class OptionDefaults:
    """What a request gets when its text does not say, and what the provider can do."""

    size: str = "1024x1024"
    quality: Quality = "medium"
    output_format: OutputFormat = "png"
    formats: tuple[OutputFormat, ...] = FORMATS
    model: ModelSpec = field(default_factory=lambda: spec_for(DEFAULT_MODELS["openai"]))


@dataclass(frozen=True)
class Prompt:
    text: str
    options: ImageOptions
    region: Region | None = None  # edits only: where the change goes
    version: int | None = None  # edits only: `#N` picks image N of the thread


def recorded_prompt(job: JobRecord) -> Prompt:
    """The prompt a recorded job was asked with, as `parse_prompt` made it then."""
    options = ImageOptions(
        size=job.size,
        quality=cast(Quality, job.quality),
        n=job.n,
        transparent=job.transparent,
        output_format=cast(OutputFormat, job.output_format),
        size_given=job.size_given,
        frame_count=job.frame_count,
        frame_ms=job.frame_ms,
    )
    return Prompt(job.prompt, options, region=parse_region(job.region) if job.region else None, version=job.version)


@dataclass(frozen=True)
class HelpWanted:
    """The text asked for help, or was empty."""


def parse_prompt(text: str, defaults: OptionDefaults) -> Prompt | HelpWanted:
    """Split command text into a prompt and options; raise `InputRejected` on anything odd."""
    words = text.split()
    if not words or (len(words) == 1 and words[0].lower() in ("help", "-h", "--help")):
        return HelpWanted()

    prompt_words: list[str] = []
    size, quality, n = defaults.size, defaults.quality, 1
    size_given = False
    region: Region | None = None
    version: int | None = None
    transparent = False
    output_format: OutputFormat = defaults.output_format
    kinds: set[str] = set()  # --gif, --svg
    frames: int | None = None
    frame_ms: int | None = None
    i = 0
    while i < len(words):
        word = _normalise_dashes(words[i])
        i += 1
        if i == 1 and (match := _VERSION.match(word)):  # `#2 make it darker`: only as the first word
            version = int(match.group(1))
            continue
        if not word.startswith("--"):
            prompt_words.append(words[i - 1])
            continue
        name, _, inline = word[2:].partition("=")
        name = name.lower()
        if name in ("transparent", "gif", "svg"):
            if inline:
                raise InputRejected(f"`--{name}` takes no value", fragment=word)
            if name == "transparent":
                transparent = True
            else:
                kinds.add(name)
            continue
        if name not in ("size", "aspect", "quality", "n", "format", "region", "frames", "frame-ms"):
            raise InputRejected(f"unknown option `{word}`", fragment=word)
        if inline:
            value = inline
        elif i < len(words) and not _normalise_dashes(words[i]).startswith("--"):
            value = words[i]
            i += 1
        else:
            raise InputRejected(f"`--{name}` needs a value", fragment=word)
        value = value.lower()
        if name == "size":
            size, size_given = value, True
        elif name == "aspect":
            size, size_given = _parse_aspect(value), True
        elif name == "region":
            region = parse_region(value)
        elif name == "quality":
            quality = check_quality(value, defaults.model)
        elif name == "n":
            n = _parse_count(value)
        elif name == "frames":
            frames = _parse_bounded(value, "--frames", FRAMES, "frames")
        elif name == "frame-ms":
            frame_ms = _parse_bounded(value, "--frame-ms", FRAME_MS, "milliseconds a frame")
        else:
            output_format = _parse_format(value, defaults.formats)

    prompt = " ".join(prompt_words).strip()
    if not prompt:
        raise InputRejected("the prompt is empty: describe the image before or after the options")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputRejected(f"the prompt has {len(prompt):,} characters; the model takes at most {MAX_PROMPT_CHARS:,}")
    output_format = _output_kind(kinds, frames=frames, frame_ms=frame_ms, region=region) or output_format
    if transparent and output_format not in ("png", "webp"):
        raise InputRejected(
            f"`--transparent` needs `--format png` or `webp`: {output_format.upper()} has no transparency here"
        )
    options = ImageOptions(
        size=size,
        quality=quality,
        n=n,
        transparent=transparent,
        output_format=output_format,
        size_given=size_given,
        frame_count=frames,
        frame_ms=frame_ms,
    )
    return Prompt(
        prompt,
        fit_to_model(options, defaults.model),
        region=region,
        version=version,
    )


def _normalise_dashes(word: str) -> str:
    for dash in _DASHES:
        if word.startswith(dash):
            return "--" + word[len(dash) :].lstrip("-")
    return word


def _output_kind(
    kinds: set[str], *, frames: int | None, frame_ms: int | None, region: Region | None
) -> OutputFormat | None:
    """`--gif` or `--svg`, with what each allows (image_generate_params.py: GIF output takes no
    mask; frames are for GIFs only)."""
    if len(kinds) > 1:
        raise InputRejected("`--gif` and `--svg` are two different files: ask for one")
    if (frames is not None or frame_ms is not None) and "gif" not in kinds:
        raise InputRejected("`--frames` and `--frame-ms` are for `--gif`", fragment="--frames")
    if "gif" in kinds and region is not None:
        raise InputRejected("a GIF cannot be limited to a region: leave out `--region` or `--gif`")
    if "gif" in kinds:
        return "gif"
    return "svg" if "svg" in kinds else None


def _parse_bounded(value: str, option: str, bounds: tuple[int, int], unit: str) -> int:
    number = whole_number(value)
    low, high = bounds
    if number is None or not low <= number <= high:
        raise InputRejected(
            f"`{option} {value}` is not a number of {unit} from {low} to {high:,}", fragment=f"{option} {value}"
        )
    return number


def _parse_aspect(value: str) -> str:
    if not is_shape(value):
        raise InputRejected(
            f"`--aspect {value}` is not a shape; use square, portrait, landscape, widescreen, tall "
            "or a ratio such as 3:2",
            fragment=f"--aspect {value}",
        )
    return value


def _parse_count(value: str) -> int:
    count = whole_number(value)
    if count is None or not 1 <= count <= MAX_IMAGES:
        raise InputRejected(f"`--n {value}` is not a number of images from 1 to {MAX_IMAGES}", fragment=f"--n {value}")
    return count


def _parse_format(value: str, allowed: tuple[OutputFormat, ...]) -> OutputFormat:
    value = "jpeg" if value == "jpg" else value
    for output_format in allowed:
        if value == output_format:
            return output_format
    raise InputRejected(
        f"`--format {value}` is not available here; use {', '.join(allowed)}", fragment=f"--format {value}"
    )
