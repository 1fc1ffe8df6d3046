"""`/imagine usage`, `/imagine provenance <link>` and `/imagine admin …`: what the words mean,
without Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.numbers import whole_number
from bot.domain.pricing import MICROS_PER_USD
from bot.errors import InputRejected

ADMIN_VERBS = ("usage", "limit", "exempt", "pause", "resume")
# Slack escapes a mention in slash-command text as <@U123|name> (should_escape: true).
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{6,})$")
_FILE_ID = re.compile(r"\bF[A-Z0-9]{8,}\b")
_SETTING = re.compile(r"^(images|usd)=([0-9]+)(?:\.([0-9]{1,2}))?(?:/(day|month))?$")
# Bounds on what an admin can type: far above any real allowance, far below what the
# database columns (signed 64-bit) and the spend arithmetic can hold.
MAX_IMAGES_PER_DAY = 1_000_000
MAX_USD_PER_MONTH = 1_000_000


@dataclass(frozen=True)
class ShowMyUsage:
    pass


@dataclass(frozen=True)
class ShowProvenance:
    file_id: str  # from a Slack file link; looked up only in the conversation it is asked in


@dataclass(frozen=True)
class ShowUsage:
    user_id: str | None  # None: the whole workspace


@dataclass(frozen=True)
class SetLimits:
    user_id: str
    images_per_day: int | None
    usd_micros_per_month: int | None


@dataclass(frozen=True)
class Exempt:
    user_id: str


@dataclass(frozen=True)
class Pause:
    paused: bool


AdminCommand = ShowUsage | SetLimits | Exempt | Pause


def parse_account_command(text: str) -> ShowMyUsage | ShowProvenance | AdminCommand | None:
    """`usage`, `provenance <link>` or an `admin …` command; None when the text is a prompt."""
    words = text.split()
    if [word.lower() for word in words] == ["usage"]:
        return ShowMyUsage()
    if len(words) == 2 and words[0].lower() == "provenance":
        match = _FILE_ID.search(words[1])
        if match is None:
            raise InputRejected("`provenance` needs a link to an image Easel posted (its ⋯ menu: Copy link)")
        return ShowProvenance(match.group(0))
    if len(words) < 2 or words[0].lower() != "admin" or words[1].lower() not in ADMIN_VERBS:
        return None
    verb, rest = words[1].lower(), words[2:]
    if verb in ("pause", "resume"):
        if rest:
            raise InputRejected(f"`admin {verb}` takes nothing more", fragment=" ".join(rest))
        return Pause(paused=verb == "pause")
    if verb == "usage":
        if len(rest) > 1:
            raise InputRejected("`admin usage` takes at most one user", fragment=" ".join(rest))
        return ShowUsage(_user(rest[0]) if rest else None)
    if not rest:
        raise InputRejected(f"`admin {verb}` needs a user: mention them with @")
    user = _user(rest[0])
    if verb == "exempt":
        if len(rest) > 1:
            raise InputRejected("`admin exempt` takes one user", fragment=" ".join(rest[1:]))
        return Exempt(user)
    return _limits(user, rest[1:])


def _user(word: str) -> str:
    match = _USER.match(word)
    if match is None:
        raise InputRejected(f"`{word}` is not a user: mention them with @ so Slack links the name", fragment=word)
    return match.group(1) or match.group(2)


def _limits(user: str, settings: list[str]) -> SetLimits:
    if not settings:
        raise InputRejected("say which limits, e.g. `images=100/day usd=20/month`")
    images: int | None = None
    micros: int | None = None
    for setting in settings:
        match = _SETTING.match(setting.lower())
        if match is None:
            raise InputRejected(f"`{setting}` is not a limit; use `images=N/day` or `usd=N/month`", fragment=setting)
        name, whole, cents, period = match.groups()
        if name == "images":
            if period not in (None, "day") or cents is not None:
                raise InputRejected(f"`{setting}`: images are counted per day, in whole numbers", fragment=setting)
            images = _bounded(whole, MAX_IMAGES_PER_DAY, setting, f"at most {MAX_IMAGES_PER_DAY:,} images a day")
        else:
            if period not in (None, "month"):
                raise InputRejected(f"`{setting}`: spend is counted per month", fragment=setting)
            dollars = _bounded(whole, MAX_USD_PER_MONTH, setting, f"at most ${MAX_USD_PER_MONTH:,} a month")
            micros = dollars * MICROS_PER_USD + int((cents or "0").ljust(2, "0")) * (MICROS_PER_USD // 100)
    return SetLimits(user, images, micros)


def _bounded(digits: str, maximum: int, setting: str, bound: str) -> int:
    """The typed whole number, or a refusal naming the bound (however many digits were typed)."""
    value = whole_number(digits)
    if value is None or value > maximum:
        raise InputRejected(f"`{setting}` is too high: {bound}", fragment=setting)
    return value
