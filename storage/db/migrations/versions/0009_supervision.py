"""supervision: inspection rounds with items, evidence and linked events; accompany meals

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.db.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accompany_meals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("town_id", sa.String(length=64), nullable=True),
        sa.Column("meal_date", sa.Date(), nullable=False),
        sa.Column("meal", sa.String(length=16), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("person_role", sa.String(length=32), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_accompany_meals_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["towns.id"], name=op.f("fk_accompany_meals_town_id_towns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accompany_meals")),
    )
    with op.batch_alter_table("accompany_meals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_accompany_meals_school_date", ["school_id", "meal_date"], unique=False
        )
        batch_op.create_index(
            "ix_accompany_meals_town_date", ["town_id", "meal_date"], unique=False
        )

    op.create_table(
        "inspection_rounds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("town_id", sa.String(length=64), nullable=True),
        sa.Column("inspector", sa.String(length=64), nullable=False),
        sa.Column("inspector_role", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("started_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_inspection_rounds_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["towns.id"], name=op.f("fk_inspection_rounds_town_id_towns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_rounds")),
    )
    with op.batch_alter_table("inspection_rounds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_rounds_school_started", ["school_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_inspection_rounds_town_started", ["town_id", "started_at"], unique=False
        )

    op.create_table(
        "inspection_evidence",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=True),
        sa.Column("object_key", sa.String(length=512), nullable=True),
        sa.Column("taken_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_inspection_evidence_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["inspection_rounds.id"],
            name=op.f("fk_inspection_evidence_round_id_inspection_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_evidence")),
    )
    with op.batch_alter_table("inspection_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_evidence_round_id"), ["round_id"], unique=False
        )

    op.create_table(
        "inspection_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("round_id", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", storage.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["inspection_rounds.id"],
            name=op.f("fk_inspection_items_round_id_inspection_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_items")),
        sa.UniqueConstraint("round_id", "item", name="uq_inspection_items_round_item"),
    )
    op.create_table(
        "inspection_round_events",
        sa.Column("round_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_inspection_round_events_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["inspection_rounds.id"],
            name=op.f("fk_inspection_round_events_round_id_inspection_rounds"),
        ),
        sa.PrimaryKeyConstraint("round_id", "event_id", name=op.f("pk_inspection_round_events")),
    )
    with op.batch_alter_table("inspection_round_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_round_events_event_id"), ["event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_round_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_round_events_event_id"))

    op.drop_table("inspection_round_events")
    op.drop_table("inspection_items")
    with op.batch_alter_table("inspection_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_evidence_round_id"))

    op.drop_table("inspection_evidence")
    with op.batch_alter_table("inspection_rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_rounds_town_started")
        batch_op.drop_index("ix_inspection_rounds_school_started")

    op.drop_table("inspection_rounds")
    with op.batch_alter_table("accompany_meals", schema=None) as batch_op:
        batch_op.drop_index("ix_accompany_meals_town_date")
        batch_op.drop_index("ix_accompany_meals_school_date")

    op.drop_table("accompany_meals")
