"""SQLAlchemy engines for SQLite (the default) and PostgreSQL (`DATABASE_URL`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, NullPool, event
from sqlmodel import create_engine


def make_engine(database_url: str) -> Engine:
    """An engine ready for concurrent use from worker threads."""
    url = normalise(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_schema_engine(database_url: str) -> Engine:
    """An engine for migrations: one connection, kept by no pool.

    On SQLite every transaction still begins IMMEDIATE, which is the lock that makes a second
    process wait for the first one's migrations; foreign keys stay off (SQLite's default), since
    batch mode rebuilds a table by copying it, which a table referencing it must survive."""
    url = normalise(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_manual_transactions)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, poolclass=NullPool)


def normalise(url: str) -> str:
    """Accept the `postgres://` spelling that many hosts hand out."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    """pysqlite's own transaction handling is turned off so that `_sqlite_begin` decides how
    each transaction begins (SQLAlchemy's documented recipe)."""
    dbapi_connection.isolation_level = None


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    """WAL lets readers work while a job writes; busy_timeout waits instead of failing."""
    _sqlite_manual_transactions(dbapi_connection, record)
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
