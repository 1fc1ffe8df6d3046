"""Limits on real databases: exact under concurrency (SQLite, PostgreSQL, two processes),
correct at day and month boundaries, and every refusal says which limit and when it resets."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.limits import LimitPolicy, Limits, Reservation
from bot.domain.people import Requester
from bot.domain.pricing import MICROS_PER_USD, cost_micros
from bot.errors import BotPaused, ChannelNotAllowed, LimitReached, UserPaused
from bot.providers.base import Usage
from bot.storage.database import Database
from bot.storage.ledger import Ledger

ALICE = Requester("T1", "U1")
BOB = Requester("T1", "U2")
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ROOMY = {"concurrent_jobs": 1000, "requests_per_minute": 1000}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'limits.db'}"
    return str(request.getfixturevalue("fresh_postgres"))


def limits_on(url: str, **policy: object) -> Limits:
    return Limits(LimitPolicy(**policy), Ledger(Database(url)))  # type: ignore[arg-type]


async def reserve(
    limits: Limits,
    who: Requester = ALICE,
    *,
    now: datetime = NOON,
    images: int = 1,
    estimate: int = 1_000,
    channel: str = "C1",
) -> Reservation:
    return await limits.reserve(
        who, channel=channel, model="gpt-image-1-mini", images=images, estimate_micros=estimate, now=now
    )


async def test_exactly_k_of_n_simultaneous_requests_get_through(database_url: str) -> None:
    limits = limits_on(database_url, images_per_day=5, **ROOMY)

    async def attempt() -> bool:
        try:
            await reserve(limits)
        except LimitReached as refused:
            assert refused.limit == "images today" and refused.allowed == "5"
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(24)))
    assert sum(outcomes) == 5


@pytest.mark.slow
def test_two_processes_on_one_postgresql_share_one_allowance(fresh_postgres: str) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.limits_worker", fresh_postgres, "20", "9"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(2)
    ]
    granted = [int(worker.communicate(timeout=120)[0]) for worker in workers]
    assert sum(granted) == 9, granted


async def test_the_day_resets_at_midnight_in_the_configured_zone(database_url: str) -> None:
    zone = ZoneInfo("America/New_York")
    limits = limits_on(database_url, images_per_day=2, timezone="America/New_York", **ROOMY)
    late = datetime(2026, 11, 24, 23, 58, tzinfo=zone)
    await reserve(limits, now=late, images=2)
    with pytest.raises(LimitReached) as refused:
        await reserve(limits, now=late + timedelta(minutes=1))
    assert refused.value.resets_at == datetime(2026, 11, 25, 0, 0, tzinfo=zone)
    await reserve(limits, now=late + timedelta(minutes=3))  # 00:01 the next day, New York time


async def test_the_month_resets_on_the_first(database_url: str) -> None:
    limits = limits_on(database_url, usd_micros_per_month=MICROS_PER_USD, **ROOMY)
    end_of_month = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    await reserve(limits, now=end_of_month, estimate=900_000)
    with pytest.raises(LimitReached) as refused:
        await reserve(limits, now=end_of_month, estimate=200_000)
    assert refused.value.limit == "spend this month"
    assert (refused.value.used, refused.value.allowed) == ("$0.90", "$1.00")
    assert refused.value.resets_at == datetime(2026, 12, 1, tzinfo=UTC)
    await reserve(limits, now=datetime(2026, 12, 1, 0, 5, tzinfo=UTC), estimate=200_000)


async def test_december_rolls_into_january(database_url: str) -> None:
    limits = limits_on(database_url, usd_micros_per_month=1_000, **ROOMY)
    await reserve(limits, now=datetime(2026, 12, 31, 12, tzinfo=UTC), estimate=1_000)
    with pytest.raises(LimitReached) as refused:
        await reserve(limits, now=datetime(2026, 12, 31, 13, tzinfo=UTC), estimate=1)
    assert refused.value.resets_at == datetime(2027, 1, 1, tzinfo=UTC)


async def test_release_gives_back_and_settle_charges_the_exact_cost(database_url: str) -> None:
    limits = limits_on(database_url, images_per_day=1, **ROOMY)
    first = await reserve(limits)
    await limits.release(first, now=NOON)
    second = await reserve(limits)  # the released image is free again
    usage = Usage(input_text_tokens=10, input_image_tokens=0, output_tokens=1056)
    await limits.settle(second, model="gpt-image-1-mini", usage=usage, images=1, job_id=1, now=NOON)
    report = await limits.usage(ALICE, now=NOON)
    spend = next(line for line in report.lines if line.name == "spend this month")
    assert cost_micros("gpt-image-1-mini", usage) == 8_468
    assert spend.used == "$0.008"
    await limits.release(second, now=NOON)  # a settled charge stays settled
    assert (await limits.usage(ALICE, now=NOON)).images_left_today == 0


async def test_jobs_in_flight_and_requests_per_minute(database_url: str) -> None:
    limits = limits_on(database_url, concurrent_jobs=2, requests_per_minute=3)
    one, _ = await reserve(limits), await reserve(limits)
    with pytest.raises(LimitReached) as busy:
        await reserve(limits)
    assert busy.value.limit == "jobs in flight" and busy.value.resets_at is None
    await limits.release(one, now=NOON)
    await reserve(limits, now=NOON + timedelta(seconds=10))
    with pytest.raises(LimitReached) as fast:
        await reserve(limits, now=NOON + timedelta(seconds=20))
    assert fast.value.limit in ("requests per minute", "jobs in flight")


async def test_requests_per_minute_names_when_it_frees_up(database_url: str) -> None:
    limits = limits_on(database_url, concurrent_jobs=100, requests_per_minute=2)
    await reserve(limits, now=NOON)
    await reserve(limits, now=NOON + timedelta(seconds=30))
    with pytest.raises(LimitReached) as refused:
        await reserve(limits, now=NOON + timedelta(seconds=40))
    assert refused.value.limit == "requests per minute"
    assert refused.value.resets_at == NOON + timedelta(minutes=1)
    await reserve(limits, now=NOON + timedelta(seconds=61))


async def test_the_workspace_budget_counts_everyone(database_url: str) -> None:
    limits = limits_on(database_url, workspace_usd_micros_per_day=10_000, **ROOMY)
    await reserve(limits, ALICE, estimate=6_000)
    with pytest.raises(LimitReached) as refused:
        await reserve(limits, BOB, estimate=6_000)
    assert refused.value.limit == "workspace spend today"
    await reserve(limits, Requester("T2", "U2"), estimate=6_000)  # another workspace has its own


async def test_strikes_pause_a_user_for_the_day(database_url: str) -> None:
    limits = limits_on(database_url, strikes_per_day=3, **ROOMY)
    assert [await limits.strike(ALICE, job_id=n, now=NOON) for n in range(3)] == [False, False, True]
    with pytest.raises(UserPaused) as paused:
        await reserve(limits)
    assert paused.value.resets_at == datetime(2026, 11, 25, tzinfo=UTC)
    await reserve(limits, BOB)
    await reserve(limits, now=NOON + timedelta(days=1))


async def test_admin_overrides_exemptions_and_the_kill_switch(database_url: str) -> None:
    limits = limits_on(database_url, images_per_day=1, **ROOMY)
    await reserve(limits)
    await limits.set_limits("T1", "U1", by="U0ADMIN", now=NOON, images_per_day=3)
    await reserve(limits, images=2)
    with pytest.raises(LimitReached):
        await reserve(limits)
    await limits.set_limits("T1", "U1", by="U0ADMIN", now=NOON, exempt=True)
    await reserve(limits, images=4)
    await limits.set_paused("T1", True, by="U0ADMIN", now=NOON)
    with pytest.raises(BotPaused):
        await reserve(limits, BOB)
    await limits.set_paused("T1", False, by="U0ADMIN", now=NOON)
    await reserve(limits, BOB)
    workspace = await limits.workspace("T1", now=NOON)
    assert [user for user, _, _ in workspace.users_this_month] == ["U1", "U2"]


async def test_channels_outside_the_allow_list_are_refused(database_url: str) -> None:
    limits = limits_on(database_url, allowed_channels=frozenset({"C1"}), **ROOMY)
    await reserve(limits, channel="C1")
    with pytest.raises(ChannelNotAllowed):
        await reserve(limits, channel="C2")
