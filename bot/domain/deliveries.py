"""Requests as Slack delivered them, kept from their ack until handled.

Slack expects an ack within three seconds and does not deliver an acked request again, so
each is written down before its work starts: a redelivery is recognised, and a request a
stopped process acked but never finished is replayed at the next start.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.storage.event_log import EventLog


class Deliveries:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    async def first(self, key: str | None, *, payload: str) -> bool:
        """True the first time `key` is delivered (and for a request without one); the
        payload waits until `handled`."""
        return await self._log.first_delivery(key, payload=payload)

    async def handled(self, key: str | None) -> None:
        await self._log.handled(key, at=datetime.now(UTC))

    async def payload(self, key: str) -> str | None:
        """The request as delivered, while it is kept."""
        return await self._log.payload(key)
