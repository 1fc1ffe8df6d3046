"""A web server that is not Slack: it answers any GET with a small PNG and keeps the headers
of every request, so a test can tell whether the bot token ever reached it."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.large_png import solid_png
from tests.fakes.loopback import LoopbackServer


class ForeignHost(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, str]] = []  # the headers of each request, in order

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{tail:.*}", self._serve)

    async def _serve(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.headers))
        return web.Response(body=solid_png(64, 64, mode="RGB"), content_type="image/png")
