"""The database as the repositories use it: an engine on a schema brought up to date."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.storage import schema
from bot.storage.engines import make_engine

T = TypeVar("T")

CONNECT_SECONDS = 15.0  # a restarting server, crash recovery included, is back well within this


class Database:
    """An engine and the few threads that run its (synchronous) sessions.

    The pool is small on purpose: threads running SQLAlchemy's Python code hold the GIL, and
    many of them starve the event loop (a burst of 200 slash commands was acked three times
    slower with the default pool). SQLite takes one writer at a time anyway.
    """

    def __init__(self, database_url: str, *, threads: int | None = None, upgrade: bool = True) -> None:
        """Apply pending migrations first (`upgrade`), or refuse a schema that is not up to date."""
        if upgrade:
            schema.upgrade(database_url)
        else:
            schema.require_current(database_url)
        self.engine = make_engine(database_url)
        if threads is None:
            threads = 1 if self.engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="easel-db")

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a session on the database threads."""

        def in_session() -> T:
            with self._connect() as connection, Session(connection, expire_on_commit=False) as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self._executor, in_session)

    def _connect(self) -> Connection:
        """A connection, waiting out a server that is restarting ("connection refused", "the
        database system is starting up"): nothing has run yet, so trying again is safe, and a
        job whose image came back during the restart keeps it."""
        deadline = time.monotonic() + CONNECT_SECONDS
        delay = 0.05
        while True:
            try:
                return self.engine.connect()
            except OperationalError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
