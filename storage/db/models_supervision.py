"""Supervision records (owned by web/routes/supervision and hub/supervision).

- inspection_rounds: one 巡查 of one school by one person, remote (through its cameras) or on
  site; finished_at None while it is under way. school_id and town_id are copied from the
  registry, like events, so scope filters work on the row itself.
- inspection_items: the result of one checklist item in a round, 合格 (pass) or 不合格 (fail).
- inspection_evidence: a snapshot taken during a round: a JPEG in the object store, under
  snapshots/<school>/ like event snapshots, so it is scoped and retained the same way.
- inspection_round_events: the violation events a round links to what it found.
- accompany_meals: one 陪餐 record: who ate which meal at which school, and how it was.
- duty_reminders: one reminder queued for one person, school, duty rule and period; the
  unique key is what makes the daily reminder job send each reminder once (hub/supervision).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.db.models import Base, UTCDateTime


class RoundMode(StrEnum):
    REMOTE = "remote"  # 远程巡查: through the school's cameras
    ON_SITE = "on_site"  # 现场巡查


class ItemResult(StrEnum):
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格


class Meal(StrEnum):
    BREAKFAST = "breakfast"  # 早餐
    LUNCH = "lunch"  # 午餐
    DINNER = "dinner"  # 晚餐


class InspectionRound(Base):
    __tablename__ = "inspection_rounds"
    __table_args__ = (
        Index("ix_inspection_rounds_school_started", "school_id", "started_at"),
        Index("ix_inspection_rounds_town_started", "town_id", "started_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    town_id: Mapped[str | None] = mapped_column(ForeignKey("towns.id"))
    inspector: Mapped[str] = mapped_column(String(64))  # the user name
    inspector_role: Mapped[str] = mapped_column(String(32))  # the role when it was recorded
    mode: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class InspectionItem(Base):
    __tablename__ = "inspection_items"
    __table_args__ = (UniqueConstraint("round_id", "item", name="uq_inspection_items_round_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("inspection_rounds.id"))
    item: Mapped[str] = mapped_column(String(200))  # a checklist item as configured
    result: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InspectionEvidence(Base):
    __tablename__ = "inspection_evidence"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    round_id: Mapped[str] = mapped_column(ForeignKey("inspection_rounds.id"), index=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    item: Mapped[str | None] = mapped_column(String(200))  # the item it documents, if any
    object_key: Mapped[str | None] = mapped_column(String(512))  # None once past retention
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InspectionRoundEvent(Base):
    __tablename__ = "inspection_round_events"
    round_id: Mapped[str] = mapped_column(ForeignKey("inspection_rounds.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), primary_key=True, index=True)


class AccompanyMeal(Base):
    __tablename__ = "accompany_meals"
    __table_args__ = (
        Index("ix_accompany_meals_school_date", "school_id", "meal_date"),
        Index("ix_accompany_meals_town_date", "town_id", "meal_date"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    town_id: Mapped[str | None] = mapped_column(ForeignKey("towns.id"))
    meal_date: Mapped[date] = mapped_column(Date)  # the district's local date
    meal: Mapped[str] = mapped_column(String(16))
    person: Mapped[str] = mapped_column(String(64))  # the user name
    person_role: Mapped[str] = mapped_column(String(32))
    quality: Mapped[int] = mapped_column(Integer)  # 伙食质量 1 (poor) .. 5 (very good)
    satisfaction: Mapped[int] = mapped_column(Integer)  # 学生满意度 1 .. 5
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DutyReminder(Base):
    __tablename__ = "duty_reminders"
    __table_args__ = (
        UniqueConstraint(
            "recipient_id", "school_id", "rule_id", "period_start", name="uq_duty_reminders_once"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient_id: Mapped[str] = mapped_column(String(64))  # alerts.recipients[].id
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    rule_id: Mapped[str] = mapped_column(String(64))  # supervision.duties[].id
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())  # the period it reminds of
    done: Mapped[int] = mapped_column(Integer)  # records when it was queued
    required: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
