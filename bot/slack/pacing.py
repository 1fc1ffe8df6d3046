"""Staying within Slack's rate limits by following Slack's own signal, the 429.

Slack limits "per API method per app per workspace", each method by its tier (Tier 3 "50+ per
minute", Tier 4 "100+ per minute", windows per minute, "bursts allowed"), and
`chat.postMessage` about 1 per second per channel with short bursts; over a limit it answers
HTTP 429 with `Retry-After` seconds (https://docs.slack.dev/apis/web-api/rate-limits). The
published figures are floors and the bursts Slack allows are not published, so Easel does not
pace below them on its own: a key (a method, or `chat.postMessage` in one channel) is called
at once until Slack rate-limits it. A 429 pauses that key for every task of the process until
`Retry-After` has passed, then paces it by its published tier (one budget per key) until a
minute passes without a 429 (`QUIET_SECONDS`). A key never has more than `IN_FLIGHT` calls
out (or in line for its budget) at once, so a burst that meets an unknown limit gets at most
that many 429s before the key is paced. Other replicas share Slack's limits, not this budget:
their own 429s pace them.

slack_sdk's own `AsyncRateLimitErrorRetryHandler` sleeps out one Retry-After per call
(`max_retry_count=1` by default) and knows nothing of other calls waiting for the same method;
`PacedWebClient` takes its place.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot import metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    """`per_minute` calls a minute, of which `burst` may come at once."""

    per_minute: float
    burst: int


# A little under Slack's figures: once Slack has said no, calls reach it a little earlier or
# later than they left here, and another 429 would pause the key again.
TIER_3 = Rate(per_minute=48, burst=45)
TIER_4 = Rate(per_minute=95, burst=90)
# chat.postMessage: "one message per second per channel", "short bursts >1 allowed".
PER_CHANNEL = Rate(per_minute=57, burst=3)

# The tier of each method Easel calls, from its page in Slack's method reference. Methods
# not named here are paused by Slack's 429s but have no budget of their own.
METHOD_RATES: dict[str, Rate] = {
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.getPermalink": TIER_4,
    "chat.postEphemeral": TIER_4,
    "conversations.info": TIER_3,
    "conversations.replies": TIER_3,
    "files.delete": TIER_3,
    "files.info": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
}
POST_MESSAGE = "chat.postMessage"

# Slack counts its limits in windows of a minute: a key that went a minute without a 429 is
# in a window Slack has not refused, and may burst again. Shorter, and a burst could meet the
# same window's limit again; much longer, and one 429 would slow a key long after Slack's
# window has passed.
QUIET_SECONDS = 60.0
# Calls of one key out at once. Against a local Slack that answers in milliseconds this is
# still hundreds a second; against a limit it is the most 429s one burst can cost.
IN_FLIGHT = 8


class _Budget:
    """A token bucket kept as the time its next call is due (GCRA): each caller reserves its
    own moment at once, so a thousand waiting tasks sleep once each instead of polling."""

    def __init__(self, rate: Rate, clock: Callable[[], float]) -> None:
        self._interval = 60.0 / rate.per_minute
        self._tolerance = (rate.burst - 1) * self._interval
        self._clock = clock
        self._due = 0.0  # the theoretical time of the next call, were calls evenly spaced

    def reserve(self) -> float:
        """Take the next turn; returns the seconds to wait for it."""
        wait = self.wait()
        self._due = max(self._due, self._clock()) + self._interval
        return wait

    def wait(self) -> float:
        """The seconds the next turn would wait, were it taken now."""
        now = self._clock()
        wait = max(self._due, now) - self._tolerance - now
        return wait if wait > 1e-6 else 0.0  # within a burst (give or take float rounding)

    def empty_until(self, moment: float) -> None:
        """Slack said no: the first turn comes at `moment`, the next ones one interval apart
        (turns reserved before are taken again by their callers)."""
        self._due = moment + self._tolerance


class _Key:
    """What one rate-limited key (a method, or chat.postMessage in a channel) has been told."""

    def __init__(self, rate: Rate | None, clock: Callable[[], float]) -> None:
        self.budget = _Budget(rate, clock) if rate is not None else None
        self.clock = clock
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.paused_until = -math.inf
        self.paced_until = -math.inf  # the budget applies until then
        self.pauses = 0  # a turn reserved before the latest pause is void

    def reserve(self) -> float:
        """Take the next turn; returns the seconds until it comes."""
        now = self.clock()
        pause = max(self.paused_until - now, 0.0)
        if self.budget is not None and now < self.paced_until:
            return max(pause, self.budget.reserve())
        return pause

    def free(self) -> bool:
        """True when a call could go out now, nobody waiting before it."""
        now = self.clock()
        if self.slots.locked() or now < self.paused_until:
            return False
        return self.budget is None or now >= self.paced_until or self.budget.wait() == 0.0

    def rate_limited(self, retry_after: float) -> None:
        resume = self.clock() + retry_after
        self.paced_until = resume + QUIET_SECONDS
        if resume <= self.paused_until:
            return  # a call that left before the pause came back with the same answer
        self.pauses += 1
        self.paused_until = resume
        if self.budget is not None:
            self.budget.empty_until(resume)


class SlackPacer:
    """The keys of one process: each called at once until Slack rate-limits it, then paused
    for Retry-After and paced by its budget until a quiet minute has passed."""

    def __init__(
        self,
        rates: dict[str, Rate] | None = None,
        *,
        per_channel: Rate = PER_CHANNEL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rates = METHOD_RATES if rates is None else rates
        self._per_channel = per_channel
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self.limited = 0  # 429s Slack answered (for logs and benchmarks)

    @asynccontextmanager
    async def turn(self, method: str, channel: str | None = None) -> AsyncIterator[None]:
        """Hold one of the key's `IN_FLIGHT` places from the key's turn until Slack answers."""
        key = self._key(method, channel)
        async with key.slots:
            while True:
                pauses = key.pauses
                if (wait := key.reserve()) > 0:
                    await asyncio.sleep(wait)
                if key.pauses == pauses:
                    break  # else a 429 came meanwhile: the turn is void, take another
            yield

    def reserve(self, method: str, channel: str | None = None) -> float:
        """Take the next turn of `method` (in `channel`); returns the seconds until it comes."""
        return self._key(method, channel).reserve()

    def free(self, method: str) -> bool:
        """True when a call of `method` could go out now, nobody waiting before it."""
        return self._key(method, None).free()

    def rate_limited(self, method: str, channel: str | None, retry_after: float) -> None:
        """Slack answered 429: no call of the key until `retry_after` seconds have passed, then
        its budget until a quiet minute has."""
        self.limited += 1
        self._key(method, channel).rate_limited(retry_after)

    def _key(self, method: str, channel: str | None) -> _Key:
        name, rate = method, self._rates.get(method)
        if method == POST_MESSAGE and channel:
            name, rate = f"{method}:{channel}", self._per_channel
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = _Key(rate, self._clock)
        return key


class PacedWebClient(AsyncWebClient):
    """An `AsyncWebClient` whose every call waits for its turn in the shared `SlackPacer` and,
    answered 429, waits out Retry-After and tries again for up to `rate_limit_wait` seconds."""

    def __init__(self, *, pacer: SlackPacer, rate_limit_wait: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer
        self._rate_limit_wait = rate_limit_wait

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        return await self.call_latest(api_method, lambda: kwargs)

    async def call_latest(self, api_method: str, arguments: Callable[[], dict[str, Any]]) -> AsyncSlackResponse:
        """Call `api_method` with what `arguments()` returns when its turn comes (again after
        each 429): a caller whose arguments change while it waits sends only the latest."""
        channel = _channel_of(arguments())
        deadline = time.monotonic() + self._rate_limit_wait
        while True:
            async with self.pacer.turn(api_method, channel):
                try:
                    return await super().api_call(api_method, **arguments())
                except SlackApiError as exc:
                    if exc.response.status_code != 429:
                        raise
                    retry_after = _retry_after(exc.response.headers)
                    self.pacer.rate_limited(api_method, channel, retry_after)
                    metrics.slack_rate_limited(api_method)
                    if time.monotonic() + retry_after > deadline:
                        raise
            metrics.retried("slack")
            logger.info("Slack rate-limited %s: trying again in %.0fs", api_method, retry_after)


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    """The `channel` of a call, wherever slack_sdk put it (JSON body, form or query)."""
    for part in ("json", "data", "params"):
        values = kwargs.get(part)
        if isinstance(values, dict) and isinstance(values.get("channel"), str):
            return str(values["channel"])
    return None


def _retry_after(headers: Any) -> float:
    """Slack's Retry-After in seconds (1 when missing or unreadable, as slack_sdk assumes)."""
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0)
    except (TypeError, ValueError, AttributeError):
        return 1.0
