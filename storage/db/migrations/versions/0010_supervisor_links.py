"""supervisor_links: time-limited, school-scoped live-view links for special supervisors

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervisor_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", storage.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("last_used_at", storage.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_supervisor_links_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervisor_links")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_supervisor_links_secret_hash")),
    )
    with op.batch_alter_table("supervisor_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervisor_links_school_id"), ["school_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("supervisor_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervisor_links_school_id"))

    op.drop_table("supervisor_links")
