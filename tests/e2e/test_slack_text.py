"""Text exactly as Slack delivers it, end to end: the model gets what the person typed, and
everything Easel posts shows it escaped exactly once, so typed mentions notify nobody.

Tests type as a person does; the local Slack escapes and tokenises it as Slack does.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.config import LimitSettings, Settings
from bot.domain.requests import MAX_PROMPT_CHARS
from tests.conftest import RunningBot, eventually, start_bot, stop_bot
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack, PostedMessage

pytestmark = pytest.mark.slow  # hostile text through every surface, each generating

# What people type that Slack turns into `&amp;`, `&lt;`, `&gt;` or into live tokens.
HOSTILE = (
    "Tom & Jerry <3 at acme.com for @bob in #general, ping @here @channel @everyone @designers "
    "and literally <!channel> <!here> <!everyone> <@U0CAROL> <#C0GENERAL> <!subteam^S0DESIGN> :tada:"
)
# The model receives exactly that: mentions as the plain words, links as their text.
MODEL_SEES = HOSTILE
PEOPLE = {"U0ALICE", "U0BOB"}  # whom Easel itself mentions: the people who ask


@pytest.fixture
async def bot(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> AsyncIterator[RunningBot]:
    roomy = LimitSettings(concurrent_jobs=10, requests_per_minute=100, images_per_day=100)
    running = await start_bot(dataclasses.replace(settings, limits=roomy), slack)
    yield running
    await stop_bot(running)


async def imagine(slack: FakeSlack, images: FakeImagesAPI, text: str) -> PostedMessage:
    """Run /imagine to the end; the status message that anchors its thread."""
    requests, uploads = len(images.requests), len(slack.files)
    await slack.slash(text)
    await eventually(lambda: len(slack.files) > uploads and len(images.requests) > requests, what="the image")
    return next(m for m in reversed(slack.messages) if m.thread_ts is None and m.user == slack.bot_user_id)


def mrkdwn_texts(slack: FakeSlack) -> Iterator[str]:
    """Every mrkdwn text Easel sent: messages with their updates, ephemerals, response URLs,
    notes on uploads, views, acks."""
    payloads: list[Any] = [
        *({"text": m.text, "blocks": m.blocks} for m in slack.messages if m.user == slack.bot_user_id),
        *(update for m in slack.messages for update in m.updates),
        *slack.ephemerals,
        *slack.responses,
        *(file.blocks for file in slack.files.values()),
        *(view["view"] for view in slack.views),
        *(ack.payload for ack in slack.acks.values() if ack.payload),
    ]
    for payload in payloads:
        yield from _texts(payload)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if not value.startswith("["):
            yield value
            return
        value = json.loads(value)  # blocks sent as a JSON string
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return  # shown as it is, never parsed for mentions
        for key, inner in value.items():
            if key in ("text", "blocks", "elements", "fields", "accessory") or isinstance(inner, dict | list):
                yield from _texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _texts(inner)


def assert_nobody_is_pinged(slack: FakeSlack) -> None:
    """No live `<!…>` (but Easel's dates), `<#…>`, or `<@…>` of someone Easel did not put
    there; nothing escaped twice."""
    texts = list(mrkdwn_texts(slack))
    assert texts, "the sweep found nothing to look at"
    for text in texts:
        for token in re.findall(r"<([!@#][^>]*)>", text):
            assert token.startswith("!date^") or (token[0] == "@" and token[1:] in PEOPLE), (token, text[:200])
        assert not re.search(r"&amp;(amp|lt|gt);", text), text[:200]
    for file in slack.files.values():
        for plain in (file.title or "", file.alt_txt or ""):
            assert "&amp;" not in plain and "&lt;" not in plain, "plain text is not escaped"


async def test_slash_command_text_reaches_the_model_as_typed(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    status = await imagine(slack, images, "a poster for Tom & Jerry <3 at acme.com --quality low")
    sent = slack.calls_to("chat.postMessage")[0]
    assert images.requests[0].fields["prompt"] == "a poster for Tom & Jerry <3 at acme.com"
    assert images.requests[0].fields["quality"] == "low", "the option after a link and an entity still counts"
    assert "asked: a poster for Tom &amp; Jerry &lt;3 at acme.com" in str(sent.params["text"])
    assert status.text and "&amp;amp;" not in status.text
    [file] = slack.files.values()
    assert file.title == "a poster for Tom & Jerry <3 at acme.com"
    assert file.alt_txt == "AI-generated image: a poster for Tom & Jerry <3 at acme.com"


async def test_a_command_mentioning_someone_slack_gives_no_name_for_names_them(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """A command's mention may come as `<@U…>` alone: the name is looked up after the ack."""
    slack.add_person("U0ZOE", "Zoë")
    await imagine(slack, images, "a portrait of @Zoë and @bob --quality low")
    assert images.requests[0].fields["prompt"] == "a portrait of @Zoë and @bob"
    assert [call.params["user"] for call in slack.calls_to("users.info")] == ["U0ZOE"], "named ones need no lookup"


async def test_replies_mentions_and_the_edit_dialog_reach_the_model_as_typed(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    status = await imagine(slack, images, "a lighthouse")
    await slack.say("make the title <bold> & red", user="U0BOB", thread_ts=status.ts)
    await eventually(lambda: len(images.requests) == 2, what="the reply's edit")
    assert images.requests[1].fields["prompt"] == "make the title <bold> & red"

    await slack.say("@Easel a portrait of @bob in #general, see https://acme.com/a?b=1&c=2 :tada:")
    await eventually(lambda: len(images.requests) == 3, what="the mention's request")
    assert (
        images.requests[2].fields["prompt"] == "a portrait of @bob in #general, see https://acme.com/a?b=1&c=2 :tada:"
    )

    await eventually(lambda: len(slack.files) == 3, what="the images")
    await _submit_edit(slack, status, "add <red> & blue --quality high")
    await eventually(lambda: len(images.requests) == 4, what="the dialog's edit")
    assert images.requests[3].fields["prompt"] == "add <red> & blue", "a dialog's text is plain: nothing to decode"
    assert images.requests[3].fields["quality"] == "high"


async def test_a_direct_message_makes_an_image_there_and_a_reply_edits_it(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    dm = slack.direct_messages("U0ALICE")
    asked = await slack.say("a lighthouse & a boat --quality low", channel=dm)
    await eventually(lambda: len(slack.files) == 1, what="the image in the DM")
    [file] = slack.files.values()
    assert (file.channel, file.thread_ts) == (dm, asked["ts"])
    assert images.requests[0].fields["prompt"] == "a lighthouse & a boat"

    await slack.say("make it foggy", channel=dm, thread_ts=asked["ts"])
    await eventually(lambda: len(slack.files) == 2, what="the edit in the DM")
    assert images.requests[1].kind == "edit" and images.requests[1].fields["prompt"] == "make it foggy"


async def test_errors_quote_what_was_typed_without_pinging_anyone(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    status = await imagine(slack, images, "a lighthouse")
    await slack.say("make it --<!channel>", thread_ts=status.ts)
    file = slack.host_file(b"not an image", name="<!here> logo.png", mimetype="text/plain", channel="C0GENERAL")
    await slack.say("use this", thread_ts=status.ts, files=[{**file, "filetype": "text"}])
    ack = await slack.slash("a lighthouse --a&b<c>")
    assert ack.payload is not None and "unknown option `--a&amp;b&lt;c&gt;`" in ack.payload["text"]
    await eventually(lambda: len(slack.thread("C0GENERAL", status.ts)) >= 5, what="both answers")
    answers = " ".join(m.text or "" for m in slack.thread("C0GENERAL", status.ts) if m.user == slack.bot_user_id)
    assert "unknown option `--&lt;!channel&gt;`" in answers
    assert "`&lt;!here&gt; logo.png` is not an image" in answers
    assert len(images.requests) == 1
    assert_nobody_is_pinged(slack)


async def test_hostile_text_on_every_surface_pings_nobody(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    """Slash command, thread reply, mention, DM, dialog and buttons, with hostile text and the
    longest prompt full of `&`; then every text Easel sent is swept."""
    status = await imagine(slack, images, HOSTILE)
    assert images.requests[0].fields["prompt"] == MODEL_SEES
    await imagine(slack, images, "&" * MAX_PROMPT_CHARS)
    assert images.requests[1].fields["prompt"] == "&" * MAX_PROMPT_CHARS

    count = len(images.requests)
    await slack.say(HOSTILE, user="U0BOB", thread_ts=status.ts)
    await slack.say(f"@Easel {HOSTILE}")
    dm = slack.direct_messages("U0BOB")
    await slack.say(HOSTILE, user="U0BOB", channel=dm)
    await eventually(lambda: len(images.requests) == count + 3, what="the reply, the mention and the DM")
    assert all(request.fields["prompt"] == MODEL_SEES for request in images.requests[count:])

    await eventually(lambda: len(slack.files) == 5, what="their images")
    await _submit_edit(slack, status, HOSTILE)
    for action in ("follow_up_regenerate", "show_provenance"):
        await _click(slack, status, action)
    await eventually(lambda: len(images.requests) == count + 5, what="the dialog's edit and the regeneration")
    await eventually(lambda: any("Provenance of" in r.get("text", "") for r in slack.responses), what="provenance")
    await eventually(lambda: len(slack.files) == 7, what="every image")
    views = len(slack.views)
    await slack.wait_for_ack(await slack.send_envelope("events_api", slack.app_home_opened_event(user="U0BOB")))
    await eventually(lambda: len(slack.views) == views + 1, what="the Home tab with the latest prompts")
    assert "Tom &amp; Jerry" in json.dumps(slack.views[-1]["view"])

    for word in HOSTILE.split():  # each quoted back in the refusal
        for command in ("admin exempt", "admin limit @alice"):
            await slack.slash(f"{command} {word}", user="U0ADMIN")
    assert_nobody_is_pinged(slack)


async def test_an_admin_command_quotes_a_bad_word_escaped_once(
    bot: RunningBot, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    ack = await slack.slash("admin exempt Tom&Jerry<3", user="U0ADMIN")
    assert ack.payload is not None
    assert "`Tom&amp;Jerry&lt;3` is not a user" in ack.payload["text"]
    ack = await slack.slash("admin limit @alice images=<5", user="U0ADMIN")
    assert ack.payload is not None and "`images=&lt;5` is not a limit" in ack.payload["text"]


async def _click(slack: FakeSlack, message: PostedMessage, action_id: str, *, user: str = "U0ALICE") -> None:
    [value] = [
        element["value"]
        for block in message.blocks or []
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    ]
    payload = slack.block_action(action_id, value, user=user, message_ts=message.ts)
    await slack.wait_for_ack(await slack.send_envelope("interactive", payload))


async def _submit_edit(slack: FakeSlack, status: PostedMessage, text: str) -> None:
    await eventually(lambda: "done" in str(status.blocks), what="the buttons")
    views = len(slack.views)
    await _click(slack, status, "open_edit")
    await eventually(lambda: len(slack.views) == views + 1, what="the dialog")
    values = {
        "prompt": {"type": "plain_text_input", "value": text},
        "images": {"type": "checkboxes", "selected_options": [{"value": "1"}]},
        "region": {"type": "checkboxes", "selected_options": []},
        "size": {"type": "static_select", "selected_option": {"value": "keep"}},
        "quality": {"type": "static_select", "selected_option": {"value": "low"}},
    }
    submission = slack.view_submission(slack.views[-1]["view"], values)
    ack = await slack.wait_for_ack(await slack.send_envelope("interactive", submission))
    assert ack.payload in (None, {}), ack.payload


async def test_a_quiet_prefix_with_slack_control_characters_is_recognised(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    running = await start_bot(dataclasses.replace(settings, quiet_prefix=">>"), slack)
    try:
        status = await imagine(slack, images, "a lighthouse")
        await slack.say(">> just talking about it", thread_ts=status.ts)
        await slack.say("make it foggy", thread_ts=status.ts)
        await eventually(lambda: len(images.requests) == 2, what="the reply's edit")
        assert images.requests[1].fields["prompt"] == "make it foggy", "the quiet reply was left alone"
    finally:
        await stop_bot(running)
