"""Per-user and per-workspace limits, checked and reserved atomically before any model call.

The rules live here; `bot.storage.ledger.Ledger` runs them inside one database
transaction that no other reservation of the workspace can interleave with, on SQLite and on
PostgreSQL alike, so N simultaneous requests with room for k let exactly k through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import ImagesLeft, LimitOverride, Reservation, Totals, Windows
from bot.domain.people import Requester
from bot.domain.pricing import MICROS_PER_USD, cost_micros, usd
from bot.errors import BotError, BotPaused, ChannelNotAllowed, LimitReached, UserPaused
from bot.providers.base import Usage
from bot.storage.ledger import Ledger


@dataclass(frozen=True, kw_only=True)
class LimitPolicy:
    images_per_day: int = 50
    usd_micros_per_month: int = 10 * MICROS_PER_USD
    concurrent_jobs: int = 2
    requests_per_minute: int = 6
    workspace_usd_micros_per_day: int = 50 * MICROS_PER_USD
    strikes_per_day: int = 3
    timezone: str = "UTC"
    allowed_channels: frozenset[str] = frozenset()  # empty: every channel


@dataclass(frozen=True, kw_only=True)
class UsageLine:
    name: str
    used: str
    allowed: str
    resets_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class UsageReport:
    lines: tuple[UsageLine, ...]
    exempt: bool
    paused: bool
    images_left_today: int | None  # None: no image limit applies

    @property
    def images_left(self) -> ImagesLeft | None:
        """None where no daily image limit applies."""
        line = next((line for line in self.lines if line.name == "images today"), None)
        if line is None or self.images_left_today is None:
            return None
        return ImagesLeft(left=self.images_left_today, allowed=line.allowed)


class Limits:
    def __init__(self, policy: LimitPolicy, ledger: Ledger) -> None:
        self.policy = policy
        self._ledger = ledger

    def windows(self, now: datetime) -> Windows:
        """Day and month boundaries in the policy's time zone, in UTC for the database."""
        zone = ZoneInfo(self.policy.timezone)
        local = now.astimezone(zone)
        day_start = datetime.combine(local.date(), datetime.min.time(), zone)
        next_day = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
        month_start = datetime.combine(date(local.year, local.month, 1), datetime.min.time(), zone)
        next_month = datetime.combine(
            date(local.year + local.month // 12, local.month % 12 + 1, 1), datetime.min.time(), zone
        )
        return Windows(
            now=_utc(now),
            day_start=_utc(day_start),
            day_end=_utc(next_day),
            month_start=_utc(month_start),
            month_end=_utc(next_month),
            minute_start=_utc(now - timedelta(minutes=1)),
        )

    async def reserve(
        self, requester: Requester, *, channel: str, model: str, images: int, estimate_micros: int, now: datetime
    ) -> Reservation:
        """Check every limit and reserve the images and the estimate, atomically; raise the
        first limit that would be crossed."""
        if self.policy.allowed_channels and channel not in self.policy.allowed_channels:
            raise ChannelNotAllowed(channel)
        windows = self.windows(now)

        def decide(totals: Totals) -> BotError | None:
            return self._refusal(totals, windows, images=images, estimate_micros=estimate_micros)

        outcome = await self._ledger.reserve(
            requester.team_id,
            requester.user_id,
            channel=channel,
            model=model,
            images=images,
            estimate_micros=estimate_micros,
            windows=windows,
            decide=decide,
        )
        if isinstance(outcome, BotError):
            raise outcome
        return Reservation(id=outcome.id, images=images, estimate_micros=estimate_micros)

    def _refusal(self, totals: Totals, windows: Windows, *, images: int, estimate_micros: int) -> BotError | None:
        policy = self.policy
        if totals.bot_paused:
            return BotPaused()
        if totals.strikes_today >= policy.strikes_per_day:
            return UserPaused(strikes=totals.strikes_today, resets_at=windows.day_end)
        override = totals.override
        if not (override and override.exempt):
            images_allowed = self._images_allowed(override)
            if totals.images_today + images > images_allowed:
                return LimitReached(
                    limit="images today",
                    used=f"{totals.images_today}",
                    allowed=f"{images_allowed}",
                    resets_at=windows.day_end,
                )
            usd_allowed = self._usd_allowed(override)
            if totals.micros_this_month + estimate_micros > usd_allowed:
                return LimitReached(
                    limit="spend this month",
                    used=usd(totals.micros_this_month),
                    allowed=usd(usd_allowed),
                    resets_at=windows.month_end,
                )
            if totals.in_flight >= policy.concurrent_jobs:
                return LimitReached(
                    limit="jobs in flight",
                    used=f"{totals.in_flight}",
                    allowed=f"{policy.concurrent_jobs}",
                    resets_at=None,
                )
            if totals.requests_last_minute >= policy.requests_per_minute:
                oldest = totals.oldest_request_in_minute or windows.now
                return LimitReached(
                    limit="requests per minute",
                    used=f"{totals.requests_last_minute}",
                    allowed=f"{policy.requests_per_minute}",
                    resets_at=oldest + timedelta(minutes=1),
                )
        if totals.workspace_micros_today + estimate_micros > policy.workspace_usd_micros_per_day:
            return LimitReached(
                limit="workspace spend today",
                used=usd(totals.workspace_micros_today),
                allowed=usd(policy.workspace_usd_micros_per_day),
                resets_at=windows.day_end,
            )
        return None

    def _images_allowed(self, override: LimitOverride | None) -> int:
        if override is not None and override.images_per_day is not None:
            return override.images_per_day
        return self.policy.images_per_day

    def _usd_allowed(self, override: LimitOverride | None) -> int:
        if override is not None and override.usd_micros_per_month is not None:
            return override.usd_micros_per_month
        return self.policy.usd_micros_per_month

    async def settle(
        self, reservation: Reservation, *, model: str, usage: Usage | None, images: int, job_id: int, now: datetime
    ) -> None:
        """Replace the estimate with the exact cost (the estimate stands if no usage came back)."""
        actual = cost_micros(model, usage) if usage is not None else reservation.estimate_micros
        tokens = (usage.input_text_tokens, usage.input_image_tokens, usage.output_tokens) if usage else (0, 0, 0)
        await self._ledger.settle(
            reservation.id, actual_micros=actual, images=images, tokens=tokens, job_id=job_id, at=_utc(now)
        )

    async def release(self, reservation: Reservation, *, now: datetime) -> None:
        """Give back what was set aside (a settled charge stays)."""
        await self._ledger.release(reservation.id, at=_utc(now))

    async def charge_posted(self, reservation: Reservation, *, posted: int, of: int, now: datetime) -> None:
        """Images were made but only `posted` of `of` reached anyone: charge for those alone
        (nothing, when none did)."""
        if posted == 0:
            await self._ledger.release(reservation.id, at=_utc(now), settled_too=True)
            return
        await self._ledger.scale(reservation.id, fraction=(posted, of), at=_utc(now))

    async def reservation(self, reservation_id: int) -> Reservation | None:
        charge = await self._ledger.get(reservation_id)
        if charge is None:
            return None
        return Reservation(id=reservation_id, images=charge.images, estimate_micros=charge.estimate_micros)

    async def strike(self, requester: Requester, *, job_id: int, now: datetime) -> bool:
        """Count a safety block; True when it is the one that pauses the user for the day."""
        strikes = await self._ledger.add_strike(
            requester.team_id, requester.user_id, job_id=job_id, at=_utc(now), since=self.windows(now).day_start
        )
        return strikes == self.policy.strikes_per_day

    async def set_limits(
        self,
        team_id: str,
        user_id: str,
        *,
        by: str,
        now: datetime,
        images_per_day: int | None = None,
        usd_micros_per_month: int | None = None,
        exempt: bool | None = None,
    ) -> None:
        await self._ledger.set_override(
            team_id,
            user_id,
            by=by,
            at=_utc(now),
            images_per_day=images_per_day,
            usd_micros_per_month=usd_micros_per_month,
            exempt=exempt,
        )

    async def set_paused(self, team_id: str, paused: bool, *, by: str, now: datetime) -> None:
        """The kill switch: every replica refuses new jobs from its next reservation on."""
        await self._ledger.set_paused(team_id, paused, by=by, at=_utc(now))

    async def workspace(self, team_id: str, *, now: datetime) -> WorkspaceUsage:
        windows = self.windows(now)
        totals = await self._ledger.totals(team_id, "", windows)
        users = await self._ledger.workspace_users(team_id, windows.month_start)
        return WorkspaceUsage(
            micros_today=totals.workspace_micros_today,
            allowed_micros_today=self.policy.workspace_usd_micros_per_day,
            paused=totals.bot_paused,
            users_this_month=tuple(users),
        )

    async def usage(self, requester: Requester, *, now: datetime) -> UsageReport:
        windows = self.windows(now)
        totals = await self._ledger.totals(requester.team_id, requester.user_id, windows)
        override = totals.override
        exempt = bool(override and override.exempt)
        images_allowed = self._images_allowed(override)
        usd_allowed = self._usd_allowed(override)
        lines = [
            UsageLine(
                name="images today",
                used=f"{totals.images_today}",
                allowed=f"{images_allowed}",
                resets_at=windows.day_end,
            ),
            UsageLine(
                name="spend this month",
                used=usd(totals.micros_this_month),
                allowed=usd(usd_allowed),
                resets_at=windows.month_end,
            ),
            UsageLine(
                name="jobs in flight",
                used=f"{totals.in_flight}",
                allowed=f"{self.policy.concurrent_jobs}",
                resets_at=None,
            ),
            UsageLine(
                name="requests per minute",
                used=f"{totals.requests_last_minute}",
                allowed=f"{self.policy.requests_per_minute}",
                resets_at=totals.oldest_request_in_minute + timedelta(minutes=1)
                if totals.oldest_request_in_minute
                else None,
            ),
            UsageLine(
                name="workspace spend today",
                used=usd(totals.workspace_micros_today),
                allowed=usd(self.policy.workspace_usd_micros_per_day),
                resets_at=windows.day_end,
            ),
        ]
        return UsageReport(
            lines=tuple(lines),
            exempt=exempt,
            paused=totals.strikes_today >= self.policy.strikes_per_day,
            images_left_today=None if exempt else max(images_allowed - totals.images_today, 0),
        )


@dataclass(frozen=True, kw_only=True)
class WorkspaceUsage:
    micros_today: int
    allowed_micros_today: int
    paused: bool
    users_this_month: tuple[tuple[str, int, int], ...]  # (user, images, micro-dollars)


def _utc(moment: datetime) -> datetime:
    """In UTC, as the database stores time."""
    return moment.astimezone(UTC)
