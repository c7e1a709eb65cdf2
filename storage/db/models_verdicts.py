"""Verdicts on events (owned by web/routes/verdicts and hub/cli_verdicts): training data.

- verdicts: one person's judgement of one event (confirmed or false alarm: at most one per
  event) or a violation the detector missed (no event). Scope ids are copied from the event
  or camera, like on events, so every query filters by scope on the row itself. `labels`
  holds corrected boxes as JSON [{"cls": ..., "box": [x1, y1, x2, y2]}] in frame-normalised
  coordinates; `hard_example_key` the unannotated frame kept for training in the store.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from storage.db.models import Base, UTCDateTime


class VerdictKind(StrEnum):
    CONFIRMED = "confirmed"  # 确认违规
    FALSE_ALARM = "false_alarm"  # 误报
    MISSED = "missed"  # 漏报: a violation with no event


class FalseAlarmReason(StrEnum):
    WRONG_OBJECT = "wrong_object"  # 识别对象错误 (a cat taken for a rat)
    WRONG_PERSON_STATE = "wrong_person_state"  # 人员状态判断错误 (wearing the hat after all)
    NOT_IN_AREA = "not_in_area"  # 不在后厨区域
    OTHER = "other"  # 其他


class Verdict(Base):
    __tablename__ = "verdicts"
    __table_args__ = (
        Index("ix_verdicts_school_at", "school_id", "at"),
        Index("ix_verdicts_camera_at", "camera_id", "at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    # Unique: a second verdict on one event is a conflict; misses (no event) are NULL.
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))  # false alarms only
    note: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(32))  # the violation type, e.g. no_chef_hat
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the violation happened
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    town_id: Mapped[str | None] = mapped_column(ForeignKey("towns.id"))
    given_by: Mapped[str] = mapped_column(String(64))  # the user name, as in the audit log
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    labels: Mapped[str] = mapped_column(Text, default="[]")  # JSON, see the module doc
    hard_example_key: Mapped[str | None] = mapped_column(String(512))
    # An inspection's hold keeps the hard example past retention until released.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
