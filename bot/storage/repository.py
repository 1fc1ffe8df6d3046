"""What every repository shares. SQLModel sessions are synchronous, so every query runs in a
worker thread (`Database.run`) and the event loop never waits on the database."""

from __future__ import annotations

from bot.storage.database import Database


class Repository:
    def __init__(self, database: Database) -> None:
        self._run = database.run
