"""Shared fixtures: the local Slack and Images API servers, settings pointing at them, and
the real bot (Bolt's AsyncApp over Socket Mode) running against both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData
from sqlmodel import create_engine

from bot.config import Secret, Settings
from bot.runtime import serve
from bot.storage import schema
from bot.storage.engines import make_engine
from tests.fakes.fake_images import FakeImagesAPI
from tests.fakes.fake_slack import FakeSlack
from tests.postgres import PostgresServer, postgres_server


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def images() -> AsyncIterator[FakeImagesAPI]:
    async with FakeImagesAPI() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI) -> Settings:
    return Settings(
        slack_bot_token=Secret(slack.bot_token),
        slack_app_token=Secret(slack.app_token),
        slack_api_url=slack.api_url,
        openai_api_key=Secret("sk-test"),
        openai_base_url=images.base_url,
        database_url=f"sqlite:///{tmp_path / 'easel.db'}",
        image_timeout_seconds=10,
        image_max_retry_after_seconds=2,
    )


@dataclass
class RunningBot:
    settings: Settings
    stop: asyncio.Event
    task: asyncio.Task[None]

    def database(self) -> Engine:
        return create_engine(self.settings.database_url)


async def start_bot(settings: Settings, slack: FakeSlack) -> RunningBot:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop))
    connected = asyncio.create_task(slack.wait_connected(timeout=10))
    done, _ = await asyncio.wait({task, connected}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        connected.cancel()
        task.result()  # raises what stopped the bot
        raise AssertionError("the bot stopped before connecting")
    connected.result()
    return RunningBot(settings=settings, stop=stop, task=task)


async def stop_bot(bot: RunningBot) -> None:
    bot.stop.set()
    await asyncio.wait_for(bot.task, timeout=15 * LOADED_MACHINE_FACTOR)


@pytest.fixture
async def bot(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> AsyncIterator[RunningBot]:
    running = await start_bot(settings, slack)
    yield running
    await stop_bot(running)


# Waits are safety nets, not measurements: a passing test never waits them out, and CI's
# two cores may be shared, so each wait allows this many times what a quiet machine needs.
LOADED_MACHINE_FACTOR = 3


async def eventually(check: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition") -> None:
    """Wait until `check()` holds: the bot works after its ack, so results arrive later."""
    deadline = time.monotonic() + timeout * LOADED_MACHINE_FACTOR
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresServer) -> str:
    return postgres.url


@pytest.fixture
def empty_postgres(request: pytest.FixtureRequest, postgres_url: str) -> str:
    """The session's server with no table at all (not even Alembic's) for each test."""
    assert request.node.get_closest_marker("slow"), "mark a test on PostgreSQL slow: the quick loop starts no server"
    engine = make_engine(postgres_url)
    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)
    engine.dispose()
    return postgres_url


@pytest.fixture
def fresh_postgres(empty_postgres: str) -> str:
    """The session's server with every migration applied and empty tables for each test."""
    schema.upgrade(empty_postgres)
    return empty_postgres
