"""Staying within Slack's rate limits: one budget per Web API method, and per channel for
`chat.postMessage`, shared by every task of the process.

Slack limits "per API method per app per workspace", each method by its tier (Tier 3 about 50
a minute, Tier 4 about 100, windows per minute with bursts allowed), and `chat.postMessage`
about 1 per second per channel with short bursts; over a limit it answers HTTP 429 with
`Retry-After` seconds (https://docs.slack.dev/apis/web-api/rate-limits). Waiting for a turn
here costs nothing; a 429 costs a round trip and holds up the whole method, so every call
waits for its turn first, and a 429 pauses its method for everyone until `Retry-After` has
passed. Other replicas share Slack's limits, not this budget: their 429s pace them.

slack_sdk's own `AsyncRateLimitErrorRetryHandler` sleeps out one Retry-After per call
(`max_retry_count=1` by default) and knows nothing of other calls waiting for the same method;
`PacedWebClient` takes its place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
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


# A little under Slack's figures: calls reach Slack a little earlier or later than they left
# here, and a 429 pauses the whole method.
TIER_3 = Rate(per_minute=48, burst=45)
TIER_4 = Rate(per_minute=95, burst=90)
# chat.postMessage: "one message per second per channel", "short bursts >1 allowed".
PER_CHANNEL = Rate(per_minute=57, burst=3)

# The tier of each method Easel calls, from its page in Slack's method reference. Methods
# not named here are paced by Slack's 429s alone.
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


class SlackPacer:
    """The budgets of one process, and the pauses Slack asked for with Retry-After."""

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
        self._budgets: dict[str, _Budget] = {}
        self._open: dict[str, asyncio.Event] = {}  # cleared while Slack asked a method to wait
        self._paused_until: dict[str, float] = {}
        self.limited = 0  # 429s Slack answered (for logs and benchmarks)

    async def turn(self, method: str, channel: str | None = None) -> None:
        """Wait until `method` (in `channel`, for chat.postMessage) may be called."""
        if (wait := self.reserve(method, channel)) > 0:
            await asyncio.sleep(wait)
        await self._gate(method).wait()  # a 429 may have paused the method meanwhile

    def reserve(self, method: str, channel: str | None = None) -> float:
        """Take the next turn of `method` (in `channel`); returns the seconds until it comes."""
        budget = self._budget(method, channel)
        return budget.reserve() if budget is not None else 0.0

    def free(self, method: str) -> bool:
        """True when a call of `method` could go out now, nobody waiting before it."""
        budget = self._budget(method, None)
        return self._gate(method).is_set() and (budget is None or budget.wait() == 0.0)

    def _budget(self, method: str, channel: str | None) -> _Budget | None:
        key, rate = method, self._rates.get(method)
        if method == POST_MESSAGE and channel:
            key, rate = f"{method}:{channel}", self._per_channel
        if rate is None:
            return None
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = _Budget(rate, self._clock)
        return budget

    def pause(self, method: str, seconds: float) -> None:
        """Slack answered 429: no call of `method` until `seconds` have passed."""
        self.limited += 1
        until = time.monotonic() + seconds
        if until <= self._paused_until.get(method, 0.0):
            return
        self._paused_until[method] = until
        self._gate(method).clear()
        asyncio.get_running_loop().call_later(seconds, self._reopen, method)

    def _reopen(self, method: str) -> None:
        if time.monotonic() >= self._paused_until.get(method, 0.0) - 0.001:  # else a later pause reopens it
            self._gate(method).set()

    def _gate(self, method: str) -> asyncio.Event:
        gate = self._open.get(method)
        if gate is None:
            gate = self._open[method] = asyncio.Event()
            gate.set()
        return gate


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
            await self.pacer.turn(api_method, channel)
            try:
                return await super().api_call(api_method, **arguments())
            except SlackApiError as exc:
                if exc.response.status_code != 429:
                    raise
                retry_after = _retry_after(exc.response.headers)
                self.pacer.pause(api_method, retry_after)
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
