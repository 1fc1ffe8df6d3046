"""Whatever a person types, the parsers give a request or a clear user error, never another
exception (which would reach the user as "Something went wrong", or no answer at all)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.admin import MAX_IMAGES_PER_DAY, MAX_USD_PER_MONTH, SetLimits, parse_account_command
from bot.domain.pricing import MICROS_PER_USD
from bot.domain.requests import MAX_IMAGES, HelpWanted, OptionDefaults, Prompt, parse_prompt
from bot.errors import InputRejected

# Words the parsers give meaning to, near misses, and values in other scripts' digits.
OPTIONS = st.sampled_from(
    ["--size", "--aspect", "--quality", "--n", "--format", "--region", "--transparent", "\u2014n", "\u2013size"]
)
VALUES = st.one_of(
    st.sampled_from(
        [
            *("square", "portrait", "1024x1024", "auto", "low", "high", "png", "jpg", "webp", "jpeg", "a1,b2"),
            *("top-left", "c3,", ",", "1", "4", "5", "0", "²", "٣", "1²", "1e3", "-1", "--n", "=", ""),
            *("16:9", "3:2", "1:0", "0:0", "9" * 40 + ":1", "²:1", "2048x2048", "4096x4096", "0x0", "xhigh"),
        ]
    ),
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=3),  # digits of every script
    st.text(max_size=8),
)
OPTION = st.one_of(
    st.tuples(OPTIONS, VALUES).map(" ".join),
    st.tuples(OPTIONS, VALUES).map("=".join),
)
ACCOUNT_WORDS = st.sampled_from(
    [
        *("usage", "provenance", "admin", "limit", "exempt", "pause", "resume", "<@U0ALICE|alice>", "U0BOB12"),
        *("#1", "#0", "#99999", "#", "#²", "#٣", "help", "-h", "images=", "usd=.5", "usd=1e309", "images=²"),
    ]
)
LIMIT = st.tuples(st.sampled_from(["images=", "usd="]), st.text("0123456789.²٣", min_size=1, max_size=30)).map("".join)
WORD = st.one_of(OPTION, ACCOUNT_WORDS, LIMIT, st.text(min_size=1, max_size=12))
TEXT = st.one_of(st.text(), st.lists(WORD, max_size=10).map(" ".join))


@given(TEXT)
@example("a red fox --n ²")
@example("#٣ make it darker")
@settings(max_examples=300)
def test_any_prompt_text_is_a_request_or_a_clear_refusal(text: str) -> None:
    try:
        parsed = parse_prompt(text, OptionDefaults())
    except InputRejected as refusal:
        assert refusal.problem.strip()
        return
    if isinstance(parsed, HelpWanted):
        return
    assert isinstance(parsed, Prompt) and parsed.text.strip()
    options, model = parsed.options, OptionDefaults().model
    assert 1 <= options.n <= MAX_IMAGES and options.quality in model.qualities
    assert options.size == "auto" or model.sizes.refusal(options.size) is None
    assert parsed.version is None or 0 <= parsed.version <= 9999


@given(TEXT)
@example("admin limit <@U0ALICE|alice> images=99999999999999999999999/day")
@example("admin limit <@U0ALICE|alice> usd=99999999999999999999999/month")
@settings(max_examples=300)
def test_any_account_text_is_a_command_a_prompt_or_a_clear_refusal(text: str) -> None:
    try:
        command = parse_account_command(text)
    except InputRejected as refusal:
        assert refusal.problem.strip()
        return
    if isinstance(command, SetLimits):
        assert command.images_per_day is None or 0 <= command.images_per_day <= MAX_IMAGES_PER_DAY
        micros = command.usd_micros_per_month
        assert micros is None or 0 <= micros < (MAX_USD_PER_MONTH + 1) * MICROS_PER_USD
