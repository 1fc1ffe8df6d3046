"""Running the bot: connect to Slack (Socket Mode or HTTP), serve until SIGTERM, drain."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import health, logs, metrics
from bot.app import build_app
from bot.check import provider_unreachable, slack_unreachable
from bot.config import Settings
from bot.domain.worker import JobWorker, WorkerPolicy
from bot.errors import ConfigError, ProviderTimeout, ProviderUnavailable
from bot.slack import commands, events
from bot.slack.client import build_web_client
from bot.slack.decoding import DisplayNames
from bot.slack.publisher import SlackSurface
from bot.slack.workspaces import Membership, installed_as
from bot.storage.leases import LeaseHolders
from bot.wiring import Services, build_services, log_model_status

logger = logging.getLogger(__name__)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (SIGTERM or SIGINT when not given)."""
    settings.require_slack()
    stop = stop or _stop_on_signals()
    services = build_services(settings)
    log_model_status(settings, today=settings.today())
    try:
        async with aiohttp.ClientSession() as session:
            client = build_web_client(settings, session)
            try:
                identity = await client.auth_test()
            except SlackApiError as exc:
                raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack: {exc.response.get('error')}") from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ConfigError(slack_unreachable(settings, exc)) from None
            try:
                await services.provider.check_reachable()
            except (ProviderUnavailable, ProviderTimeout):
                raise ConfigError(provider_unreachable(settings, services.provider)) from None
            logger.info("connected to Slack as %s in %s", identity.get("user"), identity.get("team"))
            names = DisplayNames(client)
            members = Membership(installed_as(identity), names)
            app = build_app(settings, services, client, names, identity, members)
            surface = SlackSurface(client, settings, model=services.pipeline.model_id, deliveries=services.deliveries)
            worker = JobWorker(
                services.pipeline,
                services.job_records,
                services.events,
                surface,
                WorkerPolicy(
                    concurrency=settings.jobs.concurrency,
                    lease_seconds=settings.jobs.lease_seconds,
                    poll_seconds=settings.jobs.poll_seconds,
                    images_per_minute=settings.jobs.images_per_minute,
                    post_seconds=settings.jobs.post_seconds,
                ),
                leases=LeaseHolders(services.database),
                queued=services.intake.queued,
            )
            worker.start()
            replayer = asyncio.create_task(
                _replay_events(client, settings, services, names, members, bot_user_id=identity["user_id"])
            )
            if settings.slack_app_token is not None:
                handler = AsyncSocketModeHandler(app, settings.slack_app_token.reveal(), web_client=client)
                readiness = health.Readiness(
                    database=services.database, slack=_socket_mode_check(handler), worker_running=worker.running
                )
                probes = await health.serve(readiness, port=settings.metrics_port) if settings.metrics_port else None
                await handler.connect_async()  # type: ignore[no-untyped-call]
                logger.info("Socket Mode connected; Easel is listening")
                await stop.wait()
                await handler.close_async()  # type: ignore[no-untyped-call]
                if probes is not None:
                    await probes.cleanup()
            else:
                web_app = app.web_app(path="/slack/events", port=settings.port)
                readiness = health.Readiness(
                    database=services.database, slack=_http_check(settings), worker_running=worker.running
                )
                health.add_routes(web_app, readiness)
                runner = web.AppRunner(web_app)
                await runner.setup()
                await web.TCPSite(runner, host="0.0.0.0", port=settings.port).start()
                logger.info("HTTP mode: listening on port %d at /slack/events", settings.port)
                await stop.wait()
                await runner.cleanup()
            replayer.cancel()
            grace = settings.shutdown_grace_seconds
            logger.info("stopping: jobs in flight may finish within %.0fs; queued ones wait for the next start", grace)
            await worker.stop(grace)
            await surface.status_lines.drain(grace)
    finally:
        await services.close()


async def _replay_events(
    client: AsyncWebClient,
    settings: Settings,
    services: Services,
    names: DisplayNames,
    members: Membership,
    *,
    bot_user_id: str,
) -> None:
    """Now and then, handle the commands and messages a stopped process had acked but not
    handled (two leases old: a live replica has long since finished with them)."""
    every = min(settings.jobs.lease_seconds, 60.0)
    while True:
        try:
            before = datetime.now(UTC) - timedelta(seconds=2 * settings.jobs.lease_seconds)
            for key, payload in await services.events.take_unhandled(received_before=before, at=datetime.now(UTC)):
                logger.warning("handling %s, left unhandled by a process that stopped", key)
                command = key.startswith("command:")
                try:
                    with logs.context(request_key=key):
                        metrics.set_surface("command" if command else "message")
                        if command:
                            await commands.replay(payload, services, names)
                        else:
                            await events.replay(payload, client, services, names, members, bot_user_id=bot_user_id)
                except Exception:
                    logger.exception("%s could not be handled", key)
        except Exception:
            logger.exception("could not look for unhandled requests; trying again")
        await asyncio.sleep(every)


def _socket_mode_check(handler: AsyncSocketModeHandler) -> Callable[[], Awaitable[str | None]]:
    async def check() -> str | None:
        connected = await handler.client.is_connected()
        return None if connected else "Slack: the Socket Mode connection is down"

    return check


def _http_check(settings: Settings) -> Callable[[], Awaitable[str | None]]:
    """HTTP mode has no connection to watch: Slack calls in, and only needs the signing secret."""

    async def check() -> str | None:
        return None if settings.slack_signing_secret is not None else "Slack: SLACK_SIGNING_SECRET is not set"

    return check


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
