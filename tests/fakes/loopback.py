"""The part every local test server shares: an aiohttp app on 127.0.0.1 at a free port."""

from __future__ import annotations

from typing import Self

from aiohttp import web

MAX_BODY = 200 * 1024 * 1024  # image uploads and edits carry large bodies


class LoopbackServer:
    """Subclasses add their routes in `routes()`; `async with` starts and stops the server."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def closing(self) -> None:
        """Runs before the server stops (e.g. to close open WebSockets)."""

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self.closing()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._port}"
