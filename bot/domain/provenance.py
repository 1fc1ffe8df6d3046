"""The provenance of each image: who asked for what, with which model, from which parents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.credentials import ContentCredentials
from bot.domain.people import Requester


@dataclass(frozen=True, kw_only=True)
class ParentImage:
    """An image an edit started from: its number in the thread and who made or shared it."""

    number: int
    user_id: str
    origin: str  # "generated" | "attached"
    ai_provenance: bool = False  # its own C2PA manifest says a generative model made it
    permalink: str | None = None


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
