"""The local Slack behaves like the real one where the bot depends on it."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.fake_slack import SHOULD_ESCAPE, FakeSlack, SharedChannel


async def test_hosted_files_need_the_bot_token(slack: FakeSlack) -> None:
    """Without the token Slack answers 200 with a sign-in page, not the file."""
    file = slack.host_file(b"\x89PNG-bytes", name="logo.png", mimetype="image/png", channel="C0GENERAL")
    async with aiohttp.ClientSession() as session:
        async with session.get(file["url_private_download"]) as anonymous:
            assert anonymous.status == 200 and anonymous.content_type == "text/html"
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with session.get(file["url_private_download"], headers=headers) as authorised:
            assert await authorised.read() == b"\x89PNG-bytes"
    assert len(slack.file_downloads) == 2


async def test_rate_limits_carry_retry_after(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", retry_after=3)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C0GENERAL", text="hi")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "3"
    assert (await client.chat_postMessage(channel="C0GENERAL", text="hi"))["ok"] is True


async def test_wrong_token_is_refused(slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as refused:
        await client.auth_test()
    assert refused.value.response["error"] == "invalid_auth"


async def test_upload_keeps_bytes_thread_and_blocks(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    parent = await client.chat_postMessage(channel="C0GENERAL", text="parent")
    await client.files_upload_v2(
        channel="C0GENERAL",
        thread_ts=parent["ts"],
        file=b"exact bytes",
        filename="a.png",
        title="A",
        blocks='[{"type": "context", "elements": [{"type": "mrkdwn", "text": "note"}]}]',
    )
    (uploaded,) = slack.files.values()
    assert (uploaded.content, uploaded.thread_ts, uploaded.title) == (b"exact bytes", parent["ts"], "A")
    assert uploaded.blocks == [{"type": "context", "elements": [{"type": "mrkdwn", "text": "note"}]}]
    assert "Authorization" not in slack.calls_to("upload")[0].headers, "the upload URL never sees the token"


def test_typed_text_arrives_escaped_and_tokenised_as_slack_sends_it(slack: FakeSlack) -> None:
    typed = "Tom & Jerry <3 for @bob in #general @here, see acme.com"
    event = slack.message_event(typed)["event"]
    assert event["text"] == (
        "Tom &amp; Jerry &lt;3 for <@U0BOB> in <#C0GENERAL|general> <!here>, see <http://acme.com|acme.com>"
    )
    [section] = event["blocks"][0]["elements"]
    kinds = [element["type"] for element in section["elements"]]
    assert kinds == ["text", "user", "text", "channel", "text", "broadcast", "text", "link"]
    assert section["elements"][0]["text"] == "Tom & Jerry <3 for ", "rich_text carries the characters unescaped"


def test_commands_escape_as_the_manifest_says(slack: FakeSlack) -> None:
    assert SHOULD_ESCAPE["/imagine"] is True, "manifest.yml: mentions arrive with their names"
    escaped = slack.slash_command("admin usage @alice & #general")["text"]
    assert escaped == "admin usage <@U0ALICE|alice> &amp; <#C0GENERAL|general>"
    slack.add_person("U0ZOE", "Zoë")
    assert slack.slash_command("for @Zoë")["text"] == "for <@U0ZOE>", "no username to send: no name"
    SHOULD_ESCAPE["/plain"] = False
    try:
        plain = slack.slash_command("admin usage @alice & #general", command="/plain")["text"]
    finally:
        del SHOULD_ESCAPE["/plain"]
    assert plain == "admin usage @alice &amp; #general", "without should_escape: names as typed, still HTML-escaped"


def test_shared_channel_events_name_the_host_and_the_installation(slack: FakeSlack) -> None:
    slack.add_person("U0GUEST", "guest", team="T0OTHER")
    payload = slack.message_event("hi", user="U0GUEST", shared=SharedChannel(host_team="T0OTHER"))
    assert payload["team_id"] == "T0OTHER" and payload["is_ext_shared_channel"] is True
    assert payload["authorizations"][0]["team_id"] == slack.team_id
    assert payload["event"]["user_team"] == "T0OTHER"
    assert payload["enterprise_id"] == "E0HOST", "the host's organisation, not the installation's"


async def test_blocks_over_block_kit_limits_are_refused(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    too_long = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}]
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C0GENERAL", text="t", blocks=too_long)
    assert refused.value.response["error"] == "invalid_blocks"
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0GENERAL", text="t", blocks=too_many)
    with pytest.raises(SlackApiError) as view:
        await client.views_open(
            trigger_id="1", view={"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}}
        )
    assert view.value.response["error"] == "invalid_arguments"
    assert slack.messages == [] and slack.views == []


async def test_a_file_deleted_twice_answers_file_deleted(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    await client.files_upload_v2(channel="C0GENERAL", file=b"bytes", filename="a.png")
    [file_id] = list(slack.files)
    await client.files_delete(file=file_id)
    with pytest.raises(SlackApiError) as again:
        await client.files_delete(file=file_id)
    assert again.value.response["error"] == "file_deleted"
    with pytest.raises(SlackApiError) as never:
        await client.files_delete(file="F0NEVER")
    assert never.value.response["error"] == "file_not_found"


async def test_users_info_gives_display_names(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    slack.add_person("U0DANA", "Dana Scully")
    assert (await client.users_info(user="U0DANA"))["user"]["profile"]["display_name"] == "Dana Scully"


async def test_an_image_may_point_only_at_a_png_jpeg_or_gif_file_slack_has(slack: FakeSlack) -> None:
    png = slack.host_file(b"\x89PNG-bytes", name="a.png", mimetype="image/png", channel="C0GENERAL")
    webp = slack.host_file(b"RIFF-bytes", name="a.webp", mimetype="image/webp", channel="C0GENERAL")
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)

    def picture(file_id: str) -> list[dict[str, object]]:
        return [{"type": "image", "slack_file": {"id": file_id}, "alt_text": "a picture"}]

    assert (await client.chat_postMessage(channel="C0GENERAL", text="ok", blocks=picture(png["id"])))["ok"]
    for file_id in (webp["id"], "F_NEVER_THERE"):
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel="C0GENERAL", text="no", blocks=picture(file_id))
        assert refused.value.response["error"] == "invalid_blocks"
