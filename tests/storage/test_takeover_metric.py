"""`easel_lease_takeovers_total` counts jobs taken from a worker whose lease ran out, not
jobs given back on purpose (a delivery to retry later)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.metrics import REGISTRY
from bot.storage.database import Database
from bot.storage.job_records import JobRepository
from tests.storage.test_job_queue import LEASE, NOW, queued


def takeovers() -> float:
    return REGISTRY.get_sample_value("easel_lease_takeovers_total") or 0.0


async def test_a_job_claimed_after_its_lease_ran_out_is_a_takeover(tmp_path: Path) -> None:
    jobs = JobRepository(Database(f"sqlite:///{tmp_path / 'queue.db'}"))
    lost, given_back = await queued(jobs, thread="1.0"), await queued(jobs, thread="2.0")
    await jobs.claim("a", now=NOW, lease=LEASE, limit=2)
    await jobs.release_lease(given_back, "a")
    before = takeovers()
    claimed = await jobs.claim("b", now=NOW + LEASE + timedelta(seconds=1), lease=LEASE, limit=2)
    assert sorted(row.id for row in claimed if row.id) == [lost, given_back]
    assert takeovers() - before == 1
