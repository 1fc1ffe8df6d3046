"""What an operator sees: `/metrics` after real requests through the local Slack, `/readyz`
following the database and the Slack connection, and JSON logs that hold no token."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import LimitSettings, Settings
from bot.logs import user_hash
from tests.conftest import eventually, start_bot, stop_bot
from tests.e2e.test_http_mode import free_port, signed
from tests.fakes.environment import bot_environment
from tests.fakes.fake_images import FakeImagesAPI, Fault
from tests.fakes.fake_slack import FakeSlack
from tests.postgres import PostgresServer

pytestmark = pytest.mark.slow  # readiness follows Slack and PostgreSQL going away and coming back

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def scrape(base: str) -> Samples:
    status, body = await get(f"{base}/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


async def until_ready(base: str, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (answer := await get(f"{base}/readyz"))[0] != 200:
        assert time.monotonic() < deadline, f"not ready after {timeout}s: {answer}"
        await asyncio.sleep(0.2)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far one series moved between two scrapes (the registry is the process's)."""
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
async def socket_mode_bot(settings: Settings, slack: FakeSlack, images: FakeImagesAPI) -> AsyncIterator[str]:
    port = free_port()
    limited = dataclasses.replace(settings, metrics_port=port, limits=LimitSettings(images_per_day=2))
    bot = await start_bot(limited, slack)
    yield f"http://127.0.0.1:{port}"
    await stop_bot(bot)


async def test_metrics_move_with_real_requests(socket_mode_bot: str, slack: FakeSlack) -> None:
    before = await scrape(socket_mode_bot)
    await slack.slash("a lighthouse at dusk --quality low")
    await eventually(lambda: len(slack.files) == 1, what="the first image")
    await slack.slash("a lighthouse --n 99")  # bad input, answered in the ack
    await slack.slash("two more lighthouses --n 2")  # over the two images a day
    await eventually(lambda: len(slack.responses) == 1, what="the limit's answer")
    after = await scrape(socket_mode_bot)
    assert moved(before, after, "easel_requests_total", surface="command", outcome="served") == 1
    assert moved(before, after, "easel_requests_total", surface="command", outcome="input_rejected") == 1
    assert moved(before, after, "easel_requests_total", surface="command", outcome="limit") == 1
    assert moved(before, after, "easel_limit_refusals_total", limit="images_today") == 1
    assert moved(before, after, "easel_jobs_finished_total", state="done", reason="none") == 1
    assert moved(before, after, "easel_model_seconds_count", model=Settings().model_id) == 1
    assert moved(before, after, "easel_upload_seconds_count") == 1
    assert moved(before, after, "easel_queue_wait_seconds_count") == 1
    assert 0 < moved(before, after, "easel_spend_usd_total", workspace="T0TEAM") < 0.05
    assert after[("easel_jobs_in_flight", frozenset())] >= 0
    assert ("easel_jobs_queued", frozenset()) in after
    labels = {value for name, pairs in after for _, value in pairs if name.startswith("easel_")}
    assert not {"U0ALICE", "C0GENERAL"} & labels, "no user or channel ids as labels"


async def test_visitors_are_counted_by_surface(socket_mode_bot: str, slack: FakeSlack) -> None:
    before = await scrape(socket_mode_bot)
    message = slack.message_event("@Easel a lighthouse", user="U0GUEST")
    message["event"]["user_team"] = "T0OTHER"  # Slack Connect: a shared channel's visitor
    await slack.wait_for_ack(await slack.send_envelope("events_api", message))
    click = slack.block_action("follow_up_variations", "1", user="U0GUEST", message_ts="1.0", user_team="T0OTHER")
    await slack.wait_for_ack(await slack.send_envelope("interactive", click))
    await eventually(lambda: len(slack.ephemerals) == 1 and len(slack.responses) == 1, what="both answers")
    after = await scrape(socket_mode_bot)
    assert moved(before, after, "easel_requests_total", surface="message", outcome="visitor_declined") == 1
    assert moved(before, after, "easel_requests_total", surface="button", outcome="visitor_declined") == 1


async def test_slack_429s_and_image_api_errors_are_counted(
    socket_mode_bot: str, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    before = await scrape(socket_mode_bot)
    slack.fail_next("chat.postMessage", retry_after=0)
    images.inject(Fault("server_error"))
    await slack.slash("a lighthouse at dusk --quality low")
    await eventually(lambda: len(slack.files) == 1, what="the image after a 429 and a 500")
    after = await scrape(socket_mode_bot)
    assert moved(before, after, "easel_slack_rate_limited_total", method="chat.postMessage") == 1
    assert moved(before, after, "easel_retries_total", what="slack") == 1
    assert moved(before, after, "easel_image_api_errors_total", kind="provider_unavailable") == 1
    assert moved(before, after, "easel_retries_total", what="images") == 1


async def test_readyz_follows_the_database(
    settings: Settings, slack: FakeSlack, images: FakeImagesAPI, postgres: PostgresServer, fresh_postgres: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bot = await start_bot(dataclasses.replace(settings, database_url=fresh_postgres, metrics_port=port), slack)
    try:
        assert await get(f"{base}/readyz") == (200, "ready\n")
        await asyncio.to_thread(postgres.stop)
        try:
            status, reasons = await get(f"{base}/readyz")
            assert status == 503 and reasons.startswith("not ready\ndatabase: "), reasons
            assert await get(f"{base}/healthz") == (200, "ok\n"), "the process itself is fine"
            assert (await scrape(base))[("easel_jobs_in_flight", frozenset())] >= 0, "metrics still answer"
        finally:
            await asyncio.to_thread(postgres.start)
        await until_ready(base)
    finally:
        await stop_bot(bot)


async def test_readyz_follows_the_slack_connection(socket_mode_bot: str, slack: FakeSlack) -> None:
    assert (await get(f"{socket_mode_bot}/readyz"))[0] == 200
    slack.accepting_connections = False
    await slack.drop_connections()
    status, reasons = await get(f"{socket_mode_bot}/readyz")
    assert status == 503 and "Slack: the Socket Mode connection is down" in reasons
    slack.accepting_connections = True
    await until_ready(socket_mode_bot)


async def test_http_mode_serves_metrics_and_readiness_on_its_port(http_bot: str, slack: FakeSlack) -> None:
    before = await scrape(http_bot)
    body = urlencode(slack.slash_command("a lighthouse at dusk --quality low"))
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http_bot}/slack/events", data=body, headers=signed(body)) as response,
    ):
        assert response.status == 200
    await eventually(lambda: len(slack.files) == 1, what="the upload")
    assert await get(f"{http_bot}/readyz") == (200, "ready\n")
    after = await scrape(http_bot)
    assert moved(before, after, "easel_requests_total", surface="command", outcome="served") == 1


async def test_the_json_log_of_a_run_parses_and_holds_no_token(
    tmp_path: Path, slack: FakeSlack, images: FakeImagesAPI
) -> None:
    env = bot_environment(
        slack, images, database_url=f"sqlite:///{tmp_path / 'easel.db'}", LOG_FORMAT="json", LOG_LEVEL="debug"
    )
    prompt = "a lighthouse at dusk painted in gouache"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await slack.wait_connected(timeout=30)
        await slack.slash(f"{prompt} --quality low")
        await eventually(lambda: len(slack.files) == 1, timeout=20, what="the upload")
        await slack.slash("nothing --n 99")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    lines = [json.loads(line) for line in err.decode().splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    text = err.decode()
    for token in (slack.bot_token, slack.app_token, env["OPENAI_API_KEY"]):
        assert token not in text, "a token reached the log"
    assert any(line["level"] == "DEBUG" for line in lines), "the run logged at DEBUG"
    assert {line["level"] for line in lines if prompt in json.dumps(line)} == {"DEBUG"}, "prompts only at DEBUG"
    done = next(line for line in lines if line["message"].endswith(" done"))
    assert done["workspace"] == "T0TEAM" and done["user"] == user_hash("U0ALICE")
    assert done["model"] == Settings().model_id and done["request_key"].startswith("command:")
    assert isinstance(done["job_id"], int) and done["duration"] > 0
