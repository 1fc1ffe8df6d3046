"""The provenance of each image: who asked for what, with which model, from which parents."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from bot.domain.credentials import ContentCredentials
from bot.domain.people import Requester


@dataclass(frozen=True, kw_only=True)
class ParentImage:
    """An image an edit started from: its number in the thread and who made or shared it."""

    number: int
    user_id: str
    origin: str  # "generated" | "attached"
    credentials: str | None = None  # its C2PA state as the edit downloaded it, when it had a manifest
    permalink: str | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ParentImage:
        """From the JSON a job keeps; keys of older versions (`ai_provenance`) are dropped."""
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in record.items() if key in known})


@dataclass(frozen=True, kw_only=True)
class Provenance:
    requester: Requester
    model: str
    prompt: str
    size: str
    quality: str
    output_format: str
    requested_at: datetime
    sha256: str
    position: int  # 1-based, among the images of one request
    of: int
    number: int | None = None  # the image's number in its thread
    parents: tuple[ParentImage, ...] = ()
    region: str | None = None
    credentials: ContentCredentials | None = None  # of the bytes as posted
    remote_check: str | None = None  # the provider's server-side check, when enabled
