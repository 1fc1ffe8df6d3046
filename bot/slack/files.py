"""Downloading files people shared, without ever handing the bot token to a stranger.

A file's download URL is taken from `files.info`, never from anything a user typed. The token
goes only to the origins of Slack's API and Slack's file hosts (scheme, host and port: the API
host on another port is somewhere else); redirects are followed by hand so the same rule holds
for every hop. A file is used only where it was shared.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.domain.sources import DownloadedFile
from bot.errors import InputRejected

logger = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 60 * 1024 * 1024
NOT_READY_DELAYS = (0.5, 1.0, 2.0)  # a file can 404 for a moment right after upload
MAX_REDIRECTS = 3
Origin = tuple[str, str, int]  # scheme, host, port
_DEFAULT_PORTS = {"https": 443, "http": 80}


class SlackFiles:
    """`FileSource` for one conversation."""

    def __init__(
        self,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        *,
        token: str,
        channel: str,
        trusted: frozenset[Origin],
    ) -> None:
        self._client = client
        self._session = session
        self._token = token
        self._channel = channel
        self._trusted = trusted

    @classmethod
    def for_conversation(cls, client: AsyncWebClient, settings: Settings, *, channel: str) -> SlackFiles:
        """Downloads share the Web API client's connection pool and token."""
        if client.session is None or client.token is None:
            raise ValueError("the Slack client needs a shared session and a token")
        trusted = trusted_origins(settings.slack_api_url, settings.slack_file_hosts)
        return cls(client, client.session, token=client.token, channel=channel, trusted=trusted)

    async def fetch(self, file_id: str, *, attached: bool) -> DownloadedFile:
        info = await self._info(file_id)
        name = str(info.get("name") or file_id)
        if attached and not _shared_in(info, self._channel):
            logger.warning("file %s refused: not shared in %s", file_id, self._channel)
            raise InputRejected(f"`{name}` was shared in another conversation; attach it here to use it", fragment=name)
        url = info.get("url_private_download") or info.get("url_private")
        if not isinstance(url, str):
            raise InputRejected(f"`{name}` cannot be downloaded", fragment=name)
        return DownloadedFile(name=name, data=await self._download(url, name))

    async def _info(self, file_id: str) -> dict[str, Any]:
        for delay in (*NOT_READY_DELAYS, None):
            try:
                response = await self._client.files_info(file=file_id)
                file: dict[str, Any] = response["file"]
                return file
            except SlackApiError as exc:
                if exc.response.get("error") != "file_not_found" or delay is None:
                    raise InputRejected("a file in this thread is no longer available") from exc
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _download(self, url: str, name: str) -> bytes:
        for delay in (*NOT_READY_DELAYS, None):
            status, data = await self._get(url, name)
            if status == 200:
                return data
            if status != 404 or delay is None:
                raise InputRejected(f"`{name}` could not be downloaded from Slack (HTTP {status})", fragment=name)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _get(self, url: str, name: str) -> tuple[int, bytes]:
        for _ in range(MAX_REDIRECTS + 1):
            origin = origin_of(url)
            if origin is None or origin not in self._trusted:
                logger.warning("file %r: refused to send the bot token to %s", name, urlsplit(url).netloc)
                raise InputRejected(f"`{name}` is hosted outside Slack, so I won't fetch it", fragment=name)
            headers = {"Authorization": f"Bearer {self._token}"}
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status != 200:
                    return response.status, b""
                if response.content_type == "text/html":
                    # Slack's sign-in page: the token was not accepted for this file.
                    raise InputRejected(f"Slack would not let me download `{name}`", fragment=name)
                if (response.content_length or 0) > MAX_DOWNLOAD_BYTES:
                    raise InputRejected(f"`{name}` is larger than {MAX_DOWNLOAD_BYTES // 2**20} MB", fragment=name)
                data = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    data += chunk
                    if len(data) > MAX_DOWNLOAD_BYTES:
                        raise InputRejected(f"`{name}` is larger than {MAX_DOWNLOAD_BYTES // 2**20} MB", fragment=name)
                return 200, bytes(data)
        raise InputRejected(f"`{name}` could not be downloaded (too many redirects)", fragment=name)


def _shared_in(info: dict[str, Any], channel: str) -> bool:
    shares = info.get("shares") or {}
    for scope in ("public", "private"):
        if channel in (shares.get(scope) or {}):
            return True
    return channel in (info.get("channels") or []) + (info.get("groups") or []) + (info.get("ims") or [])


def origin_of(url: str) -> Origin | None:
    """Scheme, host and port, the port spelled out; None for anything but http(s)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def trusted_origins(api_url: str, file_hosts: tuple[str, ...]) -> frozenset[Origin]:
    """SLACK_API_URL's origin and Slack's file hosts over HTTPS: the only places the token may go."""
    api = origin_of(api_url)
    return frozenset({*([api] if api else []), *(("https", host.lower(), 443) for host in file_hosts)})
