"""Migrations on a real SQLite file and a real PostgreSQL server: a database the previous
release made (with `create_all`, no version table) is adopted and upgraded with its rows
intact, replicas starting together migrate once, and the migrations match `tables.py`."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from bot.errors import ConfigError
from bot.storage import schema
from bot.storage.database import Database
from bot.storage.engines import make_engine
from bot.storage.event_log import EventLog
from bot.storage.job_records import JobRepository
from bot.storage.ledger import Ledger
from bot.storage.preferences import Preferences
from bot.storage.thread_images import ThreadImages

LAYOUTS = Path(__file__).with_name("earlier_layouts")
THEN = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'easel.db'}"
    return str(request.getfixturevalue("empty_postgres"))


def made_with(database_url: str, layout: str) -> None:
    """The tables as an Easel before migrations left them: its `create_all` DDL, kept in
    `earlier_layouts/` (`previous_release`: the last such Easel; `durable_jobs`: the oldest
    whose databases are completed)."""
    engine = make_engine(database_url)
    lines = (LAYOUTS / f"{layout}.{engine.dialect.name}.sql").read_text().splitlines()
    ddl = "\n".join(line for line in lines if not line.startswith("--"))
    with engine.begin() as connection:
        for statement in ddl.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)
    engine.dispose()


def insert(connection: sa.Connection, table: str, **values: Any) -> int | None:
    """A row written with the layout's columns only (tables.py may have moved on)."""
    columns = [
        sa.column(name, sa.DateTime(timezone=True) if isinstance(value, datetime) else None)
        for name, value in values.items()
    ]
    statement = sa.insert(sa.table(table, *columns)).values(**values)
    if table in ("jobs", "images", "job_outputs", "ledger"):
        return int(connection.execute(statement.returning(sa.column("id"))).scalar_one())
    connection.execute(statement)
    return None


def earlier_rows(database_url: str, *, layout: str) -> dict[str, int | None]:
    """A finished edit: its job, charge, kept output, the image it came from and the one it
    made, their lineage and a handled event; in the previous release's layout also someone's
    preferences and a deleted image."""
    newest = layout == "previous_release"
    engine = make_engine(database_url)
    usage = {"input_text_tokens": 12, "input_image_tokens": 0, "output_tokens": 272}
    place = {"channel_id": "C1", "thread_ts": "1700000000.000100"}
    with engine.begin() as connection:
        ids = {
            "ledger": insert(
                connection,
                "ledger",
                **usage,
                team_id="T1",
                user_id="U1",
                channel_id="C1",
                model="gpt-image-1-mini",
                status="settled",
                images=1,
                estimate_micros=5000,
                actual_micros=2200,
                created_at=THEN,
                settled_at=THEN,
            ),
        }
        ids["job"] = insert(
            connection,
            "jobs",
            **usage,
            **place,
            team_id="T1",
            user_id="U1",
            size="1024x1024",
            quality="low",
            n=1,
            output_format="png",
            transparent=False,
            size_given=False,
            edit=True,
            model="gpt-image-1-mini",
            attempts=1,
            created_at=THEN,
            request_key="event:Ev1",
            prompt="make the sky pink",
            status="done",
            reservation_id=ids["ledger"],
            finished_at=THEN,
            parents='[{"number": 1}]',
        )
        ids["output"] = insert(
            connection,
            "job_outputs",
            job_id=ids["job"],
            position=1,
            data=b"\x89PNG kept",
            output_format="png",
            slack_file_id="F2",
            posted=False,
            created_at=THEN,
        )
        image = {**place, "user_id": "U1", "position": 1, "usable": True, "created_at": THEN}
        deleted = {"deleted_at": THEN, "deleted_by": "U1"} if newest else {}
        ids["attached"] = insert(
            connection, "images", **image, **deleted, number=1, origin="attached", slack_file_id="F1", sha256="ab" * 32
        )
        ids["made"] = insert(
            connection,
            "images",
            **image,
            number=2,
            origin="generated",
            job_id=ids["job"],
            slack_file_id="F2",
            c2pa="signed by OpenAI, valid",
        )
        insert(connection, "image_parents", image_id=ids["made"], parent_id=ids["attached"], position=1)
        if newest:
            insert(connection, "user_preferences", team_id="T1", user_id="U1", size="1536x1024", updated_at=THEN)
            insert(connection, "received_events", event_id="Ev1", received_at=THEN, handled_at=THEN)
        else:
            insert(connection, "received_events", event_id="Ev1", received_at=THEN)
    engine.dispose()
    return ids


@pytest.mark.parametrize("layout", ["previous_release", "durable_jobs"])
async def test_a_database_made_before_migrations_is_upgraded_with_its_rows(empty_database: str, layout: str) -> None:
    made_with(empty_database, layout)
    ids = earlier_rows(empty_database, layout=layout)
    assert schema.current(empty_database) is None

    database = Database(empty_database)  # start-up: complete, stamp, upgrade
    assert schema.current(empty_database) == schema.head()
    jobs, images, preferences = JobRepository(database), ThreadImages(database), Preferences(database)
    job = await jobs.get(ids["job"] or 0)
    assert job is not None
    assert (job.prompt, job.status, job.request_key, job.finished_at) == (
        "make the sky pink",
        "done",
        "event:Ev1",
        THEN,
    )
    assert [(o.data, o.slack_file_id) for o in await jobs.outputs(job.id or 0)] == [(b"\x89PNG kept", "F2")]
    charge = await Ledger(database).get(ids["ledger"] or 0)
    assert charge is not None and (charge.status, charge.actual_micros, charge.settled_at) == ("settled", 2200, THEN)
    made = await images.by_number("C1", "1700000000.000100", 2)
    assert made is not None and (made.job_id, made.c2pa) == (ids["job"], "signed by OpenAI, valid")
    [parent] = await images.parents_of(made.id or 0)
    if layout == "durable_jobs":  # what the layout lacked works now
        await images.mark_deleted([parent.id or 0], by="U1", at=THEN)
        await preferences.set("T1", "U1", at=THEN, size="1536x1024")
        assert await EventLog(database).first_delivery("Ev2", at=THEN, payload="{}")
        [parent] = await images.parents_of(made.id or 0)
    assert (parent.number, parent.deleted_by, parent.deleted_at) == (1, "U1", THEN)
    preference = await preferences.get("T1", "U1")
    assert preference is not None and preference.size == "1536x1024"
    taken = await EventLog(database).take_unhandled(received_before=THEN + timedelta(days=1), at=THEN)
    assert "Ev1" not in [key for key, _ in taken], "an event handled before the upgrade stays handled"
    newer = await jobs.add(replace(job, request_key="event:Ev2"))
    assert newer is not None and newer.id == (ids["job"] or 0) + 1, "new rows carry on after the old ones"
    database.close()
    assert differences_from_tables_py(empty_database) == [], "the completed database is what tables.py describes"


def columns_of(engine: sa.Engine) -> dict[str, list[str]]:
    inspector = sa.inspect(engine)
    return {table: [c["name"] for c in inspector.get_columns(table)] for table in inspector.get_table_names()}


def test_a_layout_from_before_durable_jobs_is_named_and_left_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'easel.db'}"
    made_with(url, "before_durable_jobs")
    engine = make_engine(url)
    before = columns_of(engine)
    named = r"older than its first migration and lacks .*job_outputs, jobs\.attempts, .*; point DATABASE_URL"
    with pytest.raises(ConfigError, match=named):
        Database(url)
    assert columns_of(engine) == before, "not a table or column added, not even alembic_version"
    engine.dispose()


def test_replicas_starting_together_migrate_once(empty_database: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            schema.upgrade(empty_database)
        except BaseException as error:
            errors.append(error)

    replicas = [threading.Thread(target=start) for _ in range(4)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=60)
    assert errors == []
    assert schema.current(empty_database) == schema.head()


def differences_from_tables_py(database_url: str) -> list[Any]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    return list(differences)


def test_the_migrations_make_what_tables_py_describes(empty_database: str) -> None:
    """A change to `tables.py` without a migration fails here (README: "How to add a migration")."""
    schema.upgrade(empty_database)
    assert differences_from_tables_py(empty_database) == []


def test_with_upgrades_off_an_outdated_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'easel.db'}"
    with pytest.raises(ConfigError, match=r"revision none, this Easel needs .*python -m bot db upgrade"):
        Database(url, upgrade=False)
    schema.upgrade(url)
    Database(url, upgrade=False).close()


def test_a_new_revision_follows_the_newest(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    written = schema.new_revision("jobs get a priority", migrations=migrations)
    following = f"{int(schema.head()) + 1:04d}"
    assert written.name == f"{following}_jobs_get_a_priority.py"
    text = written.read_text()
    assert f"revision = {following!r}" in text and f"down_revision = {schema.head()!r}" in text
    assert "op." not in text, "tables.py and the newest revision agree: nothing to do"
    compile(text, str(written), "exec")
