"""A request's options checked against the model in use: the sizes, qualities and backgrounds
it takes. Runs after parsing, so the parser stays a parser and the model's rules stay in the
catalog.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.config import QUALITIES, SIZE_ALIASES, Quality
from bot.domain.catalog import CATALOG
from bot.domain.model_specs import ModelSpec, parse_ratio
from bot.errors import InputRejected

if TYPE_CHECKING:
    from bot.domain.requests import ImageOptions

# Shape words beyond square, landscape and portrait (the standard sizes every model makes).
ASPECT_WORDS = {"widescreen": 16 / 9, "wide": 16 / 9, "tall": 9 / 16, "banner": 3.0, "skyscraper": 1 / 3}


def is_shape(value: str) -> bool:
    """A shape word or a ratio, as `--aspect` takes."""
    return value in SIZE_ALIASES or value in ASPECT_WORDS or parse_ratio(value) is not None


def resolve_size(value: str, spec: ModelSpec) -> str:
    """A size, shape word or ratio (`16:9`) as the size the model makes that fits it best; a
    `WIDTHxHEIGHT` comes back as it is, for `fit_to_model` to check."""
    if value in SIZE_ALIASES:
        return SIZE_ALIASES[value]
    ratio = ASPECT_WORDS.get(value) or parse_ratio(value)
    return spec.sizes.closest(ratio) if ratio is not None else value


def shape_sizes(spec: ModelSpec) -> dict[str, str]:
    """The sizes menus offer, by shape word: the standard three, and more where the model
    makes any size."""
    shapes = dict(SIZE_ALIASES)
    if len(spec.sizes.choices()) > len(SIZE_ALIASES) + 1:  # more than the standard sizes and auto
        shapes |= {word: spec.sizes.closest(ASPECT_WORDS[word]) for word in ("widescreen", "tall")}
    return shapes


def makes(size: str, spec: ModelSpec) -> bool:
    return spec.sizes.refusal(resolve_size(size, spec)) is None


def size_words(spec: ModelSpec) -> str:
    return ", ".join((*SIZE_ALIASES, *spec.sizes.choices(), "or a ratio such as 16:9"))


def fit_to_model(options: ImageOptions, spec: ModelSpec) -> ImageOptions:
    """`options` with the size resolved for `spec`; `InputRejected` quoting what it cannot do."""
    size = resolve_size(options.size, spec)
    if (reason := spec.sizes.refusal(size)) is not None:
        raise InputRejected(
            f"`--size {options.size}` is not a size `{spec.id}` makes ({reason}); use {size_words(spec)}",
            fragment=f"--size {options.size}",
        )
    check_quality(options.quality, spec)
    if options.transparent and not spec.transparency:
        raise InputRejected(f"`{spec.id}` makes no transparent backgrounds", fragment="--transparent")
    kind = options.output_format
    if (kind == "gif" and not spec.gif) or (kind == "svg" and not spec.svg):
        makers = [model for model, other in CATALOG.items() if getattr(other, kind) and "-20" not in model]
        raise InputRejected(
            f"`{spec.id}` makes no {kind.upper()} files; {' and '.join(f'`{m}`' for m in makers)} do "
            "(an admin sets `IMAGE_MODEL`)",
            fragment=f"--{kind}",
        )
    if kind == "svg" and options.n != 1:  # image_generate_params.py `svg`: "SVG generation requires n=1"
        raise InputRejected("an SVG is made one at a time", fragment=f"--n {options.n}")
    return replace(options, size=size)


def check_quality(value: str, spec: ModelSpec) -> Quality:
    """`value` as a quality the model offers, or `InputRejected` naming those it does."""
    for quality in QUALITIES:
        if value == quality and quality in spec.qualities:
            return quality
    raise InputRejected(
        f"`--quality {value}` is not a quality `{spec.id}` offers; use {', '.join(spec.qualities)}",
        fragment=f"--quality {value}",
    )
