"""How many jobs wait for a worker, on every replica: the `easel_jobs_queued` gauge."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from bot.storage.database import Database
from bot.storage.job_records import RUNNABLE_STATUSES
from bot.storage.tables import JobRow


async def jobs_waiting(database: Database) -> int:
    """Runnable jobs no worker holds (new ones, and retries waiting for their time)."""

    def count(session: Session) -> int:
        query = select(func.count()).where(col(JobRow.status).in_(RUNNABLE_STATUSES), col(JobRow.lease_owner).is_(None))
        return int(session.exec(query).one())

    return await database.run(count)
