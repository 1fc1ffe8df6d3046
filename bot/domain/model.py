"""What a job is, as the domain sees it: plain data, shared by the intake, the pipeline, the
delivery and whoever shows a job (a Slack thread, a file on disk). Nothing here does any work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.domain.limits import ImagesLeft, Reservation
from bot.domain.people import Requester
from bot.domain.provenance import Provenance
from bot.domain.requests import Prompt
from bot.domain.sources import EditSource

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    RECEIVED = "received"  # recorded at the ack; no status message yet
    QUEUED = "queued"
    GENERATING = "generating"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where a job's results go: a conversation and, once there is one, its thread; `status`
    is the reporter's reference to the message that shows how far the job is."""

    conversation: str
    thread: str | None = None
    status: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobRequest:
    """A request as any surface hands it to the intake: who asks, for what, where the results
    go, what an edit starts from, and the surface's own id for it (a redelivery repeats it)."""

    requester: Requester
    prompt: Prompt
    place: Place
    edit: EditSource | None = None
    request_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class ImageJob:
    id: int
    requester: Requester
    prompt: Prompt
    place: Place
    requested_at: datetime
    edit: EditSource | None = None
    reservation: Reservation | None = None  # what the limits set aside for this job
    attempt: int = 1  # how many times a worker has taken the job up
    called: bool = False  # the Images API may have received the request
    owner: str | None = None  # the lease holder running it: its writes stop if another takes over
    request_key: str | None = None  # the id of the request as Slack delivered it


@dataclass(frozen=True, kw_only=True)
class FinishedImage:
    data: bytes
    mime_type: str
    provenance: Provenance


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """What every image of a request shares in its note."""

    model: str
    allowance: ImagesLeft | None = None  # what the requester may still make today
    cost_micros: int | None = None  # what the request cost, from the provider's usage


@dataclass(frozen=True, kw_only=True)
class PostedImage:
    """Where a delivered image lives: its file id and a link people can open."""

    file_id: str | None
    permalink: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelChoice:
    """A model as the provider knows it (`call_name`: on Azure, the deployment), the model id
    shown to people, and the setting an admin changes when it goes away."""

    call_name: str
    model_id: str
    setting: str
