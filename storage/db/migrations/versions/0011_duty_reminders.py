"""duty_reminders: each duty reminder once; alert_messages.kind/body for event-less notices

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="event", nullable=False)
        )
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))

    op.create_table(
        "duty_reminders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_duty_reminders_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_reminders")),
        sa.UniqueConstraint(
            "recipient_id", "school_id", "rule_id", "period_start", name="uq_duty_reminders_once"
        ),
    )


def downgrade() -> None:
    op.drop_table("duty_reminders")
    with op.batch_alter_table("alert_messages", schema=None) as batch_op:
        batch_op.drop_column("body")
        batch_op.drop_column("kind")
