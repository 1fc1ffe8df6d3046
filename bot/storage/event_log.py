"""Slack event ids seen, and the payloads of requests not handled yet."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from bot.storage.repository import Repository
from bot.storage.tables import ReceivedEvent


class EventLog(Repository):
    """Remembers Slack event ids so that a retried delivery is handled once."""

    async def first_delivery(
        self, event_id: str | None, *, at: datetime | None = None, payload: str | None = None
    ) -> bool:
        """True the first time `event_id` is seen (and for events without an id). With a
        `payload`, the event waits in the log until `handled` is called for it."""
        if not event_id:
            return True

        def work(session: Session) -> bool:
            session.add(
                ReceivedEvent(
                    event_id=event_id,
                    received_at=at or datetime.now(UTC),
                    payload=payload,
                    handled_at=None if payload else at or datetime.now(UTC),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                return False
            return True

        return await self._run(work)

    async def handled(self, event_id: str | None, *, at: datetime) -> None:
        if not event_id:
            return

        def work(session: Session) -> None:
            session.execute(update(ReceivedEvent).where(col(ReceivedEvent.event_id) == event_id).values(handled_at=at))
            session.commit()

        await self._run(work)

    async def payload(self, event_id: str) -> str | None:
        """The request as Slack sent it (kept for a day: a job may need its `response_url`)."""
        row = await self._run(lambda session: session.get(ReceivedEvent, event_id))
        return row.payload if row is not None else None

    async def take_unhandled(
        self, *, received_before: datetime, at: datetime, limit: int = 20
    ) -> list[tuple[str, str]]:
        """(id, payload) of requests received before `received_before` and never handled
        (their process died first), each taken by one replica only."""

        def work(session: Session) -> list[tuple[str, str]]:
            waiting = session.exec(
                select(ReceivedEvent)
                .where(
                    col(ReceivedEvent.handled_at).is_(None),
                    col(ReceivedEvent.payload).is_not(None),
                    col(ReceivedEvent.received_at) < received_before,
                )
                .limit(limit)
            ).all()
            taken = []
            for event in waiting:
                result = session.execute(
                    update(ReceivedEvent)
                    .where(col(ReceivedEvent.event_id) == event.event_id, col(ReceivedEvent.handled_at).is_(None))
                    .values(handled_at=at)
                )
                if result.rowcount and event.payload:  # type: ignore[attr-defined]
                    taken.append((event.event_id, event.payload))
            session.commit()
            return taken

        return await self._run(work)

    async def forget(self, *, received_before: datetime) -> int:
        """Drop ids older than any retry Slack would still send (it gives up within hours)."""

        def work(session: Session) -> int:
            result = session.execute(delete(ReceivedEvent).where(col(ReceivedEvent.received_at) < received_before))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(work)
