"""Options checked against the model in use: sizes, ratios, qualities, backgrounds."""

from __future__ import annotations

import pytest

from bot.domain.catalog import CATALOG, spec_for
from bot.domain.requests import OptionDefaults, Prompt, parse_prompt
from bot.errors import InputRejected

MINI = OptionDefaults(model=spec_for("gpt-image-1-mini"))
FLARE = OptionDefaults(model=spec_for("gpt-image-2.5-flare"))
TWO = OptionDefaults(model=spec_for("gpt-image-2"))


def parse(text: str, defaults: OptionDefaults) -> Prompt:
    parsed = parse_prompt(text, defaults)
    assert isinstance(parsed, Prompt)
    return parsed


def refusal(text: str, defaults: OptionDefaults) -> InputRejected:
    with pytest.raises(InputRejected) as refused:
        parse_prompt(text, defaults)
    return refused.value


def test_a_free_size_is_taken_by_a_model_whose_rule_allows_it() -> None:
    assert parse("a harbour --size 2048x1152", FLARE).options.size == "2048x1152"


def test_the_same_size_is_refused_on_mini_with_the_sizes_mini_makes() -> None:
    error = refusal("a harbour --size 2048x1152", MINI)
    assert error.fragment == "--size 2048x1152"
    assert "`gpt-image-1-mini`" in error.problem and "1024x1024, 1536x1024, 1024x1536, auto" in error.problem


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        ("1000x1000", "multiples of 16"),
        ("3840x1024", "3:1"),
        ("4096x2304", "3840x2160"),
        ("512x512", "smallest"),
        ("big", "WIDTHxHEIGHT"),
    ],
)
def test_the_size_rule_says_which_limit_a_size_breaks(size: str, reason: str) -> None:
    assert reason in refusal(f"x --size {size}", FLARE).problem


@pytest.mark.parametrize(
    ("text", "defaults", "size"),
    [
        ("x --size 16:9", FLARE, "1360x768"),
        ("x --aspect 3:2", FLARE, "1248x832"),
        ("x --size widescreen", FLARE, "1360x768"),
        ("x --aspect tall", FLARE, "768x1360"),
        ("x --size 16:9", MINI, "1536x1024"),
        ("x --aspect 2:3", MINI, "1024x1536"),
        ("x --aspect 1:1", MINI, "1024x1024"),
        ("x --size 5:1", FLARE, "1776x592"),  # beyond 3:1, the widest the model makes
        ("x --size landscape", FLARE, "1536x1024"),
    ],
)
def test_a_ratio_or_shape_word_picks_the_closest_size_the_model_makes(
    text: str, defaults: OptionDefaults, size: str
) -> None:
    options = parse(text, defaults).options
    assert options.size == size and options.size_given
    assert defaults.model.sizes.refusal(size) is None


def test_a_bad_aspect_is_quoted() -> None:
    error = refusal("x --aspect sideways", FLARE)
    assert error.fragment == "--aspect sideways" and "3:2" in error.problem


def test_quality_max_is_taken_by_the_2_5_family_and_refused_on_mini() -> None:
    assert parse("x --quality max", FLARE).options.quality == "max"
    assert parse("x --quality xhigh", FLARE).options.quality == "xhigh"
    error = refusal("x --quality max", MINI)
    assert error.fragment == "--quality max" and error.problem.endswith("use low, medium, high")
    assert "xhigh" not in refusal("x --quality xhigh", TWO).problem.split("use ")[1]


def test_transparency_is_refused_where_the_model_has_none() -> None:
    assert parse("a logo --transparent", FLARE).options.transparent
    error = refusal("a logo --transparent", TWO)
    assert error.fragment == "--transparent" and "`gpt-image-2`" in error.problem


def test_every_model_makes_the_standard_sizes_and_its_suggested_ones() -> None:
    for spec in CATALOG.values():
        for size in ("1024x1024", "1536x1024", "1024x1536", *spec.sizes.choices()):
            assert spec.sizes.refusal(size) is None, (spec.id, size)


def test_sizes_above_2560x1440_are_experimental() -> None:
    sizes = spec_for("gpt-image-2.5-flare").sizes
    assert not sizes.experimental("2560x1440") and sizes.experimental("3840x2160")


SIX = OptionDefaults(model=spec_for("gpt-image-2.6-flare"))


def test_a_gif_takes_its_frames_and_frame_time() -> None:
    options = parse("a lantern --gif --frames 12 --frame-ms 80", SIX).options
    assert (options.output_format, options.frame_count, options.frame_ms, options.still) == ("gif", 12, 80, False)
    plain = parse("a lantern --gif", SIX).options
    assert (plain.frame_count, plain.frame_ms) == (None, None), "the model's defaults: 9 frames, 200 ms"
    assert parse("a fox --svg", SIX).options.output_format == "svg"


@pytest.mark.parametrize(
    ("text", "fragment", "words"),
    [
        ("x --gif --frames 20", "--frames 20", "from 2 to 16"),
        ("x --gif --frames ٣", "--frames ٣", "from 2 to 16"),
        ("x --gif --frame-ms 0", "--frame-ms 0", "from 10 to 655,350"),
        ("x --frames 4", "--frames", "for `--gif`"),
        ("x --gif --svg", None, "ask for one"),
        ("x --svg --n 2", "--n 2", "one at a time"),
        ("x --gif --transparent", None, "GIF has no transparency"),
        ("x --gif=yes", "--gif=yes", "takes no value"),
    ],
)
def test_gif_and_svg_refusals_quote_the_bad_part(text: str, fragment: str | None, words: str) -> None:
    error = refusal(text, SIX)
    assert error.fragment == fragment and words in error.problem


def test_a_gif_is_not_limited_to_a_region() -> None:
    assert "region" in refusal("x --gif --region top", SIX).problem


@pytest.mark.parametrize("kind", ["gif", "svg"])
def test_a_model_without_the_format_names_those_with_it(kind: str) -> None:
    error = refusal(f"x --{kind}", FLARE)
    assert error.fragment == f"--{kind}"
    assert "`gpt-image-2.6-flare` and `gpt-image-2.6-sunburst` do" in error.problem
