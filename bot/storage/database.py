"""Engine construction: SQLite by default, PostgreSQL via `DATABASE_URL`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event, inspect
from sqlmodel import Session, SQLModel, create_engine

from bot.errors import ConfigError
from bot.storage import tables  # noqa: F401  # registers the tables on SQLModel.metadata

T = TypeVar("T")


class Database:
    """An engine and the few threads that run its (synchronous) sessions.

    The pool is small on purpose: threads running SQLAlchemy's Python code hold the GIL, and
    many of them starve the event loop (a burst of 200 slash commands was acked three times
    slower with the default pool). SQLite takes one writer at a time anyway.
    """

    def __init__(self, database_url: str, *, threads: int | None = None) -> None:
        self.engine = make_engine(database_url)
        if threads is None:
            threads = 1 if self.engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="easel-db")

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a session on the database threads."""

        def in_session() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self._executor, in_session)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()


def make_engine(database_url: str) -> Engine:
    """An engine ready for concurrent use from worker threads; creates missing tables."""
    url = _normalise(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    _check_columns(engine)
    return engine


def _check_columns(engine: Engine) -> None:
    """`create_all` adds missing tables but never columns: a database from an older Easel
    would fail at the first query that needs a new one. Say so at start-up instead."""
    inspector = inspect(engine)
    missing = [
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if column.name not in {c["name"] for c in inspector.get_columns(table.name)}
    ]
    if missing:
        raise ConfigError(
            f"the database at DATABASE_URL was made by an older Easel and lacks {', '.join(missing)}; "
            "point DATABASE_URL at a new database (there are no migrations yet)"
        )


def _normalise(url: str) -> str:
    """Accept the `postgres://` spelling that many hosts hand out."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work while a job writes; busy_timeout waits instead of failing.

    pysqlite's own transaction handling is turned off so that `_sqlite_begin` decides how
    each transaction begins (SQLAlchemy's documented recipe)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Every transaction takes the write lock when it begins. A deferred transaction that
    reads and then writes fails at once with "database is locked" when another writer got
    there first (SQLite cannot wait there without deadlocking); an immediate one waits its
    turn under busy_timeout. It also makes a limit reservation's read-then-insert atomic."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
