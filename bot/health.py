"""What an orchestrator and Prometheus ask a replica: `/healthz` (the process answers),
`/readyz` (it can do its work: database, Slack connection, job worker) and `/metrics`."""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text

from bot import metrics
from bot.config import Settings
from bot.storage.database import Database
from bot.storage.queue_depth import jobs_waiting

logger = logging.getLogger(__name__)

CHECK_SECONDS = 5.0  # a check that takes longer than this counts as failed


@dataclass(frozen=True, kw_only=True)
class Readiness:
    """The parts a replica needs; each check says what is wrong, or nothing."""

    database: Database
    slack: Callable[[], Awaitable[str | None]]
    worker_running: Callable[[], bool]

    async def problems(self) -> list[str]:
        found = [await self._database(), await _within(self.slack(), "Slack: no answer")]
        if not self.worker_running():
            found.append("job worker: not running")
        return [problem for problem in found if problem is not None]

    async def _database(self) -> str | None:
        try:
            await asyncio.wait_for(self.database.run(lambda session: session.execute(text("SELECT 1"))), CHECK_SECONDS)
        except TimeoutError:
            return f"database: no answer within {CHECK_SECONDS:.0f}s"
        except Exception as exc:
            return f"database: {type(exc).__name__}"
        return None


def add_routes(app: web.Application, readiness: Readiness) -> None:
    """`/healthz`, `/readyz` and `/metrics` on `app` (HTTP mode: the Slack endpoint's own)."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_request: web.Request) -> web.Response:
        problems = await readiness.problems()
        if problems:
            return web.Response(status=503, text="not ready\n" + "".join(f"{p}\n" for p in problems))
        return web.Response(text="ready\n")

    async def scrape(_request: web.Request) -> web.Response:
        try:
            metrics.JOBS_QUEUED.set(await asyncio.wait_for(jobs_waiting(readiness.database), CHECK_SECONDS))
        except Exception:
            logger.warning("easel_jobs_queued not updated: the database did not answer", exc_info=True)
        return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", scrape)


async def serve(readiness: Readiness, *, port: int) -> web.AppRunner:
    """The three endpoints on a port of their own (Socket Mode has no HTTP server otherwise)."""
    app = web.Application()
    add_routes(app, readiness)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host="0.0.0.0", port=port).start()
    logger.info("serving /metrics, /healthz and /readyz on port %d", port)
    return runner


def ask_ready(settings: Settings) -> tuple[bool, str]:
    """Ask the bot running beside us whether it is ready (`python -m bot ready`, the
    Dockerfile's HEALTHCHECK: the slim image has no curl)."""
    socket_mode = settings.slack_app_token is not None
    port = settings.metrics_port if socket_mode else settings.port
    if port is None:
        return False, "METRICS_PORT is not set: in Socket Mode nothing serves /readyz"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=CHECK_SECONDS * 2) as answer:
            return True, answer.read().decode().strip()
    except urllib.error.HTTPError as error:
        return False, error.read().decode().strip()
    except OSError as error:
        return False, f"nothing answers on port {port} ({error})"


async def _within(check: Awaitable[str | None], late: str) -> str | None:
    try:
        return await asyncio.wait_for(check, CHECK_SECONDS)
    except TimeoutError:
        return late
