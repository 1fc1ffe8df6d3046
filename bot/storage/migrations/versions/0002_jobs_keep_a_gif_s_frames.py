"""Jobs keep a GIF's frames and frame time (`--gif --frames 12 --frame-ms 100`), so a job a
worker takes up, and a Regenerate, ask for the same animation.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frame_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("frame_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("frame_ms")
        batch_op.drop_column("frame_count")
