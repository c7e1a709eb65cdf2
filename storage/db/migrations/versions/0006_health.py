"""health history

Revision ID: 0006
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db.models

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_health_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("check", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("started_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_health_log_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_health_log")),
    )
    with op.batch_alter_table("camera_health_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_camera_health_log_camera_started", ["camera_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_camera_health_log_check_ended", ["check", "ended_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("camera_health_log", schema=None) as batch_op:
        batch_op.drop_index("ix_camera_health_log_check_ended")
        batch_op.drop_index("ix_camera_health_log_camera_started")

    op.drop_table("camera_health_log")
