"""Status lines: the latest state of each request's message, sent by a task of its own.

`chat.update` is Tier 3 (about 50 a minute for the whole workspace), so a status line must
never hold up what it reports on: a job hands its state over and goes on. Per message only the
latest state counts: one waiting for its turn is replaced by a newer one, and an intermediate
state is sent only if it is still the latest after `linger` seconds (a render of two seconds
shows no "generating") and the budget has room (when calls queue for it, intermediate states
are dropped). A final state (done with its buttons, or failed) is sent as soon as the budget
allows, tried again after errors, and waited for on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.domain.grace import finish_within
from bot.slack.pacing import PacedWebClient

logger = logging.getLogger(__name__)

LINGER_SECONDS = 3.0  # an intermediate state is shown only if it lasts this long
FINAL_ATTEMPTS = 5  # a final state is tried this often (each waiting out rate limits)
FINAL_RETRY_SECONDS = 2.0  # then doubling


@dataclass
class _Line:
    """One message's state: what should be on screen, and what is."""

    message: dict[str, Any]
    state: str
    final: bool
    due: float  # an intermediate state is sent no earlier than this
    version: int = 1
    sent_version: int = 0
    shown_state: str | None = None
    sender: asyncio.Task[None] | None = field(default=None, repr=False)
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # wakes a sender waiting out `due`


class StatusLines:
    """Every status message of the process, each with at most one sender at a time."""

    def __init__(self, client: PacedWebClient, *, linger: float = LINGER_SECONDS) -> None:
        self._client = client
        self._linger = linger
        self._lines: dict[tuple[str, str], _Line] = {}

    def posted(self, channel: str, ts: str, state: str) -> None:
        """The message was just posted showing `state`: showing it again would change nothing."""
        self._lines[(channel, ts)] = _Line(
            message={}, state=state, final=False, due=0.0, sent_version=1, shown_state=state
        )

    def show(self, channel: str, ts: str, state: str, message: dict[str, Any], *, final: bool) -> None:
        """Make `message` (showing `state`) the latest for the message `ts`; returns at once."""
        key = (channel, ts)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line(message=message, state=state, final=final, due=0.0)
        elif line.final:
            return  # a final state stays
        elif state == line.shown_state and not final and line.sent_version == line.version:
            return  # already on screen; only the time so far would change
        else:
            line.message, line.state, line.final, line.version = message, state, final, line.version + 1
        line.due = time.monotonic() + (0.0 if final else self._linger)
        line.changed.set()
        if line.sender is None or line.sender.done():
            line.sender = asyncio.create_task(self._send(key, line), name=f"status-{ts}")

    async def drain(self, grace_seconds: float) -> None:
        """Shutting down: let the final states waiting to be sent go out (within the grace)."""
        senders = {line.sender for line in self._lines.values() if line.sender is not None and not line.sender.done()}
        await finish_within(senders, grace_seconds)

    async def _send(self, key: tuple[str, str], line: _Line) -> None:
        channel, ts = key
        failures = 0
        while line.sent_version != line.version:
            if (wait := line.due - time.monotonic()) > 0:
                line.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(line.changed.wait(), wait)
                continue  # a newer state may have come meanwhile, with its own due time (a final one: now)
            sending, state = line.version, line.state
            if not line.final and not self._client.pacer.free("chat.update"):
                # Calls are queuing for the budget: the final states need it more. A later
                # state (the final one at the latest) will show instead.
                line.sent_version = sending
                continue

            def latest() -> dict[str, Any]:
                nonlocal sending, state
                sending, state = line.version, line.state  # chosen when the turn comes: latest wins
                return {"json": {"channel": channel, "ts": ts, **line.message}}

            try:
                await self._client.call_latest("chat.update", latest)
            except (TimeoutError, SlackApiError, OSError) as exc:
                failures += 1
                problem = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
                if not line.final or failures >= FINAL_ATTEMPTS or problem == "message_not_found":
                    logger.warning("status of %s in %s not shown: %s", ts, channel, problem)
                    line.sent_version = sending
                    continue
                await asyncio.sleep(FINAL_RETRY_SECONDS * 2 ** (failures - 1))
                continue
            line.sent_version, line.shown_state = sending, state
        if line.final:
            self._lines.pop(key, None)  # nothing changes a final state: forget the message
