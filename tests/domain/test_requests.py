"""The command-text parser: every flag, every refusal, quoting the bad part."""

from __future__ import annotations

import pytest

from bot.domain.requests import MAX_PROMPT_CHARS, HelpWanted, OptionDefaults, Prompt, parse_prompt
from bot.errors import InputRejected

DEFAULTS = OptionDefaults(size="1536x1024", quality="low")


def parse(text: str, defaults: OptionDefaults = DEFAULTS) -> Prompt:
    parsed = parse_prompt(text, defaults)
    assert isinstance(parsed, Prompt)
    return parsed


def test_a_plain_prompt_gets_the_defaults() -> None:
    prompt = parse("a dog's toy, watercolor")
    assert prompt.text == "a dog's toy, watercolor"
    options = prompt.options
    assert (options.size, options.quality, options.n, options.transparent, options.output_format) == (
        "1536x1024",
        "low",
        1,
        False,
        "png",
    )
    assert not options.size_given and prompt.region is None and prompt.version is None


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("x --size square", "size", "1024x1024"),
        ("x --size=portrait", "size", "1024x1536"),
        ("x --size landscape", "size", "1536x1024"),
        ("x --size 1024x1536", "size", "1024x1536"),
        ("x --size auto", "size", "auto"),
        ("x --quality high", "quality", "high"),
        ("x --QUALITY=Medium", "quality", "medium"),
        ("x --n 4", "n", 4),
        ("x --format jpg", "output_format", "jpeg"),
        ("x --format webp", "output_format", "webp"),
        ("x --transparent", "transparent", True),
        ("x \u2014size square", "size", "1024x1024"),  # Slack turned -- into an em dash
        ("x \u2013quality high", "quality", "high"),  # or an en dash
    ],
)
def test_each_option(text: str, field: str, value: object) -> None:
    assert getattr(parse(text).options, field) == value


def test_options_may_stand_anywhere() -> None:
    prompt = parse("--quality high a red fox --n 2 in the snow")
    assert prompt.text == "a red fox in the snow" and prompt.options.n == 2


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("x --size huge", "--size huge"),
        ("x --quality ultra", "--quality ultra"),
        ("x --n 0", "--n 0"),
        ("x --n 5", "--n 5"),
        ("x --n two", "--n two"),
        ("x --format gif", "--format gif"),
        ("x --style noir", "--style"),
        ("x --size", "--size"),
        ("x --transparent=yes", "--transparent"),
        ("x --region d4", "--region d4"),
    ],
)
def test_bad_options_are_refused_quoting_the_bad_part(text: str, quoted: str) -> None:
    with pytest.raises(InputRejected) as refused:
        parse_prompt(text, DEFAULTS)
    assert quoted in refused.value.problem


def test_webp_is_refused_where_the_provider_has_none() -> None:
    with pytest.raises(InputRejected) as refused:
        parse_prompt("x --format webp", OptionDefaults(formats=("png", "jpeg")))
    assert "png, jpeg" in refused.value.problem


def test_transparent_jpeg_is_refused() -> None:
    with pytest.raises(InputRejected) as refused:
        parse_prompt("x --transparent --format jpeg", DEFAULTS)
    assert "JPEG has no transparency" in refused.value.problem


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "--help"])
def test_empty_text_and_help_ask_for_help(text: str) -> None:
    assert isinstance(parse_prompt(text, DEFAULTS), HelpWanted)


def test_options_without_a_prompt_are_refused() -> None:
    with pytest.raises(InputRejected) as refused:
        parse_prompt("--size square --n 2", DEFAULTS)
    assert "prompt is empty" in refused.value.problem


def test_a_prompt_over_the_model_limit_is_refused() -> None:
    parse("a" * MAX_PROMPT_CHARS)
    with pytest.raises(InputRejected) as refused:
        parse_prompt("a" * (MAX_PROMPT_CHARS + 1), DEFAULTS)
    assert "32,001 characters" in refused.value.problem


def test_a_version_is_read_only_as_the_first_word() -> None:
    assert parse("#2 make it darker").version == 2
    prompt = parse("a poster saying #1 dad")
    assert prompt.version is None and prompt.text == "a poster saying #1 dad"


def test_an_explicit_size_is_marked_for_edits() -> None:
    assert parse("x --size square").options.size_given
