"""`python -m bot provenance export`: the provenance records as JSON Lines, for audits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.config import Settings
from bot.domain.model import JobRecord, ThreadImage
from bot.storage.database import Database
from bot.storage.thread_images import ThreadImages


async def export_provenance(settings: Settings, *, channel: str | None, since: datetime, out: TextIO) -> int:
    """Write one JSON object per image recorded since `since`; return how many."""
    database = Database(settings.database_url, upgrade=settings.database_upgrade_on_start)
    try:
        records = await ThreadImages(database).audit_records(channel, since)
    finally:
        database.close()
    for image, job, parents in records:
        out.write(json.dumps(_record(image, job, parents), ensure_ascii=False) + "\n")
    return len(records)


def _record(image: ThreadImage, job: JobRecord | None, parents: list[int]) -> dict[str, Any]:
    return {
        "channel": image.channel_id,
        "thread_ts": image.thread_ts,
        "number": image.number,
        "origin": image.origin,
        "user": image.user_id,
        "created_at": image.created_at.isoformat(),
        "slack_file_id": image.slack_file_id,
        "permalink": image.permalink,
        "sha256": image.sha256,
        "mime_type": image.mime_type,
        "c2pa": image.c2pa,
        "parents": parents,
        "job": None
        if job is None
        else {
            "id": job.id,
            "prompt": job.prompt,
            "model": job.model,
            "size": job.size,
            "quality": job.quality,
            "status": job.status,
            "requested_at": job.created_at.isoformat(),
        },
    }


def parse_since(text: str) -> datetime:
    """`2026-11-01` or a full ISO timestamp; dates without a zone are UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
