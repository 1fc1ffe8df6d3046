"""The database tables. Queries live in `bot.storage.repositories`, nowhere else."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class JobRow(SQLModel, table=True):
    """One request for images, from acceptance to its end (done or failed)."""

    __tablename__ = "jobs"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    user_id: str = Field(index=True)
    channel_id: str
    thread_ts: str | None = None
    prompt: str
    size: str
    quality: str
    n: int
    output_format: str
    transparent: bool = False
    model: str
    status: str = Field(index=True)
    error: str | None = None
    provider_request_id: str | None = None
    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0
    created_at: datetime
    finished_at: datetime | None = None


class ImageRow(SQLModel, table=True):
    """One image Easel posted: where it is in Slack and what its bytes were."""

    __tablename__ = "images"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="jobs.id", index=True)
    position: int
    slack_file_id: str | None = Field(default=None, index=True)
    sha256: str
    byte_size: int
    output_format: str
    created_at: datetime


class ReceivedEvent(SQLModel, table=True):
    """An event id seen once: Slack retries deliver the same id again, and the primary key
    turns the second delivery away, whichever replica receives it."""

    __tablename__ = "received_events"

    event_id: str = Field(primary_key=True)
    received_at: datetime
