"""Shutting down within a grace period."""

from __future__ import annotations

import asyncio
from collections.abc import Collection


async def finish_within(tasks: Collection[asyncio.Task[None]], grace_seconds: float) -> None:
    """Let `tasks` finish for up to `grace_seconds`, then cancel those still running."""
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=grace_seconds)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
