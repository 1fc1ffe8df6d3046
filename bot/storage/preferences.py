"""People's own defaults, and who has met Easel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.domain.model import Preference
from bot.storage.repository import Repository, mapped
from bot.storage.tables import UserPreference


class Preferences(Repository):
    """People's own defaults, and who has met Easel."""

    async def get(self, team_id: str, user_id: str) -> Preference | None:
        def work(session: Session) -> Preference | None:
            row = session.get(UserPreference, (team_id, user_id))
            return mapped(Preference, row) if row is not None else None

        return await self._run(work)

    async def first_greeting(self, team_id: str, user_id: str, *, at: datetime) -> bool:
        """True once per person: the first time Easel meets them."""

        def work(session: Session) -> bool:
            row = session.get(UserPreference, (team_id, user_id))
            if row is not None and row.greeted_at is not None:
                return False
            row = row or UserPreference(team_id=team_id, user_id=user_id, updated_at=at)
            row.greeted_at = at
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                return False  # greeted at the same moment by another replica
            return True

        return await self._run(work)

    async def set(self, team_id: str, user_id: str, *, at: datetime, **values: str | None) -> None:
        def work(session: Session) -> None:
            row = session.get(UserPreference, (team_id, user_id)) or UserPreference(
                team_id=team_id, user_id=user_id, updated_at=at
            )
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = at
            session.add(row)
            session.commit()

        try:
            await self._run(work)
        except IntegrityError:
            await self._run(work)  # another replica inserted the row first: now it updates it
