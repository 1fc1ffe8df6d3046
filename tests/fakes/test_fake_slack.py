"""The local Slack behaves like the real one where the bot depends on it."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.fake_slack import FakeSlack


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
