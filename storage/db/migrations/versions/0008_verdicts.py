"""verdicts, and the unannotated frame of each event

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db.models

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frame_key", sa.String(length=512), nullable=True))

    op.create_table(
        "verdicts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("town_id", sa.String(length=64), nullable=True),
        sa.Column("given_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("hard_example_key", sa.String(length=512), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_verdicts_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_verdicts_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_verdicts_school_id_schools")
        ),
        sa.ForeignKeyConstraint(["town_id"], ["towns.id"], name=op.f("fk_verdicts_town_id_towns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdicts")),
        sa.UniqueConstraint("event_id", name=op.f("uq_verdicts_event_id")),
    )
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.create_index("ix_verdicts_camera_at", ["camera_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_verdicts_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_verdicts_school_at", ["school_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_index("ix_verdicts_school_at")
        batch_op.drop_index(batch_op.f("ix_verdicts_created_at"))
        batch_op.drop_index("ix_verdicts_camera_at")

    op.drop_table("verdicts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("frame_key")
