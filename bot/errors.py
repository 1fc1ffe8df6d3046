"""The errors Easel can explain to a person.

Every `BotError` carries fields, never pre-written sentences: `bot.slack.replies` is the one
place that turns them into words. Anything that is not a `BotError` is a bug and reaches the
global error handler, which logs the traceback and gives the user a reference id.
"""

from __future__ import annotations

from datetime import datetime


class ConfigError(Exception):
    """The environment does not describe a runnable bot; the message names the variable."""


class BotError(Exception):
    """Base of every failure a user can be told about in plain words."""


class InputRejected(BotError):
    """The request text or options cannot be used; nothing was generated."""

    def __init__(self, problem: str, *, fragment: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fragment = fragment


class VisitorDeclined(BotError):
    """Someone of another organisation (Slack Connect) asked: their requests would spend this
    workspace's allowance."""


class NothingToEdit(BotError):
    """An edit names no image there is: the thread has none yet, or none numbered `version`."""

    def __init__(self, *, version: int | None = None) -> None:
        super().__init__(version)
        self.version = version


class LimitReached(BotError):
    """A limit would be crossed; nothing was generated or charged."""

    def __init__(self, *, limit: str, used: str, allowed: str, resets_at: datetime | None) -> None:
        super().__init__(limit)
        self.limit = limit
        self.used = used
        self.allowed = allowed
        self.resets_at = resets_at


class ChannelNotAllowed(BotError):
    """Easel is limited to some channels (`ALLOWED_CHANNELS`) and this is not one."""

    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)
        self.channel_id = channel_id


class BotPaused(BotError):
    """An admin stopped new jobs (the kill switch)."""


class UserPaused(BotError):
    """Too many requests blocked by the safety system today."""

    def __init__(self, *, strikes: int, resets_at: datetime) -> None:
        super().__init__(strikes)
        self.strikes = strikes
        self.resets_at = resets_at


class JobInterrupted(BotError):
    """Easel stopped before the job finished; what was reserved for it was given back."""


class NotDelivered(BotError):
    """Slack would not take the images after every attempt; only posted images are charged."""

    def __init__(self, attempts: int, *, posted: int = 0, of: int = 1) -> None:
        super().__init__(attempts, posted, of)
        self.attempts = attempts
        self.posted = posted
        self.of = of


class NotAnnounced(BotError):
    """Slack would not take the request's message for as long as Easel tries; nothing was made."""

    def __init__(self, minutes: float) -> None:
        super().__init__(minutes)
        self.minutes = minutes


class NotInChannel(BotError):
    """Easel cannot post in the conversation the request came from."""

    def __init__(self, channel_id: str) -> None:
        super().__init__(channel_id)
        self.channel_id = channel_id


class ProviderError(BotError):
    """The image model did not produce an image."""


class ModelBlocked(ProviderError):
    """The model's safety system refused the request; the provider charges nothing for it."""


class ModelRetired(ProviderError):
    """The configured model or deployment does not exist (any more) at the provider."""

    def __init__(self, model: str, *, setting: str = "IMAGE_MODEL") -> None:
        super().__init__(model)
        self.model = model
        self.setting = setting


class ProviderRateLimited(ProviderError):
    """The provider kept answering 429 after our own retries."""

    def __init__(self, *, retry_after: float | None, quota_exhausted: bool = False) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after
        self.quota_exhausted = quota_exhausted


class ProviderTimeout(ProviderError):
    """No answer within the request timeout; not retried, since the call may still be billed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or failed on its side (5xx) after retries."""

    def __init__(self, *, status: int | None = None) -> None:
        super().__init__(status)
        self.status = status


class ProviderIncomplete(ProviderError):
    """The image stream ended before its completed event: the request reached the service,
    so it is not sent again by itself."""


class OutputNotAvailable(ProviderError):
    """The account or model has no access to an output format (GIF and SVG are previews that
    OpenAI opens per account); nothing was made, so nothing is charged."""

    def __init__(self, output_format: str, *, model: str) -> None:
        super().__init__(output_format, model)
        self.output_format = output_format
        self.model = model


class ProviderAuthFailed(ProviderError):
    """The API key, token or deployment permissions were refused."""


class ProviderRejected(ProviderError):
    """The provider refused the parameters (a 400 other than a safety block)."""

    def __init__(self, *, param: str | None, code: str | None) -> None:
        super().__init__(param, code)
        self.param = param
        self.code = code
