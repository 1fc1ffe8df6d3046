"""The schema's version: Alembic migrations, applied under a lock so that replicas starting
together take turns, and the adoption of a database that an Easel made before migrations.

Before migrations, Easel made its tables with `create_all` and kept no version. Such a
database is recognised by having Easel's tables but no `alembic_version`. What a layout since
durable jobs lacks of the first revision (`BASELINE`) is added (`earlier_layouts`); then, if
every table and column of that revision is there, the database is stamped with it and
upgraded like any other. An older one is named at start-up, and nothing in it is touched.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.exc import OperationalError

from bot.errors import ConfigError
from bot.storage.engines import make_schema_engine
from bot.storage.migrations import earlier_layouts

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema of the last Easel without migrations
VERSION_TABLE = "alembic_version"
# The PostgreSQL advisory lock every Easel process holds while it migrates: "ease" in ASCII.
ADVISORY_LOCK = 0x65617365


def upgrade(database_url: str) -> None:
    """Bring the database to the newest revision (a new database gets every table)."""
    with _locked(database_url) as connection:
        revision = _revision(connection)
        if revision == head():
            return
        if revision is None and _made_before_migrations(connection):
            if added := earlier_layouts.complete(connection):
                logger.info("completing a database of an earlier layout: added %s", "; ".join(added))
            _require_baseline(connection)
            logger.info("adopting a database made before migrations as revision %s", BASELINE)
            command.stamp(_config(connection), BASELINE)
            revision = BASELINE
        logger.info("upgrading the database from revision %s to %s", revision or "none", head())
        command.upgrade(_config(connection), "head")


def current(database_url: str) -> str | None:
    """The database's revision (None: no migration has run on it)."""
    with _locked(database_url) as connection:
        return _revision(connection)


def require_current(database_url: str) -> None:
    """Refuse a database that migrations have not brought up to date (start-up with upgrades off)."""
    revision = current(database_url)
    if revision != head():
        raise ConfigError(
            f"the database at DATABASE_URL is at revision {revision or 'none'}, this Easel needs {head()}: "
            "run `python -m bot db upgrade` (or leave DATABASE_UPGRADE_ON_START on)"
        )


def new_revision(message: str, *, migrations: Path = MIGRATIONS) -> Path:
    """Write the next revision: what `tables.py` has and the newest revision lacks, found on a
    scratch SQLite database. A starting point to read and finish (README: "How to add a
    migration"), since SQLite cannot tell everything PostgreSQL needs, such as server defaults."""
    with tempfile.TemporaryDirectory() as scratch, _locked(f"sqlite:///{scratch}/scratch.db") as connection:
        newest = ScriptDirectory.from_config(_config(None, migrations)).get_current_head()
        command.upgrade(_config(connection, migrations), "head")
        script = command.revision(
            _config(connection, migrations), message, autogenerate=True, rev_id=f"{int(newest or 0) + 1:04d}"
        )
    assert script is not None and not isinstance(script, list)
    return Path(script.path)


@cache
def head() -> str:
    """The newest revision in `migrations/versions`."""
    found = ScriptDirectory.from_config(_config(None)).get_current_head()
    assert found is not None, "migrations/versions holds no revision"
    return found


def _config(connection: Connection | None, migrations: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _locked(database_url: str) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock until it commits: an
    advisory lock on PostgreSQL; on SQLite the write lock that `BEGIN IMMEDIATE` takes."""
    engine = make_schema_engine(database_url)
    try:
        try:
            connection = engine.connect()
        except OperationalError as exc:
            raise ConfigError(f"the database at DATABASE_URL does not answer: {str(exc.orig).strip()}") from None
        with connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
            yield connection
    finally:
        engine.dispose()


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _made_before_migrations(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return bool(tables) and VERSION_TABLE not in tables and bool(tables & _baseline_columns().keys())


def _require_baseline(connection: Connection) -> None:
    """Stop unless every table and column of the baseline is there."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    missing: list[str] = []
    for table, columns in _baseline_columns().items():
        if table not in tables:
            missing.append(table)
        else:
            present = {column["name"] for column in inspector.get_columns(table)}
            missing += [f"{table}.{column}" for column in sorted(columns - present)]
    if missing:
        raise ConfigError(
            f"the database at DATABASE_URL was made by an Easel older than its first migration and lacks "
            f"{', '.join(missing)}; point DATABASE_URL at a new database (this one is left as it is)"
        )


@cache
def _baseline_columns() -> dict[str, frozenset[str]]:
    """The tables and columns of revision `BASELINE`, read from a scratch database made by it
    (not from `tables.py`, which moves on with every later revision)."""
    engine = make_schema_engine("sqlite://")
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), BASELINE)
            inspector = inspect(connection)
            return {
                table: frozenset(column["name"] for column in inspector.get_columns(table))
                for table in inspector.get_table_names()
                if table != VERSION_TABLE
            }
    finally:
        engine.dispose()
