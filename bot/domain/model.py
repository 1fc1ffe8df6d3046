"""The domain's data: what a job is, what is recorded about it, its thread's images, limits
and people. Plain frozen dataclasses shared by the intake, the pipeline, the delivery and
whoever shows a job (a Slack thread, a file on disk); nothing here does any work.

The repositories (`bot.storage`) map their rows to these and back, so storage is the only
layer that knows rows; it imports nothing else of the domain, so nothing here may import a
module that imports storage. Times are aware, in UTC."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.domain.people import Requester
from bot.domain.provenance import Provenance
from bot.domain.requests import Prompt

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class ImagesLeft:
    """What a person may still make today, shown under their images."""

    left: int
    allowed: str


@dataclass(frozen=True, kw_only=True)
class Reservation:
    """What the limits set aside for one request."""

    id: int
    images: int
    estimate_micros: int


@dataclass(frozen=True, kw_only=True)
class EditSource:
    """What an edit starts from: files attached to the request (they win), else image `#N`
    of the thread, else the thread's latest image when the job's turn comes."""

    file_ids: tuple[str, ...] = ()


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


@dataclass(frozen=True, kw_only=True)
class RequestedJob:
    """A request for images as it is recorded when it arrives."""

    request_key: str | None = None  # Slack's id for the request: one job each
    team_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None = None
    prompt: str
    size: str
    quality: str
    n: int
    output_format: str
    frame_count: int | None = None
    frame_ms: int | None = None
    transparent: bool = False
    size_given: bool = False
    region: str | None = None  # as the user typed it
    version: int | None = None  # `#N`
    edit: bool = False
    edit_file_ids: tuple[str, ...] = ()  # files attached to an edit
    model: str
    status: JobStatus
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class JobRecord(RequestedJob):
    """A recorded job: the request, and how far it got (a worker of any replica goes on from here)."""

    id: int
    status_ts: str | None = None  # the status message, once posted
    reservation_id: int | None = None
    attempts: int = 0
    not_before: datetime | None = None
    called_at: datetime | None = None  # the Images API may have received the request
    parents: str | None = None  # JSON: the images an edit started from, as its notes name them
    error: str | None = None
    provider_request_id: str | None = None
    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0
    finished_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class KeptOutput:
    """An image the model returned, kept until it is posted (`data` is dropped then)."""

    id: int
    job_id: int
    position: int
    data: bytes | None
    output_format: str
    slack_file_id: str | None = None  # recorded before the upload is shared
    posted: bool = False
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class ThreadImage:
    """An image in a thread Easel works in: one it posted, or one a person attached.
    `number` is its place in the thread ("image #3")."""

    id: int
    channel_id: str
    thread_ts: str
    number: int
    origin: str  # "generated" | "attached"
    user_id: str  # the requester, or the person who attached it
    job_id: int | None = None
    position: int = 1
    slack_file_id: str | None = None
    permalink: str | None = None
    name: str | None = None
    sha256: str | None = None
    byte_size: int | None = None
    mime_type: str | None = None
    c2pa: str | None = None  # the C2PA check of the bytes as posted
    usable: bool = True  # False once the file turned out unreadable or was deleted
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file a person shared in a thread, as its message event described it."""

    file_id: str
    name: str
    user_id: str
    permalink: str | None = None


@dataclass(frozen=True, kw_only=True)
class Preference:
    """A person's own defaults (chosen on the Home tab); None: the workspace's."""

    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    greeted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Charge:
    """One request's charge: reserved before the model is called, then settled to the exact
    cost, or released when nothing was produced."""

    id: int
    team_id: str
    user_id: str
    channel_id: str
    job_id: int | None = None
    model: str
    status: str  # "reserved" | "settled" | "released"
    images: int
    estimate_micros: int
    actual_micros: int | None = None
    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0
    created_at: datetime
    settled_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class LimitOverride:
    """An admin's exception for one user: other limits, or none at all."""

    images_per_day: int | None = None
    usd_micros_per_month: int | None = None
    exempt: bool = False
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Windows:
    """The time windows limits count in, in UTC."""

    now: datetime
    day_start: datetime
    day_end: datetime
    month_start: datetime
    month_end: datetime
    minute_start: datetime


@dataclass(frozen=True, kw_only=True)
class Totals:
    """What a user and their workspace have used, read inside the reservation's transaction."""

    images_today: int
    micros_this_month: int
    in_flight: int
    requests_last_minute: int
    oldest_request_in_minute: datetime | None
    workspace_micros_today: int
    strikes_today: int
    override: LimitOverride | None
    bot_paused: bool
