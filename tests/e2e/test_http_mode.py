"""HTTP mode (no app token, a signing secret): Slack's signed requests on /slack/events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.conftest import eventually
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack

SIGNING_SECRET = "test-signing-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signed(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    timestamp = timestamp or int(time.time())
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def wait_until_healthy(base: str) -> None:
    """A replica is up once GET /healthz answers."""
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{base} never became healthy")


@pytest.mark.slow
async def test_a_signed_slash_command_is_acked_and_answered(
    http_bot: str, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    body = urlencode(slack.slash_command("a lighthouse at dusk"))
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        async with session.post(f"{http_bot}/slack/events", data=body, headers=signed(body)) as response:
            assert response.status == 200
        assert time.monotonic() - started < 3.0
    await eventually(lambda: len(slack.files) == 1, what="the upload")
    assert next(iter(slack.files.values())).content == images.outputs[0]


@pytest.mark.parametrize("forgery", ["tampered", "wrong-secret", "stale", "unsigned"])
async def test_an_unsigned_or_stale_request_is_refused(
    http_bot: str, slack: FakeSlack, images: FakeImagesAPI, forgery: str
) -> None:
    body = urlencode(slack.slash_command("a lighthouse"))
    headers = {
        "tampered": signed(body.replace("lighthouse", "lightship")),
        "wrong-secret": signed(body, secret="wrong-secret"),
        "stale": signed(body, timestamp=int(time.time()) - 600),
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
    }[forgery]
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http_bot}/slack/events", data=body, headers=headers) as response,
    ):
        assert response.status == 401
    assert images.requests == [] and slack.calls_to("chat.postMessage") == []
