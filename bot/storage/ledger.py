"""Reservations and charges, overrides, strikes and the pause switch: what limits count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from bot import metrics
from bot.domain.model import Charge, LimitOverride, Totals, Windows
from bot.storage.repository import Repository, aware, mapped
from bot.storage.tables import BotSetting, LedgerRow, Strike
from bot.storage.tables import LimitOverride as OverrideRow

R = TypeVar("R")
PAUSED = "paused"


class Ledger(Repository):
    """Reservations and charges, overrides, strikes and the pause switch."""

    async def reserve(
        self,
        team_id: str,
        user_id: str,
        *,
        channel: str,
        model: str,
        images: int,
        estimate_micros: int,
        windows: Windows,
        decide: Callable[[Totals], R | None],
    ) -> Charge | R:
        """Read the totals and insert the reservation in one transaction that excludes every
        other reservation of the workspace: on SQLite every transaction begins IMMEDIATE
        (see `bot.storage.database`), on PostgreSQL an advisory lock on the workspace.
        `decide` returns a refusal, or None to go ahead."""

        def work(session: Session) -> Charge | R:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"easel:{team_id}"})
            totals = self._totals(session, team_id, user_id, windows)
            refusal = decide(totals)
            if refusal is not None:
                session.rollback()
                return refusal
            row = LedgerRow(
                team_id=team_id,
                user_id=user_id,
                channel_id=channel,
                model=model,
                status="reserved",
                images=images,
                estimate_micros=estimate_micros,
                created_at=windows.now,
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return _charge(row)

        return await self._run(work)

    async def totals(self, team_id: str, user_id: str, windows: Windows) -> Totals:
        return await self._run(lambda session: self._totals(session, team_id, user_id, windows))

    def _totals(self, session: Session, team_id: str, user_id: str, windows: Windows) -> Totals:
        mine = (LedgerRow.team_id == team_id, LedgerRow.user_id == user_id)
        charged = col(LedgerRow.status) != "released"
        cost = func.coalesce(LedgerRow.actual_micros, LedgerRow.estimate_micros)
        images_today = session.exec(
            select(func.coalesce(func.sum(LedgerRow.images), 0)).where(
                *mine, charged, col(LedgerRow.created_at) >= windows.day_start
            )
        ).one()
        month = session.exec(
            select(func.coalesce(func.sum(cost), 0)).where(
                *mine, charged, col(LedgerRow.created_at) >= windows.month_start
            )
        ).one()
        in_flight = session.exec(
            select(func.count()).select_from(LedgerRow).where(*mine, LedgerRow.status == "reserved")
        ).one()
        minute = session.exec(
            select(func.count(), func.min(LedgerRow.created_at)).where(
                *mine, col(LedgerRow.created_at) >= windows.minute_start
            )
        ).one()
        workspace = session.exec(
            select(func.coalesce(func.sum(cost), 0)).where(
                LedgerRow.team_id == team_id, charged, col(LedgerRow.created_at) >= windows.day_start
            )
        ).one()
        strikes = session.exec(
            select(func.count())
            .select_from(Strike)
            .where(Strike.team_id == team_id, Strike.user_id == user_id, col(Strike.created_at) >= windows.day_start)
        ).one()
        paused = session.get(BotSetting, (team_id, PAUSED))
        override = session.get(OverrideRow, (team_id, user_id))
        return Totals(
            images_today=int(images_today),
            micros_this_month=int(month),
            in_flight=int(in_flight),
            requests_last_minute=int(minute[0]),
            oldest_request_in_minute=aware(minute[1]),
            workspace_micros_today=int(workspace),
            strikes_today=int(strikes),
            override=mapped(LimitOverride, override) if override is not None else None,
            bot_paused=paused is not None and paused.value == "1",
        )

    async def settle(
        self,
        reservation_id: int,
        *,
        actual_micros: int,
        images: int,
        tokens: tuple[int, int, int],
        job_id: int,
        at: datetime,
    ) -> None:
        """Record the exact cost; `tokens` are (text input, image input, output)."""

        def work(session: Session) -> None:
            row = session.get(LedgerRow, reservation_id)
            if row is None or row.status != "reserved":
                return  # settled or released already: settling twice must not charge twice
            row.status, row.actual_micros, row.images, row.job_id, row.settled_at = (
                "settled",
                actual_micros,
                images,
                job_id,
                at,
            )
            row.input_text_tokens, row.input_image_tokens, row.output_tokens = tokens
            session.add(row)
            session.commit()
            metrics.spent(row.team_id, actual_micros)

        await self._run(work)

    async def get(self, reservation_id: int) -> Charge | None:
        def work(session: Session) -> Charge | None:
            row = session.get(LedgerRow, reservation_id)
            return _charge(row) if row is not None else None

        return await self._run(work)

    async def release(self, reservation_id: int, *, at: datetime, settled_too: bool = False) -> None:
        """Give the reservation back; `settled_too` refunds a charge for images never posted."""

        def work(session: Session) -> None:
            row = session.get(LedgerRow, reservation_id)
            if row is None or row.status == "released" or (row.status == "settled" and not settled_too):
                return
            refund = row.actual_micros or 0 if row.status == "settled" else 0
            row.status, row.actual_micros, row.settled_at = "released", 0, at
            session.add(row)
            session.commit()
            metrics.refunded(row.team_id, refund)

        await self._run(work)

    async def scale(self, reservation_id: int, *, fraction: tuple[int, int], at: datetime) -> None:
        """Keep `part` of `whole` of a settled charge: the images that were posted."""
        part, whole = fraction

        def work(session: Session) -> None:
            row = session.get(LedgerRow, reservation_id)
            if row is None or row.status != "settled" or not whole:
                return
            charged = row.actual_micros or 0
            row.actual_micros = round(charged * part / whole)
            row.images, row.settled_at = part, at
            session.add(row)
            session.commit()
            metrics.refunded(row.team_id, charged - row.actual_micros)

        await self._run(work)

    async def add_strike(self, team_id: str, user_id: str, *, job_id: int, at: datetime, since: datetime) -> int:
        """Record a strike; return the user's strikes since `since`, this one included."""

        def work(session: Session) -> int:
            session.add(Strike(team_id=team_id, user_id=user_id, job_id=job_id, created_at=at))
            session.commit()
            count = session.exec(
                select(func.count())
                .select_from(Strike)
                .where(Strike.team_id == team_id, Strike.user_id == user_id, col(Strike.created_at) >= since)
            ).one()
            return int(count)

        return await self._run(work)

    async def set_override(
        self,
        team_id: str,
        user_id: str,
        *,
        by: str,
        at: datetime,
        images_per_day: int | None = None,
        usd_micros_per_month: int | None = None,
        exempt: bool | None = None,
    ) -> LimitOverride:
        def work(session: Session) -> LimitOverride:
            row = session.get(OverrideRow, (team_id, user_id)) or OverrideRow(
                team_id=team_id, user_id=user_id, updated_by=by, updated_at=at
            )
            if images_per_day is not None:
                row.images_per_day = images_per_day
            if usd_micros_per_month is not None:
                row.usd_micros_per_month = usd_micros_per_month
            if exempt is not None:
                row.exempt = exempt
            row.updated_by, row.updated_at = by, at
            session.add(row)
            session.commit()
            session.refresh(row)
            return mapped(LimitOverride, row)

        return await self._run(work)

    async def set_paused(self, team_id: str, paused: bool, *, by: str, at: datetime) -> None:
        def work(session: Session) -> None:
            row = session.get(BotSetting, (team_id, PAUSED)) or BotSetting(
                team_id=team_id, key=PAUSED, value="0", updated_by=by, updated_at=at
            )
            row.value, row.updated_by, row.updated_at = ("1" if paused else "0"), by, at
            session.add(row)
            session.commit()

        await self._run(work)

    async def workspace_users(self, team_id: str, since: datetime) -> list[tuple[str, int, int]]:
        """(user, images, micro-dollars) for every user charged since `since`, biggest spender first."""

        def work(session: Session) -> list[tuple[str, int, int]]:
            cost = func.coalesce(LedgerRow.actual_micros, LedgerRow.estimate_micros)
            query = (
                select(LedgerRow.user_id, func.sum(LedgerRow.images), func.sum(cost))
                .where(
                    LedgerRow.team_id == team_id,
                    col(LedgerRow.status) != "released",
                    col(LedgerRow.created_at) >= since,
                )
                .group_by(col(LedgerRow.user_id))
                .order_by(func.sum(cost).desc())
            )
            return [(user, int(images), int(micros)) for user, images, micros in session.exec(query)]

        return await self._run(work)


def _charge(row: LedgerRow) -> Charge:
    return mapped(Charge, row)
