"""Every sentence Easel says to people, in one place.

Errors carry fields (`bot.errors`); `for_error` gives each error class its own words, and a
test walks every `BotError` class, so a new error cannot reach a person without them. The
answers that are not errors (account commands, a click's refusal, the Edit dialog's field
errors) are worded here too; views (`request_message`, `help_messages`, …) hold only labels.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from bot.domain.model import ImagesLeft
from bot.domain.people import Requester
from bot.domain.requests import USAGE
from bot.errors import (
    BotError,
    BotPaused,
    ChannelNotAllowed,
    InputRejected,
    JobInterrupted,
    LimitReached,
    ModelBlocked,
    ModelRetired,
    NotAnnounced,
    NotDelivered,
    NothingToEdit,
    NotInChannel,
    OutputNotAvailable,
    ProviderAuthFailed,
    ProviderError,
    ProviderIncomplete,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    UserPaused,
    VisitorDeclined,
)
from bot.slack.mrkdwn import excerpt, shorten, slack_date

PROBLEM_CHARS = 2500  # with the usage line, within one 3000-character section
FRAGMENT_CHARS = 200  # a quoted option or file name can be as long as a prompt

E = TypeVar("E", bound=BotError)
ERROR_WORDS: dict[type[BotError], Callable[[Any], str]] = {}


def for_error(error: BotError) -> str:
    """Plain words for a `BotError`, by its exact class; never the exception's own text. A
    class without words raises here, and so reaches the global handler as the bug it is."""
    return ERROR_WORDS[type(error)](error)


def _words(kind: type[E]) -> Callable[[Callable[[E], str]], Callable[[E], str]]:
    def register(words: Callable[[E], str]) -> Callable[[E], str]:
        ERROR_WORDS[kind] = words
        return words

    return register


@_words(InputRejected)
def _input_rejected(error: InputRejected) -> str:
    return f":warning: I can't use that: {_quoting(error)}.\nUsage: `{USAGE}`"


@_words(NothingToEdit)
def _nothing_to_edit(error: NothingToEdit) -> str:
    if error.version is not None:
        return f":warning: I can't use that: there is no image #{error.version} in this thread.\nUsage: `{USAGE}`"
    return f":warning: I can't use that: there is no image in this thread to edit yet.\nUsage: `{USAGE}`"


@_words(VisitorDeclined)
def _visitor(_: VisitorDeclined) -> str:
    return f":wave: {VISITOR}. Ask a colleague here, or install Easel in your own workspace."


@_words(NotInChannel)
def _not_in_channel(_: NotInChannel) -> str:
    return (
        ":wave: I'm not a member of this conversation, so I can't post the image here. "
        "Invite me with `/invite @Easel` and try again. Nothing was generated."
    )


@_words(JobInterrupted)
def _interrupted(_: JobInterrupted) -> str:
    return (
        ":arrows_counterclockwise: Easel restarted while your image was being made. "
        "It was not sent again by itself, since that could be billed twice; nothing was charged. "
        "Please ask again."
    )


@_words(NotAnnounced)
def _not_announced(error: NotAnnounced) -> str:
    return (
        f":cloud: Slack would not take your request for {error.minutes:.0f} minutes, so nothing was made "
        "and nothing was charged. Please ask again in a few minutes."
    )


@_words(NotDelivered)
def _not_delivered(error: NotDelivered) -> str:
    if error.posted == 0:
        return (
            f":cloud: Slack would not take the image after {error.attempts} attempts, so it could not be "
            "posted; nothing was charged. Please ask again in a few minutes."
        )
    return (
        f":cloud: Slack would not take the rest after {error.attempts} attempts: {error.posted} of "
        f"{error.of} images were posted, and only those are charged."
    )


@_words(ProviderError)
def _provider_error(_: ProviderError) -> str:
    return ":warning: The image service did not make the image; nothing was charged. Please try again."


@_words(ModelBlocked)
def _blocked(_: ModelBlocked) -> str:
    return (
        ":no_entry: The request was blocked by the model's safety system; nothing was charged. "
        "Try rephrasing the prompt."
    )


@_words(OutputNotAvailable)
def _output_not_available(error: OutputNotAvailable) -> str:
    return (
        f":no_entry: This workspace's image account has no access to {error.output_format.upper()} output "
        f"from `{error.model}` (a preview the provider opens per account); nothing was made and nothing "
        "was charged. Ask again without "
        f"`--{error.output_format}`, or ask an admin to request access."
    )


@_words(ModelRetired)
def _retired(error: ModelRetired) -> str:
    return (
        f":construction: The image model `{error.model}` is retired or not available. "
        f"An admin needs to set `{error.setting}` to a current model; nothing was charged."
    )


@_words(ProviderRateLimited)
def _rate_limited(error: ProviderRateLimited) -> str:
    if error.quota_exhausted:
        return (
            ":money_with_wings: The image service says this workspace's quota is used up. "
            "An admin needs to check the OpenAI or Azure billing; nothing was charged."
        )
    wait = f" in about {_duration(error.retry_after)}" if error.retry_after else " in a minute"
    return f":hourglass: The image service is busy (rate limited). Please try again{wait}."


@_words(ProviderTimeout)
def _timeout(error: ProviderTimeout) -> str:
    return (
        f":hourglass: The image service did not answer within {_duration(error.seconds)}. "
        "It was not retried automatically, since a slow request may still be billed; try again."
    )


@_words(ProviderIncomplete)
def _incomplete(_: ProviderIncomplete) -> str:
    return (
        ":scissors: The image service stopped before the image was finished. It was not retried "
        "automatically, since the request may still be billed; nothing was charged. Try again."
    )


@_words(ProviderUnavailable)
def _unavailable(_: ProviderUnavailable) -> str:
    return ":cloud: The image service is unavailable right now. Please try again in a few minutes."


@_words(ProviderAuthFailed)
def _auth_failed(_: ProviderAuthFailed) -> str:
    return ":lock: The image service refused Easel's credentials. An admin needs to check the API key or Azure access."


@_words(ProviderRejected)
def _provider_rejected(error: ProviderRejected) -> str:
    detail = f" (the `{error.param}` setting)" if error.param else ""
    return f":warning: The image service refused the request{detail}. Try other options."


@_words(LimitReached)
def _limit_reached(error: LimitReached) -> str:
    if error.limit == "jobs in flight":
        return (
            f":hourglass: You have {error.used} jobs running and the limit is {error.allowed} at once. "
            "Try again when one finishes; nothing was generated or charged."
        )
    when = f" It resets {slack_date(error.resets_at)}." if error.resets_at else ""
    return (
        f":octagonal_sign: That would go over your limit for {error.limit}: "
        f"{error.used} used of {error.allowed}.{when} Nothing was generated or charged."
    )


@_words(ChannelNotAllowed)
def _channel_not_allowed(_: ChannelNotAllowed) -> str:
    return ":no_entry_sign: Easel is not enabled in this channel. An admin can add it to `ALLOWED_CHANNELS`."


@_words(BotPaused)
def _bot_paused(_: BotPaused) -> str:
    return ":double_vertical_bar: An admin has paused Easel, so it is not making images right now."


@_words(UserPaused)
def _user_paused(error: UserPaused) -> str:
    return (
        f":double_vertical_bar: You are paused until {slack_date(error.resets_at)}: {error.strikes} of "
        "your requests today were blocked by the model's safety system."
    )


def unexpected(reference: str) -> str:
    return (
        f":boom: Something went wrong on my side. If it keeps happening, give an admin this reference: `{reference}`."
    )


VISITOR = "Easel makes images for members of the workspace that installed it, and you are visiting from another one"


def in_dialog(error: InputRejected | VisitorDeclined) -> str:
    """An error shown under a field of the Edit dialog: plain text, without the usage line."""
    return error.problem if isinstance(error, InputRejected) else f"{VISITOR}."


NO_RECORD = ":mag: No record of that."  # also for what exists but is not the person's to see
NO_IMAGE_RECORD = ":mag: I have no record of that image in this conversation; ask here where it was posted."
ADMINS_ONLY = ":lock: Only Easel's admins can do that. `/imagine usage` shows your own usage."
PAUSED = ":double_vertical_bar: Easel is paused: no new jobs until `/imagine admin resume`."
RESUMED = ":arrow_forward: Easel is running again."
THREAD_START_DELETED = ":wastebasket: The message this thread started from was deleted, so the result is posted here."
# What a request cannot be, as `InputRejected` quotes it ("I can't use that: …").
EDIT_OPTIONS_IN_A_COMMAND = "`--region` and `#N` are for edits: reply in an image's thread with them"
SAY_WHAT_CHANGES = "say what should change"
BUTTON_OF_NO_REQUEST = "that button belongs to no request"


def not_an_image(names: list[str]) -> str:
    listed = ", ".join(f"`{name}`" for name in names)
    return f"{listed} is not an image I can edit (PNG, JPEG, WebP, HEIC, GIF, BMP or TIFF)"


# The Edit dialog's field errors (plain text, shown under the field).
NOT_IN_CONVERSATION = "That thread is in a conversation you are not in."
PICK_AN_IMAGE = "Pick at least one image."
IMAGE_GONE = "One of these images is no longer in the thread."


def images_left(allowance: ImagesLeft) -> str:
    return f"{allowance.left} of {allowance.allowed} images left today"


def exempt(user_id: str) -> str:
    return f":white_check_mark: <@{user_id}> is now exempt from the per-user limits."


def not_yours(owner: str) -> str:
    return f":no_entry_sign: Only <@{owner}>, who asked for these images, or an admin can delete them."


def not_shown(what: str) -> str:
    """When Slack refuses to show an answer: `what` names it."""
    return f":warning: Slack would not show {what}; an admin can find it in the logs."


def strikes_alert(requester: Requester, *, strikes: int, channel: str) -> str:
    return (
        f":rotating_light: <@{requester.user_id}> is paused for the rest of the day: {strikes} requests in a row "
        f"were blocked by the model's safety system (the last in <#{channel}>). "
        f"`/imagine admin exempt <@{requester.user_id}>` lifts their limits."
    )


def images_deleted(user_id: str, *, at: datetime) -> str:
    return f":wastebasket: images deleted by <@{user_id}> {slack_date(at)}"


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
