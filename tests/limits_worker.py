"""One of two processes racing for the same allowance (tests/domain/test_limits.py)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from bot.domain.limits import LimitPolicy, Limits
from bot.domain.people import Requester
from bot.errors import LimitReached
from bot.storage.database import Database
from bot.storage.ledger import Ledger


async def race(url: str, attempts: int, allowance: int) -> int:
    policy = LimitPolicy(images_per_day=allowance, concurrent_jobs=1000, requests_per_minute=1000)
    limits = Limits(policy, Ledger(Database(url, threads=8)))
    now = datetime.now(UTC)

    async def attempt() -> bool:
        try:
            await limits.reserve(
                Requester("T1", "U1"), channel="C1", model="gpt-image-1-mini", images=1, estimate_micros=1, now=now
            )
        except LimitReached:
            return False
        return True

    return sum(await asyncio.gather(*(attempt() for _ in range(attempts))))


if __name__ == "__main__":
    print(asyncio.run(race(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
