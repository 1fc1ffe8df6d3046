"""Leases by holder: which processes hold jobs, and ending the leases of those that are gone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select, update

from bot.storage.database import Database
from bot.storage.job_records import RUNNABLE_STATUSES
from bot.storage.tables import JobRow


class LeaseHolders:
    def __init__(self, database: Database) -> None:
        self._run = database.run

    async def holding(self, *, prefix: str, now: datetime) -> list[str]:
        """The owners, starting with `prefix`, of leases still running on unfinished jobs."""

        def work(session: Session) -> list[str]:
            query = (
                select(JobRow.lease_owner)
                .where(
                    col(JobRow.lease_owner).startswith(prefix, autoescape=True),
                    col(JobRow.lease_expires_at) >= now,
                    col(JobRow.status).in_(RUNNABLE_STATUSES),
                )
                .distinct()
            )
            return [owner for owner in session.exec(query) if owner is not None]

        return await self._run(work)

    async def expire(self, owners: Sequence[str], *, now: datetime) -> int:
        """End the leases of `owners` now, so their jobs can be claimed at once; how many.
        The owner stays recorded: a write from it would still be refused."""

        def work(session: Session) -> int:
            result = session.execute(
                update(JobRow)
                .where(
                    col(JobRow.lease_owner).in_(owners),
                    col(JobRow.lease_expires_at) >= now,
                    col(JobRow.status).in_(RUNNABLE_STATUSES),
                )
                .values(lease_expires_at=now)
            )
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(work)
