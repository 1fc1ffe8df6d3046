"""Fixtures for end-to-end tests that need more than tests/conftest.py gives."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from bot.config import Secret, Settings
from bot.runtime import serve
from tests.e2e.test_http_mode import SIGNING_SECRET, free_port, wait_until_healthy
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
async def http_bot(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> AsyncIterator[str]:
    port = free_port()
    http_settings = dataclasses.replace(
        settings, slack_app_token=None, slack_signing_secret=Secret(SIGNING_SECRET), port=port
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(http_settings, stop=stop))
    base = f"http://127.0.0.1:{port}"
    await wait_until_healthy(base)
    yield base
    stop.set()
    await asyncio.wait_for(task, timeout=15)
