"""suppression zones: places where one camera's rule never counts, decided from proposals

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppression_zones",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("town_id", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.Column("false_alarms", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_suppression_zones_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_suppression_zones_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["towns.id"], name=op.f("fk_suppression_zones_town_id_towns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_zones")),
    )
    with op.batch_alter_table("suppression_zones", schema=None) as batch_op:
        batch_op.create_index("ix_suppression_zones_camera", ["camera_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suppression_zones", schema=None) as batch_op:
        batch_op.drop_index("ix_suppression_zones_camera")
    op.drop_table("suppression_zones")
