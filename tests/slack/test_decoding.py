"""Text as Slack sends it becomes the text the person typed, before any option is parsed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.requests import HelpWanted, OptionDefaults, Prompt, parse_prompt
from bot.errors import InputRejected
from bot.slack.decoding import DisplayNames, decode, mentioned_users, mentions, without_mention
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_text import Directory, as_command, as_message

DIRECTORY = Directory(
    people={"alice": "U0ALICE", "Bob Smith": "U0BOB"},
    channels={"general": "C0GENERAL"},
    groups={"designers": "S0DESIGN"},
)
NAMES = {user_id: name for name, user_id in DIRECTORY.people.items()}


@pytest.mark.parametrize(
    ("wire", "typed"),
    [
        ("a poster for Tom &amp; Jerry &lt;3 at <http://acme.com|acme.com>", "a poster for Tom & Jerry <3 at acme.com"),
        ("make the title &lt;bold&gt; &amp; red", "make the title <bold> & red"),
        ("see <https://example.com/a?b=1&amp;c=2>", "see https://example.com/a?b=1&c=2"),
        ("mail <mailto:bob@acme.com|bob@acme.com> or <mailto:eve@acme.com>", "mail bob@acme.com or eve@acme.com"),
        ("for <@U0ALICE> and <@U0BOB|bob>", "for @alice and @Bob Smith"),
        ("for <@U0NOBODY|nobody> and <@U0GHOST>", "for @nobody and @U0GHOST"),
        ("in <#C0GENERAL|general> and <#C0SECRET>", "in #general and #channel"),
        ("<!here> <!channel> <!everyone> <!here|here>", "@here @channel @everyone @here"),
        ("ask <!subteam^S0DESIGN|@designers>", "ask @designers"),
        ("by <!date^1795000000^{date_short}|Nov 18, 2026>", "by Nov 18, 2026"),
        ("a literal &amp;lt; stays &amp;amp;", "a literal &lt; stays &amp;"),
        ("a link labelled <https://x.io|Tom &amp; Jerry>", "a link labelled Tom & Jerry"),
        ("unpaired < and > pass through", "unpaired < and > pass through"),
    ],
)
def test_slack_text_becomes_what_was_typed(wire: str, typed: str) -> None:
    assert decode(wire, NAMES) == typed


def test_an_entity_or_a_link_neither_hides_nor_invents_an_option() -> None:
    defaults = OptionDefaults()
    # Options parsed after decoding: an escaped character next to "--" is still the option …
    decoded = parse_prompt(decode("Tom &amp; Jerry --quality high"), defaults)
    assert isinstance(decoded, Prompt) and (decoded.text, decoded.options.quality) == ("Tom & Jerry", "high")
    # … and a link's hidden address is not text the person typed.
    linked = parse_prompt(decode("logo for <http://x.io/--n=4|x.io> --n 2"), defaults)
    assert isinstance(linked, Prompt) and (linked.text, linked.options.n) == ("logo for x.io", 2)
    with pytest.raises(InputRejected) as refused:
        parse_prompt(decode("make it --&lt;!channel&gt;"), defaults)
    assert refused.value.fragment == "--<!channel>", "the error quotes what was typed (escaped again on the way out)"


def test_mentions_of_easel_are_found_by_token_and_taken_out() -> None:
    assert mentions("<@U0BOT> a fox", "U0BOT") and mentions("<@U0BOT|easel> a fox", "U0BOT")
    assert not mentions("<@U0BOTTOM> a fox", "U0BOT") and not mentions("&lt;@U0BOT&gt; a fox", "U0BOT")
    assert without_mention("<@U0BOT> a fox for <@U0ALICE>", "U0BOT").strip() == "a fox for <@U0ALICE>"
    assert mentioned_users("<@U0ALICE> <@U0BOB|bob> <@W0GRID>") == {"U0ALICE", "W0GRID"}


# What a person may type: prose with Slack's control characters and everything the client
# turns into tokens (people, groups, channels, broadcasts, links).
_TYPED_PIECES = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="@#"), max_size=12),
    st.sampled_from(
        [" & ", " < ", " > ", " &amp; ", " &lt;3 ", " --size ", " —quality high ", " <!channel> ", " <@U0BOT> "]
    ),
    st.sampled_from([" @alice ", " @Bob ", " @here ", " @channel ", " @everyone ", " @designers ", " #general "]),
    st.sampled_from([" acme.com ", " https://example.com/a?b=1&c=2 ", " mail bob@acme.com "]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TYPED_PIECES, max_size=12).map("".join))
def test_what_slack_delivers_decodes_to_what_was_typed(typed: str) -> None:
    """Round trip through the local Slack's escaping: the model gets exactly what was typed."""
    names = {**NAMES, "U0BOB": "Bob"}
    directory = Directory(
        people={"alice": "U0ALICE", "Bob": "U0BOB"}, channels=DIRECTORY.channels, groups=DIRECTORY.groups
    )
    assert decode(as_message(typed, directory).text, names) == typed
    assert decode(as_command(typed, directory, should_escape=True), names) == typed  # a name Slack left out: looked up
    assert decode(as_command(typed, directory, should_escape=False)) == typed


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text_gives_a_request_or_a_clear_user_error(wire: str) -> None:
    """Whatever arrives, decoding never fails and parsing ends in a request or `InputRejected`."""
    try:
        parsed = parse_prompt(decode(wire, NAMES), OptionDefaults())
    except InputRejected as error:
        assert error.problem
    else:
        assert isinstance(parsed, Prompt | HelpWanted)


async def test_display_names_are_looked_up_once_and_a_failed_lookup_keeps_the_id(slack: FakeSlack) -> None:
    slack.add_person("U0DANA", "Dana Scully")
    names = DisplayNames(AsyncWebClient(token=slack.bot_token, base_url=slack.api_url), size=1)
    assert await names.decode("for <@U0DANA> &amp; <@U0DANA>") == "for @Dana Scully & @Dana Scully"
    assert await names.decode("again <@U0DANA>") == "again @Dana Scully"
    assert len(slack.calls_to("users.info")) == 1, "remembered"
    slack.fail_next("users.info", error="user_not_found")
    assert await names.decode("and <@U0GONE>") == "and @U0GONE", "no name: the id, never an error"
    assert await names.decode("<@U0BOB>") == "@bob"
    assert await names.decode("<@U0DANA>") == "@Dana Scully" and len(slack.calls_to("users.info")) == 4, (
        "the cache holds `size` names: the oldest was let go"
    )
