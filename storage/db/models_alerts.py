"""Alert tables (outbox, deliveries, escalations): owned by hub/alerts.

- alert_messages: the outbox. One message to one target (a channel, plus an address for
  e-mail); written in the transaction that records the event, sent by the delivery worker.
  A notice (kind "notice", e.g. a duty reminder) has no event: its text is in `body`.
- alert_message_events: the events a message lists (several when grouped).
- alert_states: per event, the level reached and when it escalates next (None: never).
- alert_steps: the audit trail: notified, escalated, acknowledged, with time and person.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.db.models import Base, UTCDateTime


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its due time or a retry
    SENT = "sent"  # the receiver accepted it
    FAILED = "failed"  # the receiver refused it for good (bad address, bad request)


class MessageKind(StrEnum):
    EVENT = "event"  # lists events (alert_message_events); may escalate through them
    NOTICE = "notice"  # no event: rendered once into `body`, never escalates


class Level(StrEnum):
    SCHOOL = "school"
    TOWN = "town"
    DISTRICT = "district"


class StepAction(StrEnum):
    NOTIFIED = "notified"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"


class AlertMessage(Base):
    __tablename__ = "alert_messages"
    __table_args__ = (
        Index("ix_alert_messages_channel_status_due", "channel", "status", "due_at"),
        Index("ix_alert_messages_target_created", "channel", "address", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # idempotency key for receivers
    channel: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(320))  # e-mail address, "" for group channels
    level: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[str | None] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(String(200))  # school/kitchen: what may be grouped
    recipients: Mapped[str] = mapped_column(Text)  # JSON list of recipient ids
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(
        String(16), default=MessageKind.EVENT, server_default=MessageKind.EVENT.value
    )
    body: Mapped[str | None] = mapped_column(Text)  # a notice's JSON: type, title, text, markdown
    # The delivery worker holding the message (hub/alerts/worker.py), until claimed_until:
    # several hubs share one outbox on PostgreSQL, and a claim that outlives its holder expires.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AlertMessageEvent(Base):
    __tablename__ = "alert_message_events"
    message_id: Mapped[int] = mapped_column(ForeignKey("alert_messages.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), primary_key=True, index=True)


class AlertState(Base):
    __tablename__ = "alert_states"
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # the highest level notified so far
    town_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    district_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class AlertStep(Base):
    __tablename__ = "alert_steps"
    __table_args__ = (Index("ix_alert_steps_event_at", "event_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))  # a user or recipient id, or "system"
    via: Mapped[str | None] = mapped_column(String(16))  # console | api | link | escalation
    detail: Mapped[str | None] = mapped_column(Text)
