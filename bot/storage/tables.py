"""The database tables. Queries live in the repositories beside them (`bot.storage`), nowhere else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class JobRow(SQLModel, table=True):
    """One request for images, from acceptance to its end (done or failed).

    The row is the job's durable state: a worker of any replica claims it under a lease
    (`lease_owner`, `lease_expires_at`), and a job whose lease ran out is picked up again.
    `called_at` marks that the Images API may have received the request: such a job is never
    sent again by itself, since a second call could be billed twice.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_thread", "channel_id", "thread_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    request_key: str | None = Field(default=None, unique=True)  # Slack's id for the request: one job each
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    channel_id: str
    thread_ts: str | None = None
    prompt: str
    size: str
    quality: str
    n: int
    output_format: str
    frame_count: int | None = None  # GIF output: frames asked for (None: the model's default)
    frame_ms: int | None = None  # GIF output: each frame's delay asked for
    transparent: bool = False
    size_given: bool = False
    region: str | None = None  # as the user typed it
    version: int | None = None  # `#N`
    edit: bool = False
    edit_file_ids: str | None = None  # comma-separated Slack file ids attached to the request
    model: str
    status: str = Field(index=True)
    status_ts: str | None = None  # the status message, once posted
    reservation_id: int | None = None  # the ledger row holding this job's limits
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, index=True)
    not_before: datetime | None = None  # a retry waits until then
    slot_at: datetime | None = Field(default=None, index=True)  # took a place in the images-per-minute budget
    called_at: datetime | None = None
    parents: str | None = None  # JSON: the images an edit started from, as its notes name them
    error: str | None = None
    provider_request_id: str | None = None
    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0
    created_at: datetime
    finished_at: datetime | None = None


class JobOutput(SQLModel, table=True):
    """An image the model returned, kept until it is posted: a Slack outage or a restart does
    not waste a paid image. `slack_file_id` is recorded before the upload is shared, so a
    retry can tell whether it already reached the thread."""

    __tablename__ = "job_outputs"
    __table_args__ = (UniqueConstraint("job_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    position: int
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  # cleared once posted
    output_format: str
    slack_file_id: str | None = None
    posted: bool = False
    created_at: datetime


class ImageRow(SQLModel, table=True):
    """An image in a thread Easel works in: one it posted, or one a person attached.

    `number` is the image's place in its thread ("image #3"), unique per thread, so people
    can name a version. Easel's own images reserve their number before upload (the note
    shows it) and get their Slack file id after.
    """

    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("channel_id", "thread_ts", "number"),
        UniqueConstraint("channel_id", "thread_ts", "slack_file_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str
    thread_ts: str
    number: int
    origin: str  # "generated" | "attached"
    user_id: str  # the requester, or the person who attached it
    job_id: int | None = Field(default=None, foreign_key="jobs.id", index=True)
    position: int = 1
    slack_file_id: str | None = Field(default=None, index=True)
    permalink: str | None = None
    name: str | None = None
    sha256: str | None = None
    byte_size: int | None = None
    mime_type: str | None = None
    c2pa: str | None = None  # the C2PA check of the bytes as posted, e.g. "signed by OpenAI, valid"
    usable: bool = True  # False once the file turned out to be unreadable or was deleted: never "the latest"
    deleted_at: datetime | None = None  # the file was deleted from Slack; the record stays for provenance
    deleted_by: str | None = None
    created_at: datetime


class ImageParent(SQLModel, table=True):
    """Lineage: `image_id` was made from `parent_id` (position 1 is the image a mask applies to)."""

    __tablename__ = "image_parents"

    image_id: int = Field(foreign_key="images.id", primary_key=True)
    parent_id: int = Field(foreign_key="images.id", primary_key=True)
    position: int


class ReceivedEvent(SQLModel, table=True):
    """An event id seen once: Slack retries deliver the same id again, and the primary key
    turns the second delivery away, whichever replica receives it. Until the event has been
    handled its payload is kept, so that an event acked by a process that then died is
    handled by the next one; after that, for the rest of the day, so that a job can answer
    through the request's `response_url`."""

    __tablename__ = "received_events"

    event_id: str = Field(primary_key=True)
    received_at: datetime
    payload: str | None = None  # the event's JSON body
    handled_at: datetime | None = Field(default=None, index=True)


class LedgerRow(SQLModel, table=True):
    """One request's charge: reserved before the model is called, then settled to the exact
    cost from `usage`, or released when nothing was produced."""

    __tablename__ = "ledger"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    channel_id: str
    job_id: int | None = Field(default=None, index=True)
    model: str
    status: str = Field(index=True)  # "reserved" | "settled" | "released"
    images: int
    estimate_micros: int
    actual_micros: int | None = None
    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0
    created_at: datetime = Field(index=True)
    settled_at: datetime | None = None


class LimitOverride(SQLModel, table=True):
    """An admin's exception for one user: other limits, or none at all."""

    __tablename__ = "limit_overrides"

    team_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    images_per_day: int | None = None
    usd_micros_per_month: int | None = None
    exempt: bool = False
    updated_by: str
    updated_at: datetime


class Strike(SQLModel, table=True):
    """A request the model's safety system blocked; too many in a day pause the user."""

    __tablename__ = "strikes"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    job_id: int | None = None
    created_at: datetime = Field(index=True)


class UserPreference(SQLModel, table=True):
    """A person's own defaults (chosen on the Home tab) and whether Easel has introduced itself."""

    __tablename__ = "user_preferences"

    team_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    greeted_at: datetime | None = None
    updated_at: datetime


class BotSetting(SQLModel, table=True):
    """Switches admins flip from Slack (the kill switch), shared by every replica."""

    __tablename__ = "bot_settings"

    team_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str
    updated_by: str
    updated_at: datetime
