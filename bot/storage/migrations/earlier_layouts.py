"""The layouts Easel's databases had before migrations, brought up to the baseline (0001).

Easel made its tables with `create_all`, which adds missing tables but never columns or
constraints. Since durable jobs (the `job_outputs` table) the schema only grew by what can be
added to a database in use, in this order: deleted images and people's preferences, one kept
output per place, and the payload of events until handled. Anything older lacks columns
that no value could fill in truthfully, and is named at start-up instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

DURABLE_JOBS_TABLE = "job_outputs"  # the oldest layout completed here has it
JOB_OUTPUT_PLACE = "job_outputs_job_id_position_key"  # PostgreSQL's own name for create_all's constraint


def complete(connection: Connection) -> list[str]:
    """Add what a database of a layout since durable jobs lacks; return what was added."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if DURABLE_JOBS_TABLE not in tables:
        return []

    def columns(table: str) -> set[str]:
        return {column["name"] for column in inspector.get_columns(table)}

    op = Operations(MigrationContext.configure(connection))
    added: list[str] = []
    if "deleted_at" not in columns("images"):
        with op.batch_alter_table("images") as images:
            images.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
            images.add_column(sa.Column("deleted_by", sa.String(), nullable=True))
        added.append("images.deleted_at, images.deleted_by")
    if "user_preferences" not in tables:
        op.create_table(
            "user_preferences",
            sa.Column("team_id", sa.String(), primary_key=True),
            sa.Column("user_id", sa.String(), primary_key=True),
            sa.Column("size", sa.String()),
            sa.Column("quality", sa.String()),
            sa.Column("output_format", sa.String()),
            sa.Column("greeted_at", sa.DateTime(timezone=True)),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        )
        added.append("user_preferences")
    places = [set(unique["column_names"]) for unique in inspector.get_unique_constraints(DURABLE_JOBS_TABLE)]
    if {"job_id", "position"} not in places:
        with op.batch_alter_table(DURABLE_JOBS_TABLE) as outputs:
            outputs.create_unique_constraint(JOB_OUTPUT_PLACE, ["job_id", "position"])
        added.append(f"{DURABLE_JOBS_TABLE} unique (job_id, position)")
    if "payload" not in columns("received_events"):
        with op.batch_alter_table("received_events") as events:
            events.add_column(sa.Column("payload", sa.String(), nullable=True))
            events.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
            events.create_index("ix_received_events_handled_at", ["handled_at"])
        added.append("received_events.payload, received_events.handled_at")
    return added
