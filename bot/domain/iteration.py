"""One-click iteration on a finished request, and the defaults people choose for themselves.

A follow-up is a new request built from an old one (the same prompt and sources, with one
thing changed), so it goes through the same limits, jobs and provenance as a typed request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import cast

from bot.config import SIZE_ALIASES, Quality
from bot.domain.model import EditSource
from bot.domain.model_options import fit_to_model, makes
from bot.domain.people import Requester
from bot.domain.requests import OptionDefaults, Prompt, recorded_prompt
from bot.errors import InputRejected
from bot.providers.base import OutputFormat
from bot.storage.job_records import JobRepository
from bot.storage.preferences import Preferences
from bot.storage.thread_images import ThreadImages

VARIATIONS = 3  # new images a Variations click asks for


class FollowUp(StrEnum):
    VARIATIONS = "variations"
    REGENERATE = "regenerate"
    HD = "hd"
    SQUARE = "square"
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"


@dataclass(frozen=True, kw_only=True)
class Again:
    """A request to make, in the thread of the one it follows."""

    prompt: Prompt
    edit: EditSource | None
    channel: str
    thread: str


class Iteration:
    def __init__(
        self, jobs: JobRepository, images: ThreadImages, preferences: Preferences, defaults: OptionDefaults
    ) -> None:
        self._jobs = jobs
        self._images = images
        self._preferences = preferences
        self._defaults = defaults

    async def follow_up(self, job_id: int, kind: FollowUp, *, channel: str) -> Again:
        """The request `kind` makes of job `job_id`; `InputRejected` when it cannot be made."""
        row = await self._jobs.get(job_id)
        if row is None or row.channel_id != channel or row.thread_ts is None:
            raise InputRejected("that request is not one Easel knows in this channel")
        asked = recorded_prompt(row)
        options = asked.options
        match kind:
            case FollowUp.VARIATIONS:
                options = replace(options, n=VARIATIONS)
            case FollowUp.HD:
                options = replace(options, quality="high")
            case FollowUp.SQUARE | FollowUp.PORTRAIT | FollowUp.LANDSCAPE:
                options = replace(options, size=SIZE_ALIASES[kind.value], size_given=True)
        # The model in use may not be the one that made the original (or take n=3 for an SVG).
        prompt = replace(asked, options=fit_to_model(options, self._defaults.model), version=None)
        edit = None
        if row.edit:
            edit = EditSource(file_ids=await self._sources_of(job_id, row.edit_file_ids))
        return Again(prompt=prompt, edit=edit, channel=row.channel_id, thread=row.thread_ts)

    async def _sources_of(self, job_id: int, attached: tuple[str, ...]) -> tuple[str, ...]:
        """The files an edit started from: those attached to it (a mask included), or else
        the thread images it was made from."""
        if attached:
            return attached
        made = await self._images.of_job(job_id)
        parents = await self._images.parents_of(made[0].id) if made else []
        if not parents or any(p.slack_file_id is None or p.deleted_at is not None for p in parents):
            raise InputRejected("the image this was made from has been deleted")
        return tuple(p.slack_file_id for p in parents if p.slack_file_id)

    async def defaults_for(self, requester: Requester) -> OptionDefaults:
        """The workspace's defaults, overridden by the person's own."""
        mine = await self._preferences.get(requester.team_id, requester.user_id)
        if mine is None:
            return self._defaults
        output_format = cast(OutputFormat | None, mine.output_format)
        spec = self._defaults.model  # a choice made under another model may not fit this one
        return replace(
            self._defaults,
            size=mine.size if mine.size and makes(mine.size, spec) else self._defaults.size,
            quality=cast(Quality, mine.quality) if mine.quality in spec.qualities else self._defaults.quality,
            output_format=output_format if output_format in self._defaults.formats else self._defaults.output_format,
        )

    async def set_default(self, requester: Requester, name: str, value: str, *, now: datetime) -> None:
        """Remember one of size, quality or format (the Home tab's choices)."""
        spec = self._defaults.model
        allowed = {"quality": value in spec.qualities, "output_format": value in self._defaults.formats}
        if not allowed.get(name, name == "size" and makes(value, spec)):
            raise InputRejected(f"`{value}` is not a {name.replace('_', ' ')} Easel offers")
        await self._preferences.set(requester.team_id, requester.user_id, at=now, **{name: value})

    async def first_meeting(self, requester: Requester, *, now: datetime) -> bool:
        return await self._preferences.first_greeting(requester.team_id, requester.user_id, at=now)
