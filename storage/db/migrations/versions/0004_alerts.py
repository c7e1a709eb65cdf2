"""alert outbox, states and steps

Revision ID: 0004
Revises: 0005 (the accounts schema landed first as 0005 on 0003; kept linear)
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db.models

revision = "0004"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=True),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_alert_messages_key")),
    )
    with op.batch_alter_table("alert_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_messages_channel_status_due", ["channel", "status", "due_at"], unique=False
        )
        batch_op.create_index(
            "ix_alert_messages_target_created", ["channel", "address", "created_at"], unique=False
        )

    op.create_table(
        "alert_message_events",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_alert_message_events_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["alert_messages.id"],
            name=op.f("fk_alert_message_events_message_id_alert_messages"),
        ),
        sa.PrimaryKeyConstraint("message_id", "event_id", name=op.f("pk_alert_message_events")),
    )
    with op.batch_alter_table("alert_message_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_message_events_event_id"), ["event_id"], unique=False
        )

    op.create_table(
        "alert_states",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("town_at", storage.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("district_at", storage.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "next_escalation_at", storage.db.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_alert_states_event_id_events")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_alert_states")),
    )
    with op.batch_alter_table("alert_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_states_next_escalation_at"), ["next_escalation_at"], unique=False
        )

    op.create_table(
        "alert_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_alert_steps_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_steps")),
    )
    with op.batch_alter_table("alert_steps", schema=None) as batch_op:
        batch_op.create_index("ix_alert_steps_event_at", ["event_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_steps_event_at")

    op.drop_table("alert_steps")
    with op.batch_alter_table("alert_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_states_next_escalation_at"))

    op.drop_table("alert_states")
    with op.batch_alter_table("alert_message_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_message_events_event_id"))

    op.drop_table("alert_message_events")
    with op.batch_alter_table("alert_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_messages_target_created")
        batch_op.drop_index("ix_alert_messages_channel_status_due")

    op.drop_table("alert_messages")
