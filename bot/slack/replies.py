"""The one place that turns errors into words for people."""

from __future__ import annotations

from datetime import datetime

from bot.domain.limits import BotPaused, ChannelNotAllowed, LimitReached, UserPaused
from bot.domain.people import Requester
from bot.domain.requests import USAGE
from bot.errors import (
    BotError,
    InputRejected,
    JobInterrupted,
    ModelBlocked,
    ModelRetired,
    NotAnnounced,
    NotDelivered,
    NotInChannel,
    OutputNotAvailable,
    ProviderAuthFailed,
    ProviderIncomplete,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from bot.slack.mrkdwn import excerpt, shorten, slack_date

PROBLEM_CHARS = 2500  # with the usage line, within one 3000-character section
FRAGMENT_CHARS = 200  # a quoted option or file name can be as long as a prompt


def for_error(error: BotError) -> str:
    """Plain words for a `BotError`; never the exception's own text."""
    match error:
        case InputRejected():
            return f":warning: I can't use that: {_quoting(error)}.\nUsage: `{USAGE}`"
        case NotInChannel():
            return invite_me()
        case JobInterrupted():
            return (
                ":arrows_counterclockwise: Easel restarted while your image was being made. "
                "It was not sent again by itself, since that could be billed twice; nothing was charged. "
                "Please ask again."
            )
        case NotAnnounced():
            return (
                f":cloud: Slack would not take your request for {error.minutes:.0f} minutes, so nothing was made "
                "and nothing was charged. Please ask again in a few minutes."
            )
        case NotDelivered(posted=0):
            return (
                f":cloud: Slack would not take the image after {error.attempts} attempts, so it could not be "
                "posted; nothing was charged. Please ask again in a few minutes."
            )
        case NotDelivered():
            return (
                f":cloud: Slack would not take the rest after {error.attempts} attempts: {error.posted} of "
                f"{error.of} images were posted, and only those are charged."
            )
        case ModelBlocked():
            return (
                ":no_entry: The request was blocked by the model's safety system; nothing was charged. "
                "Try rephrasing the prompt."
            )
        case OutputNotAvailable():
            return (
                f":no_entry: This workspace's image account has no access to {error.output_format.upper()} output "
                f"from `{error.model}` (a preview the provider opens per account); nothing was made and nothing "
                "was charged. Ask again without "
                f"`--{error.output_format}`, or ask an admin to request access."
            )
        case ModelRetired():
            return (
                f":construction: The image model `{error.model}` is retired or not available. "
                f"An admin needs to set `{error.setting}` to a current model; nothing was charged."
            )
        case ProviderRateLimited(quota_exhausted=True):
            return (
                ":money_with_wings: The image service says this workspace's quota is used up. "
                "An admin needs to check the OpenAI or Azure billing; nothing was charged."
            )
        case ProviderRateLimited():
            wait = f" in about {_duration(error.retry_after)}" if error.retry_after else " in a minute"
            return f":hourglass: The image service is busy (rate limited). Please try again{wait}."
        case ProviderTimeout():
            return (
                f":hourglass: The image service did not answer within {_duration(error.seconds)}. "
                "It was not retried automatically, since a slow request may still be billed; try again."
            )
        case ProviderIncomplete():
            return (
                ":scissors: The image service stopped before the image was finished. It was not retried "
                "automatically, since the request may still be billed; nothing was charged. Try again."
            )
        case ProviderUnavailable():
            return ":cloud: The image service is unavailable right now. Please try again in a few minutes."
        case ProviderAuthFailed():
            return (
                ":lock: The image service refused Easel's credentials. "
                "An admin needs to check the API key or Azure access."
            )
        case LimitReached(limit="jobs in flight"):
            return (
                f":hourglass: You have {error.used} jobs running and the limit is {error.allowed} at once. "
                "Try again when one finishes; nothing was generated or charged."
            )
        case LimitReached():
            when = f" It resets {slack_date(error.resets_at)}." if error.resets_at else ""
            return (
                f":octagonal_sign: That would go over your limit for {error.limit}: "
                f"{error.used} used of {error.allowed}.{when} Nothing was generated or charged."
            )
        case ChannelNotAllowed():
            return ":no_entry_sign: Easel is not enabled in this channel. An admin can add it to `ALLOWED_CHANNELS`."
        case BotPaused():
            return ":double_vertical_bar: An admin has paused Easel, so it is not making images right now."
        case UserPaused():
            return (
                f":double_vertical_bar: You are paused until {slack_date(error.resets_at)}: {error.strikes} of "
                "your requests today were blocked by the model's safety system."
            )
        case ProviderRejected():
            detail = f" (the `{error.param}` setting)" if error.param else ""
            return f":warning: The image service refused the request{detail}. Try other options."
    return ":warning: That did not work."


def unexpected(reference: str) -> str:
    return (
        f":boom: Something went wrong on my side. If it keeps happening, give an admin this reference: `{reference}`."
    )


def not_yours(owner: str) -> str:
    return f":no_entry_sign: Only <@{owner}>, who asked for these images, or an admin can delete them."


def another_workspace() -> str:
    return (
        ":wave: Easel makes images for members of the workspace that installed it, and you are visiting "
        "from another one. Ask a colleague here, or install Easel in your own workspace."
    )


def thread_gone() -> str:
    return ":wastebasket: The message this thread started from was deleted, so the result is posted here."


def strikes_alert(requester: Requester, *, strikes: int, channel: str) -> str:
    return (
        f":rotating_light: <@{requester.user_id}> is paused for the rest of the day: {strikes} requests in a row "
        f"were blocked by the model's safety system (the last in <#{channel}>). "
        f"`/imagine admin exempt <@{requester.user_id}>` lifts their limits."
    )


def images_deleted(user_id: str, *, at: datetime) -> str:
    return f":wastebasket: images deleted by <@{user_id}> {slack_date(at)}"


def invite_me() -> str:
    return (
        ":wave: I'm not a member of this conversation, so I can't post the image here. "
        "Invite me with `/invite @Easel` and try again. Nothing was generated."
    )


def _quoting(error: InputRejected) -> str:
    """The problem, which quotes what the person wrote (an option, a file name): that part
    shortened, and all of it escaped, so a typed `<!channel>` shows as text and pings nobody."""
    problem = error.problem
    if error.fragment and len(error.fragment) > FRAGMENT_CHARS:
        problem = problem.replace(error.fragment, shorten(error.fragment, FRAGMENT_CHARS))
    return excerpt(problem, PROBLEM_CHARS)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} seconds"
    return f"{round(seconds / 60)} minutes"
